"""Dataset-card figures per variant and protocol profile, computed by the harness and written into the card.

A card's ``stats:`` and ``baselines:`` header blocks and its "Figures per
profile" table are never typed by hand: this module loads every variant of a
family under every profile it has, takes :func:`bench.stats.benchmark_stats`
(mention and concept counts, KB size, what each profile step changed or
dropped) and runs the ``tfidf`` and ``exact`` baselines through the ordinary
runner, then rewrites those three places of the card. Tests compare the card
with what the harness computes, so a changed profile cannot leave a stale card.

    python -m bench.benchmarks.card_figures ncbi-disease [--data-dir DIR] [--check]

Hand-written YAML elsewhere in the header (comments included) is left as it is:
only the top-level ``stats:``, ``baselines:`` and ``baselines_command:`` blocks
and the text between the two figure markers are replaced.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from bench.benchmark import TEST
from bench.benchmarks.profiles import FAMILY_PROFILES, check_profile
from bench.errors import BenchError
from bench.protocols import PROCESSED_PROFILES

REPO = Path(__file__).resolve().parents[2]
# Which variants each card covers, and the profiles shown (the processed-file profiles read a paper's
# own files, which a card cannot describe).
VARIANTS: dict[str, tuple[str, ...]] = {
    "ncbi-disease": ("ncbi-disease", "ncbi-disease-ctd"),
    "bc5cdr": ("bc5cdr", "bc5cdr-disease", "bc5cdr-chemical"),
    "cometa": (
        "cometa-stratified-general",
        "cometa-stratified-specific",
        "cometa-zeroshot-general",
        "cometa-zeroshot-specific",
    ),
    "aap": tuple(f"aap-fold{i}" for i in range(10)),
    "demo": ("demo",),
}
SUITES = {"aap": "aap"}  # cards whose variants form a suite reported by its mean
BASELINES = ("tfidf", "exact")
KS = (1, 5)
COMMAND = (
    "python -m bench.benchmarks.card_figures {card} (per variant and profile: bioel-bench stats, and "
    "bioel-bench run --system tfidf|exact --benchmark <variant> --profile <profile> --k 1 5, seed 0, default "
    "options; acc@k in percent under the union rule)"
)
BEGIN, END = "<!-- card-figures:begin -->", "<!-- card-figures:end -->"


def card_path(card: str) -> Path:
    return REPO / "datasets" / card / "README.md"


def profiles_of(card: str, variant: str) -> list[str]:
    """The profiles a card shows for ``variant``: every one the family has, less those the variant refuses."""
    shown = []
    for profile in FAMILY_PROFILES[card]:
        if profile in PROCESSED_PROFILES:
            continue
        try:
            check_profile(card, variant, profile)
        except BenchError:
            continue
        shown.append(profile)
    return shown


def card_stats(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``benchmark_stats`` a card records (the rest, such as synonym pairs, is in ``stats --json``)."""
    kb = stats["kb"]
    record = {
        "expander": stats["protocol_record"].get("expander"),
        "splits": {
            split: {
                key: values[key]
                for key in ("documents", "mentions", "composite", "concepts", "mentions_with_gold_missing_from_kb")
            }
            for split, values in stats["splits"].items()
        },
        "kb": {key: kb[key] for key in ("name", "concepts", "names", "ambiguous_names", "closed_world")},
        "steps": {split: dict(counts) for split, counts in stats["steps"].items()},
    }
    if "test_overlap_with_train_dev" in stats:
        record["test_overlap_with_train_dev"] = dict(stats["test_overlap_with_train_dev"])
    return record


def baseline_scores(variant: str, profile: str, data_dir: str | Path | None, out: Path) -> dict[str, dict]:
    """acc@1 and acc@5 (percent, union rule) of each baseline, through the ordinary runner."""
    from bench.runner import RunSpec, execute

    scores = {}
    for system in BASELINES:
        record = execute(
            RunSpec(system=system, benchmark=variant, ks=KS, profile=profile),
            out,
            data_dir=data_dir,
            log=lambda *_: None,
        )
        acc = record.metrics["acc"]["union"]
        scores[system] = {f"acc@{k}": 100 * float(acc[str(k)]) for k in KS}
    return scores


def _rounded(scores: Mapping[str, float]) -> dict[str, float]:
    return {key: round(value, 1) for key, value in scores.items()}


