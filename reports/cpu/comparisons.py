"""Paired comparisons of the committed `cpu` runs, written by `bioel-bench compare` and `bioel-bench errors`.

    python reports/cpu/comparisons.py            # from the repository root

For every benchmark of configs/cpu.yaml it runs, on the exported runs in
reports/cpu/runs (run from the repository root, so the paths printed are
relative and the output is the same on every machine):

* ``bioel-bench compare A B --k 1 5 --json`` for genbioel -> angel (the paper's question: what do
  negatives add?), floor -> genbioel (the generative linker against the memorisation floor),
  tfidf -> genbioel (beside the retrieval baseline) and angel -> angel/mining=crossfit (what
  cross-fitted negatives change), on every seed both runs have;
* ``bioel-bench errors genbioel angel --k 1`` on the first seed (which mentions the negative stage
  fixed or broke).

and writes comparisons.md (a table per pair, with the exact commands) and errors/<benchmark>.md.
The tests are seeded (resampling seed 0, 10,000 resamples), so a rerun gives the same bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RUNS = HERE / "runs"
PAIRS = (
    ("genbioel", "angel"),
    ("floor", "genbioel"),
    ("tfidf", "genbioel"),
    ("angel", "angel/mining=crossfit"),
)
KS = (1, 5)


def bioel_bench(*args: str) -> str:
    """Run the command line as a user would and return what it printed (it must succeed)."""
    done = subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bioel-bench {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def runs_by_label() -> dict[tuple[str, str, int], Path]:
    """(label, benchmark, seed) -> the exported run directory, relative to the repository root."""
    found: dict[tuple[str, str, int], Path] = {}
    for config_file in sorted(RUNS.glob("*/config.json")):
        config = json.loads(config_file.read_text())
        key = (config.get("label") or config["system"], config["benchmark"], int(config["seed"]))
        if key in found:
            raise SystemExit(f"two runs for {key}: {found[key]} and {config_file.parent}")
        found[key] = config_file.parent.relative_to(REPO)
    return found


def pct(value: float) -> str:
    return f"{100 * value:.1f}"


def signed(value: float) -> str:
    return f"{100 * value:+.1f}"


def main() -> int:
    sys.path.insert(0, str(REPO))
    from bench.experiments.config import load_experiment

    config = load_experiment(REPO / "configs" / "cpu.yaml")
    runs = runs_by_label()
    lines = [
        "# Paired comparisons of the `cpu` runs",
        "",
        "Written by `python reports/cpu/comparisons.py` (do not edit) from the exported runs in `runs/`, with "
        "`bioel-bench compare` (acc@k of both runs, B - A with a 95% bootstrap CI over mentions, the exact "
        "McNemar p on the discordant mentions, a paired randomization p; 10,000 resamples, seed 0, union rule) "
        "and `bioel-bench errors`. Each table's command reproduces it.",
    ]
    (HERE / "errors").mkdir(exist_ok=True)
    for stale in (HERE / "errors").glob("*.md"):  # written again below for every pair that has both runs
        stale.unlink()
    for a_label, b_label in PAIRS:
        lines += ["", f"## {a_label} (A) -> {b_label} (B)", ""]
        lines += [
            "| benchmark | seed | k | A | B | B - A | 95% CI | McNemar p | randomization p | A only right "
            "| B only right |",
            "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
        ]
        commands = []
        for benchmark in config.benchmarks:
            seeds = sorted(s for (label, bench, s) in runs if label == a_label and bench == benchmark)
            seeds = [s for s in seeds if (b_label, benchmark, s) in runs]
            if not seeds:
                continue
            for seed in seeds:
                a, b = runs[(a_label, benchmark, seed)], runs[(b_label, benchmark, seed)]
                args = ["compare", str(a), str(b), "--k", *map(str, KS), "--json"]
                commands.append("bioel-bench " + " ".join(args))
                result = json.loads(bioel_bench(*args))
                for row in result["comparisons"]:
                    lines.append(
                        f"| {benchmark} | {seed} | {row['k']} | {pct(row['acc_a'])} | {pct(row['acc_b'])} "
                        f"| {signed(row['diff'])} "
                        f"| [{signed(row['ci_low'])}, {signed(row['ci_high'])}] | {row['mcnemar_p']:.2g} "
                        f"| {row['randomization_p']:.2g} | {row['n10']} | {row['n01']} |"
                    )
        lines += ["", "Commands:", "", "```bash", *commands, "```"]
    lines += ["", "## Error analyses (genbioel vs angel, k = 1, first seed)", ""]
    for benchmark in config.benchmarks:
        first = config.seeds_for(benchmark)[0]
        a, b = runs.get(("genbioel", benchmark, first)), runs.get(("angel", benchmark, first))
        if a is None or b is None:
            continue
        args = ["errors", str(a), str(b), "--k", "1"]
        (HERE / "errors" / f"{benchmark}.md").write_text(bioel_bench(*args))
        lines.append(f"- [{benchmark}](errors/{benchmark}.md): `bioel-bench {' '.join(args)}`")
    (HERE / "comparisons.md").write_text("\n".join(lines) + "\n")
    print(HERE / "comparisons.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
