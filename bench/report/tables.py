"""The report's tables, built from plain mappings of per-seed values.

Builders take fractions (0..1) per seed and return a :class:`Table` of
strings; they know nothing about files, so each is testable with made-up
numbers (and made-up p-values: the significance markers are decided here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bench.report.collect import Ablation
from bench.report.render import FLAGGED, SIGNIFICANT, Table, percent, signed_percent
from bench.report.significance import ALPHA, holm_by_system
from bench.significance import aggregate_seeds

Key = tuple[str, str]  # (label, benchmark)
SUBSETS = ("mention_seen", "mention_unseen", "concept_seen", "concept_unseen")
SUBSET_TITLES = {
    "mention_seen": "mention seen",
    "mention_unseen": "mention unseen",
    "concept_seen": "concept seen",
    "concept_unseen": "concept unseen",
}


def finite(values: Sequence[float | None] | None) -> list[float]:
    return [float(v) for v in values or () if v is not None and math.isfinite(v)]


def mean_of(values: Sequence[float | None] | None) -> float | None:
    clean = finite(values)
    return float(np.mean(clean)) if clean else None


def mean_sd(values: Sequence[float | None] | None) -> str:
    """``67.2`` for one seed, ``67.2 ± 0.4`` (sample sd) for several, ``-`` for none."""
    clean = finite(values)
    if not clean:
        return "-"
    aggregate = aggregate_seeds(clean)
    if aggregate.n == 1:
        return percent(aggregate.mean)
    return f"{percent(aggregate.mean)} ± {100 * aggregate.sd:.1f}"


def header(benchmark: str, flags: Mapping[str, str]) -> str:
    return benchmark + (FLAGGED if benchmark in flags else "")


def flag_notes(benchmarks: Sequence[str], flags: Mapping[str, str]) -> list[str]:
    return [f"{FLAGGED} {b}: {flags[b]}" for b in benchmarks if b in flags]


def seeds_note(seeds: Mapping[str, Sequence[int]], labels: Sequence[str]) -> list[str]:
    shown = [f"{label} {', '.join(str(s) for s in seeds[label])}" for label in labels if seeds.get(label)]
    return [f"Seeds: {'; '.join(shown)}."] if shown else []


def main_table(
    values: Mapping[Key, Sequence[float | None]],
    labels: Sequence[str],
    benchmarks: Sequence[str],
    *,
    baseline: str | None = None,
    pvalues: Mapping[Key, float] | None = None,
    alpha: float = ALPHA,
    flags: Mapping[str, str] | None = None,
    suites: Sequence[str] = (),
    seeds: Mapping[str, Sequence[int]] | None = None,
    k: int = 1,
    rule: str = "union",
    average_over: Sequence[str] | None = None,
    seed_pvalues: Mapping[Key, float] | None = None,
) -> Table:
    """Rows systems, columns benchmarks and their average: acc@k, mean ± sd over seeds.

    ``pvalues`` holds the raw p-value of each (system, benchmark) comparison
    with ``baseline``; they are Holm-adjusted over the benchmarks of each
    system here, and a cell is marked when the adjusted p is below ``alpha``.
    ``average_over``: the benchmarks the avg column covers (default all; a report whose
    extra columns only some rows have averages over the shared ones and says so).
    ``seed_pvalues``: the Holm-adjusted seed-level t-test p of each comparison that has
    several seeds on both sides, listed in a note.
    """
    flags = flags or {}
    adjusted = holm_by_system({key: p for key, p in (pvalues or {}).items() if key[1] in benchmarks})
    rows = []
    for label in labels:
        row = [label]
        means = []
        for benchmark in benchmarks:
            cell = mean_sd(values.get((label, benchmark)))
            if average_over is None or benchmark in average_over:
                means.append(mean_of(values.get((label, benchmark))))
            p = adjusted.get((label, benchmark))
            if baseline is not None and label != baseline and p is not None and p < alpha and cell != "-":
                cell += SIGNIFICANT
            row.append(cell)
        row.append(percent(float(np.mean(means))) if means and None not in means else "-")
        rows.append(row)
    covered = "" if average_over is None else f" ({', '.join(average_over)}: the benchmarks every row has)"
    notes = [
        f"acc@{k} (%), {rule} rule; mean ± sd (sample sd) over seeds where a system has several; "
        f"avg: mean over the benchmarks{covered} of each system's mean ('-' when a benchmark is missing)."
    ]
    if baseline is not None:
        notes.append(
            f"{SIGNIFICANT} different from {baseline} (two-sided McNemar exact test on per-mention correctness; "
            f"Holm-Bonferroni over the {len(benchmarks)} benchmark(s) of each row; adjusted p < {alpha:g}; with "
            "several seeds, on every seed pair). All p-values: significance.json."
        )
    else:
        notes.append("No baseline chosen: no significance markers (set `baseline` or pass --baseline LABEL).")
    if baseline is not None and seed_pvalues:
        listed = [
            f"{label} on {benchmark} p = {seed_pvalues[(label, benchmark)]:.3f}"
            for label in labels
            for benchmark in benchmarks
            if (label, benchmark) in seed_pvalues
        ]
        notes.append(
            f"Seed-level test against {baseline} (paired t-test over the seeds both share, on the reported "
            f"accuracy; Holm over each row's benchmarks): {'; '.join(listed)}."
        )
    notes += [f"{b}: mean over its members (folds); tests use the pooled per-mention outcomes." for b in suites]
    notes += flag_notes(benchmarks, flags)
    notes += seeds_note(seeds or {}, labels)
    return Table(
        f"Main results: acc@{k} (%)",
        ["system", *[header(b, flags) for b in benchmarks], "avg"],
        rows,
        notes,
        ["l", *["r"] * (len(benchmarks) + 1)],
        best_columns=tuple(range(1, len(benchmarks) + 2)),
    )


def topk_table(
    values: Mapping[Key, Mapping[int, Sequence[float | None]]],
    labels: Sequence[str],
    benchmarks: Sequence[str],
    ks: Sequence[int],
    *,
    flags: Mapping[str, str] | None = None,
    suites: Sequence[str] = (),
    rule: str = "union",
) -> Table:
    """One row per benchmark and system: acc@k for each k, mean ± sd over seeds."""
    flags = flags or {}
    rows = []
    for benchmark in benchmarks:
        for label in labels:
            per_k = values.get((label, benchmark))
            if per_k is None:
                continue
            rows.append([header(benchmark, flags), label, *[mean_sd(per_k.get(k)) for k in ks]])
    notes = [f"acc@k (%), {rule} rule; mean ± sd (sample sd) over seeds where a system has several."]
    notes += [f"{b}: mean over its members (folds)." for b in suites]
    notes += flag_notes(benchmarks, flags)
    return Table(
        "Top-k accuracy (%)",
        ["benchmark", "system", *[f"acc@{k}" for k in ks]],
        rows,
        notes,
        ["l", "l", *["r"] * len(ks)],
    )


def ablation_table(
    values: Mapping[Key, Mapping[int, float | None]],
    ablations: Mapping[str, Ablation],
    benchmarks: Sequence[str],
    *,
    pvalues: Mapping[Key, float] | None = None,
    alpha: float = ALPHA,
    flags: Mapping[str, str] | None = None,
    k: int = 1,
) -> Table:
    """Each sweep's runs against their base system: acc@k and its difference to the base.

    ``values`` holds each row's acc@k by seed. An ablation often runs on fewer seeds than its
    base (one seed of an expensive variant beside three of the base), so its difference is taken
    to the base's mean over the ablation's own seeds: a seed the ablation lacks would otherwise
    enter the difference as if the variant had caused it.
    """
    flags = flags or {}
    adjusted = holm_by_system({key: p for key, p in (pvalues or {}).items() if key[1] in benchmarks})

    def mean_over(key: Key, seeds: Sequence[int] | None = None) -> float | None:
        by_seed = values.get(key) or {}
        if seeds is not None and not set(seeds) <= set(by_seed):
            return None
        return mean_of([by_seed[s] for s in (seeds if seeds is not None else sorted(by_seed))])

    rows = []
    bases = list(dict.fromkeys(a.base for a in ablations.values()))
    for base in bases:
        base_means = [mean_over((base, b)) for b in benchmarks]
        base_avg = float(np.mean(base_means)) if None not in base_means else None
        cells = [mean_sd(list((values.get((base, b)) or {}).values())) for b in benchmarks]
        rows.append(["-", base, "(base)", *cells, percent(base_avg)])
        for label, ablation in ablations.items():
            if ablation.base != base:
                continue
            cells, means, paired = [], [], []
            for benchmark in benchmarks:
                by_seed = values.get((label, benchmark)) or {}
                mean = mean_of(list(by_seed.values()))
                base_same = mean_over((base, benchmark), sorted(by_seed)) if by_seed else None
                means.append(mean)
                paired.append(base_same)
                cell = mean_sd(list(by_seed.values()))
                if mean is not None and base_same is not None:
                    cell += f" ({signed_percent(mean - base_same)})"
                p = adjusted.get((label, benchmark))
                if p is not None and p < alpha and mean is not None:
                    cell += SIGNIFICANT
                cells.append(cell)
            avg = float(np.mean(means)) if None not in means else None
            avg_cell = percent(avg)
            if avg is not None and None not in paired:
                avg_cell += f" ({signed_percent(avg - float(np.mean(paired)))})"
            rows.append([ablation.sweep, base, ablation.setting, *cells, avg_cell])
    notes = [
        f"acc@{k} (%), union rule, mean ± sd over seeds; in parentheses: difference to the base system on the "
        "ablation's own seeds (percentage points; the base row shows all of the base's seeds).",
        f"{SIGNIFICANT} different from the base system (McNemar exact test, Holm-Bonferroni over the benchmarks "
        f"of each row, adjusted p < {alpha:g}).",
        *flag_notes(benchmarks, flags),
    ]
    return Table(
        f"Ablations: acc@{k} (%) and difference to the base system",
        ["ablation", "system", "setting", *[header(b, flags) for b in benchmarks], "avg"],
        rows,
        notes,
        ["l", "l", "l", *["r"] * (len(benchmarks) + 1)],
    )


def leakage_table(
    values: Mapping[Key, Mapping[str, Sequence[float | None]]],
    sizes: Mapping[str, Mapping[str, int]],
    labels: Sequence[str],
    benchmarks: Sequence[str],
    *,
    flags: Mapping[str, str] | None = None,
    suites: Sequence[str] = (),
    k: int = 1,
) -> Table:
    """acc@k on the seen/unseen subsets; a first row per benchmark gives the subset sizes."""
    flags = flags or {}
    rows = []
    for benchmark in benchmarks:
        size = sizes.get(benchmark, {})
        rows.append([header(benchmark, flags), "n (mentions)", *[str(size.get(s, "-")) for s in SUBSETS]])
        for label in labels:
            subsets = values.get((label, benchmark))
            if subsets is None:
                continue
            rows.append([header(benchmark, flags), label, *[mean_sd(subsets.get(s)) for s in SUBSETS]])
    notes = [
        f"acc@{k} (%), union rule, mean ± sd over seeds. A mention is seen when its normalised string occurs in "
        "train+dev; a concept is seen when all its gold ids are gold somewhere in train+dev (unseen: zero-shot).",
        *[f"{b}: pooled over its members (folds)." for b in suites],
        *flag_notes(benchmarks, flags),
    ]
    return Table(
        f"Leakage: acc@{k} (%) on seen and unseen mentions and concepts",
        ["benchmark", "system", *[SUBSET_TITLES[s] for s in SUBSETS]],
        rows,
        notes,
        ["l", "l", "r", "r", "r", "r"],
    )


def _number(value: Any, digits: int = 3) -> str:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def _share(value: Any) -> str:
    return percent(value) if isinstance(value, (int, float)) else "-"


def angel_table(histories: Sequence[tuple[str, str, int, Sequence[Mapping[str, Any]]]]) -> Table:
    """ANGEL's negative-aware stage, one row per chunk: dev acc@1, pairs, DPO statistics."""
    rows = []
    for label, benchmark, seed, history in histories:
        for record in history:
            rows.append(
                [
                    label,
                    benchmark,
                    str(seed),
                    _number(record.get("chunk")),
                    _share(record.get("dev_acc1")),
                    _number(record.get("mentions_with_pairs")),
                    _number(record.get("pairs")),
                    _number(record.get("mining_margin"), 2),
                    _number(record.get("dpo_loss")),
                    _number(record.get("dpo_reward_margin")),
                    _share(record.get("dpo_reward_accuracy")),
                ]
            )
    notes = [
        "dev acc@1 is measured before the chunk's DPO epoch (the last row: after the last chunk, or where early "
        "stopping ended the stage); reward accuracy (%): share of pairs whose chosen name outscores the rejected one.",
        "mining margin: mean over the chunk's pairs of the chosen name's score minus the rejected name's, as the "
        "mining model ranked them (mean log-prob per token): small margins are hard negatives, large ones easy.",
    ]
    return Table(
        "ANGEL negative-aware stage per chunk",
        [
            "system",
            "benchmark",
            "seed",
            "chunk",
            "dev acc@1",
            "mentions with pairs",
            "pairs",
            "mining margin",
            "DPO loss",
            "reward margin",
            "reward acc.",
        ],
        rows,
        notes,
        ["l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
    )