def compute(card: str, data_dir: str | Path | None = None, log=print) -> tuple[dict, dict]:
    """(stats, baselines) for every variant and profile of ``card``: the two header blocks."""
    from bench.runner import load_benchmark
    from bench.stats import benchmark_stats

    stats: dict[str, dict] = {}
    baselines: dict[str, dict] = {system: {} for system in BASELINES}
    unrounded: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="card-figures-") as out:
        for variant in VARIANTS[card]:
            for profile in profiles_of(card, variant):
                log(f"{variant} / {profile}")
                benchmark = load_benchmark(variant, profile, data_dir)
                stats.setdefault(variant, {})[profile] = card_stats(benchmark_stats(benchmark))
                for system, scores in baseline_scores(variant, profile, data_dir, Path(out)).items():
                    baselines[system].setdefault(variant, {})[profile] = _rounded(scores)
                    unrounded.setdefault((system, profile), []).append(scores)
    if card in SUITES:  # the suite's figure is the mean over its members (AskAPatient's 10-fold mean)
        for (system, profile), runs in unrounded.items():
            mean = {key: sum(r[key] for r in runs) / len(runs) for key in runs[0]}
            baselines[system].setdefault(SUITES[card], {})[profile] = _rounded(mean)
    return stats, baselines


def _dump(key: str, value: Any) -> str:
    flow = None if isinstance(value, dict) else False  # leaves in flow style; a top-level scalar never
    return yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True, width=120, default_flow_style=flow)


def replace_block(header: str, key: str, text: str) -> str:
    """``header`` with its top-level ``key:`` block (up to the next top-level key) replaced by ``text``."""
    lines = header.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(f"{key}:")), None)
    if start is None:
        return header + text
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"[A-Za-z_]", lines[i])), len(lines))
    return "".join([*lines[:start], text, *lines[end:]])


def figures_table(stats: Mapping[str, Mapping], baselines: Mapping[str, Mapping]) -> str:
    """The Markdown table of the card's body: one row per variant and profile."""
    rows = [
        "| variant | profile | test mentions | test mentions changed (expanded / normalised / split) | "
        "dropped (all splits) | KB concepts / names | tfidf acc@1 / @5 | exact acc@1 / @5 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for variant, per_profile in stats.items():
        for profile, record in per_profile.items():
            test_steps = record["steps"].get(TEST, {})
            changed = " / ".join(
                str(test_steps.get(step, 0))
                for step in ("abbreviation expanded", "string normalised", "composite split")
            )
            dropped = sum(
                n for counts in record["steps"].values() for step, n in counts.items() if step.startswith("dropped")
            )
            kb = record["kb"]
            scores = [baselines[system][variant][profile] for system in BASELINES]
            cells = [f"{s['acc@1']} / {s['acc@5']}" for s in scores]
            rows.append(
                f"| {variant} | {profile} | {record['splits'][TEST]['mentions']:,} | {changed} | {dropped:,} | "
                f"{kb['concepts']:,} / {kb['names']:,} | {cells[0]} | {cells[1]} |"
            )
    return "\n".join(rows)


def render(card: str, text: str, stats: Mapping, baselines: Mapping) -> str:
    """The card ``text`` with its figures replaced."""
    if not text.startswith("---\n") or "\n---\n" not in text[4:]:
        raise BenchError(f"{card_path(card)}: a card must start with a '---' YAML header")
    end = text.index("\n---\n", 4) + 1
    header, body = text[4:end], text[end:]
    header = replace_block(header, "stats", _dump("stats", stats))
    header = replace_block(header, "baselines", _dump("baselines", baselines))
    header = replace_block(header, "baselines_command", _dump("baselines_command", COMMAND.format(card=card)))
    table = f"{BEGIN}\n{figures_table(stats, baselines)}\n{END}"
    if BEGIN in body and END in body:
        body = body[: body.index(BEGIN)] + table + body[body.index(END) + len(END) :]
    else:
        body = body.rstrip("\n") + f"\n\n## Figures per profile\n\n{table}\n"
    return "---\n" + header + body


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.benchmarks.card_figures", description=__doc__.split("\n")[0])
    parser.add_argument("card", choices=sorted(VARIANTS))
    parser.add_argument("--data-dir", default=None, help="prepared data (default: $BIOEL_BENCH_DATA or the cache)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the card differs, write nothing")
    args = parser.parse_args(argv)
    try:
        path = card_path(args.card)
        text = path.read_text(encoding="utf-8")
        stats, baselines = compute(args.card, args.data_dir, log=lambda m: print(m, file=sys.stderr))
        new = render(args.card, text, stats, baselines)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        print("card is up to date" if new == text else f"{path} differs from the computed figures")
        return 0 if new == text else 1
    path.write_text(new, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
