"""Tables of runs and comparisons, rendered by tabulate (Markdown or LaTeX)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tabulate import tabulate

from bench.results import RunRecord

FORMATS = {"md": "github", "latex": "latex_booktabs", "plain": "simple"}


def percent(value: float | None) -> str:
    return "-" if value is None or value != value else f"{100 * value:.1f}"


def runs_table(
    records: Sequence[RunRecord], ks: Sequence[int] = (1, 5, 10), rule: str = "union", fmt: str = "md"
) -> str:
    """One row per run: system, benchmark, split, seed, acc@k; closed-world KBs flagged."""
    headers = ["system", "benchmark", "split", "seed", "n", *[f"acc@{k}" for k in ks]]
    rows = []
    for record in records:
        # A suite (the AskAPatient folds) is reported as the mean over its members.
        accuracy = record.metrics.get("acc_member_mean", record.metrics["acc"])[rule]
        benchmark = record.benchmark + (
            " (closed-world KB)" if record.metrics.get("flags", {}).get("closed_world_kb") else ""
        )
        rows.append(
            [
                record.system,
                benchmark,
                record.config.get("split"),
                record.config.get("seed"),
                record.metrics.get("n_mentions"),
                *[percent(accuracy.get(str(k))) for k in ks],
            ]
        )
    return tabulate(rows, headers=headers, tablefmt=FORMATS[fmt], disable_numparse=True)


def accuracy_table(metrics: dict[str, Any], ks: Sequence[int], rule: str = "union", fmt: str = "plain") -> str:
    """acc@k of one run under every rule plus the leakage subsets."""
    rules = sorted(metrics["acc"], key=lambda r: (r != metrics.get("default_rule", "union"), r))
    rows = [[r, "all", metrics["n_mentions"], *[percent(metrics["acc"][r].get(str(k))) for k in ks]] for r in rules]
    rows.append(
        ["composite", "all", metrics["n_mentions"], *[percent(metrics["acc_composite"].get(str(k))) for k in ks]]
    )
    for subset, values in metrics["leakage"].items():
        rows.append([rule, subset, values["n"], *[percent(values["acc"].get(str(k))) for k in ks]])
    return tabulate(
        rows, headers=["rule", "subset", "n", *[f"acc@{k}" for k in ks]], tablefmt=FORMATS[fmt], disable_numparse=True
    )


def comparison_table(result: dict[str, Any], fmt: str = "plain") -> str:
    a, b = result["a"]["system"], result["b"]["system"]
    rows = []
    for row in result["comparisons"]:
        rows.append(
            [
                row["k"],
                percent(row["acc_a"]),
                percent(row["acc_b"]),
                f"{100 * row['diff']:+.1f}",
                f"[{100 * row['ci_low']:+.1f}, {100 * row['ci_high']:+.1f}]",
                row["n01"],
                row["n10"],
                f"{row['mcnemar_p']:.4g}",
                f"{row['randomization_p']:.4g}",
            ]
        )
    level = f"{100 * result['comparisons'][0]['confidence']:g}% CI" if result["comparisons"] else "CI"
    headers = ["k", f"acc A ({a})", f"acc B ({b})", "B - A", level, "B only", "A only", "McNemar p", "rand. p"]
    return tabulate(rows, headers=headers, tablefmt=FORMATS[fmt], disable_numparse=True)
