"""The paired tests behind a report's markers, and the intervals of its bar charts.

Per benchmark, each system is compared with the baseline on per-mention
correctness at k (union rule, whole mentions), recomputed from the prediction
files, as ``bioel-bench compare`` does:

* **One seed each**: McNemar's exact test.
* **Several seeds**: seeds are paired by value (a seed that only one side has
  is paired with the other side's lowest seed: a deterministic baseline is
  usually run once), McNemar's exact test is run on every pair, and the
  reported p-value is the *largest* of them. That is the intersection-union
  test (Berger 1982): the difference is called significant only when it is
  significant for every pairing of seeds, which keeps the level at alpha
  without assuming anything about how seeds relate, and never lets one lucky
  seed carry the claim. Training variance is tested on its own as well: the
  paired t-test over seeds (``seed_level_test``) on the reported accuracy is
  recorded in ``significance.json`` whenever both sides share two seeds or more.
* **Suites** (AskAPatient): the table reports the mean over folds; the tests
  use the pooled run, whose predictions concatenate every fold (pooled
  per-mention outcomes, DESIGN.md section 4).
* **Holm-Bonferroni** over the benchmarks, per system: a system's row is one
  family of comparisons with the baseline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bench.compare import check_comparable
from bench.errors import IncomparableRunsError
from bench.metrics import Rule, hit_ranks
from bench.report.collect import RunGroup
from bench.results import RunRecord
from bench.significance import holm_bonferroni, mcnemar_exact, seed_level_test

ALPHA = 0.05

METHOD = (
    "McNemar exact test on per-mention correctness at k (union rule), recomputed from the prediction files; "
    "with several seeds, seeds are paired by value (a seed only one side has is paired with the other side's "
    "lowest seed) and the largest McNemar p over the pairs is used (intersection-union test: significant only "
    "if significant for every seed pair); suites (AskAPatient) are tested on the pooled per-mention outcomes of "
    "their folds; Holm-Bonferroni adjustment over the benchmarks of each system (one family per system); "
    f"significant means adjusted p < {ALPHA}. The paired t-test over seeds on the reported accuracy is recorded "
    "as seed_level_p (with its own Holm adjustment) where both sides share two seeds or more."
)


class Outcomes:
    """Hit ranks of each run, computed once per run directory."""

    def __init__(self, rule: Rule = "union") -> None:
        self.rule = rule
        self._cache: dict[str, tuple[list[str], np.ndarray]] = {}

    def ranks(self, record: RunRecord) -> tuple[list[str], np.ndarray]:
        key = str(record.path.resolve())
        if key not in self._cache:
            mentions = record.mentions()
            self._cache[key] = ([m.id for m in mentions], hit_ranks(mentions, record.predictions(), self.rule))
        return self._cache[key]

    def correct(self, record: RunRecord, k: int) -> tuple[list[str], np.ndarray]:
        ids, ranks = self.ranks(record)
        return ids, ranks <= k

    def paired(self, a: RunRecord, b: RunRecord, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Correctness at k of both runs on the same mentions, in ``a``'s order (refuses other pairs)."""
        check_comparable(a, b)
        ids_a, correct_a = self.correct(a, k)
        ids_b, correct_b = self.correct(b, k)
        if ids_a == ids_b:
            return correct_a, correct_b
        position = {mention_id: i for i, mention_id in enumerate(ids_b)}
        if set(position) != set(ids_a):
            raise IncomparableRunsError(f"{a.path} and {b.path} scored different mentions")
        return correct_a, correct_b[[position[i] for i in ids_a]]


def reported_accuracy(record: RunRecord, k: int, rule: str = "union") -> float | None:
    """The number a table shows for a run: a suite's mean over members, else its accuracy."""
    table = record.metrics.get("acc_member_mean") or record.metrics["acc"]
    value = table.get(rule, {}).get(str(k))
    return None if value is None else float(value)


def seed_pairs(system_seeds: Sequence[int], baseline_seeds: Sequence[int]) -> list[tuple[int, int]]:
    """Pairs (system seed, baseline seed): equal seeds together, a lone seed with the other's lowest."""
    if not system_seeds or not baseline_seeds:
        return []
    system, baseline = set(system_seeds), set(baseline_seeds)
    pairs = []
    for seed in sorted(system | baseline):
        pair = (seed if seed in system else min(system), seed if seed in baseline else min(baseline))
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def compare_groups(outcomes: Outcomes, group: RunGroup, baseline: RunGroup, k: int = 1) -> dict[str, Any]:
    """Every seed pair's McNemar test of ``group`` against ``baseline`` on one benchmark, and the combined p."""
    pairs = []
    for seed, baseline_seed in seed_pairs(group.seeds, baseline.seeds):
        run, base_run = group.runs[seed], baseline.runs[baseline_seed]
        base_correct, correct = outcomes.paired(base_run, run, k)
        system_only, baseline_only, p = mcnemar_exact(base_correct, correct)
        pairs.append(
            {
                "seed": seed,
                "baseline_seed": baseline_seed,
                "run": run.name,
                "baseline_run": base_run.name,
                "n": int(correct.size),
                "acc": float(correct.mean()),
                "baseline_acc": float(base_correct.mean()),
                "system_only_right": system_only,
                "baseline_only_right": baseline_only,
                "mcnemar_p": p,
            }
        )
    common = sorted(set(group.seeds) & set(baseline.seeds))
    values = [reported_accuracy(group.runs[s], k) for s in common]
    base_values = [reported_accuracy(baseline.runs[s], k) for s in common]
    seed_p = None
    if len(common) >= 2 and None not in values and None not in base_values:
        seed_p = seed_level_test(base_values, values)  # type: ignore[arg-type]
    return {
        "system": group.label,
        "baseline": baseline.label,
        "benchmark": group.benchmark,
        "k": k,
        "pooled_suite": group.is_suite,
        "p": max(pair["mcnemar_p"] for pair in pairs),
        "seed_level_p": seed_p,
        "pairs": pairs,
    }


def holm_by_system(pvalues: Mapping[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    """Holm-adjusted p per (system, benchmark); each system's benchmarks form one family."""
    families: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in sorted(pvalues):
        families[key[0]].append(key)
    adjusted: dict[tuple[str, str], float] = {}
    for keys in families.values():
        for key, value in zip(keys, holm_bonferroni([pvalues[key] for key in keys])):
            adjusted[key] = value
    return adjusted


def adjust(tests: list[dict[str, Any]], alpha: float = ALPHA) -> list[dict[str, Any]]:
    """Add ``p_holm``, ``significant`` and ``seed_level_p_holm`` to each test (families per system)."""
    adjusted = holm_by_system({(t["system"], t["benchmark"]): t["p"] for t in tests})
    seed_adjusted = holm_by_system(
        {(t["system"], t["benchmark"]): t["seed_level_p"] for t in tests if t["seed_level_p"] is not None}
    )
    for test in tests:
        key = (test["system"], test["benchmark"])
        test["p_holm"] = adjusted[key]
        test["significant"] = adjusted[key] < alpha
        test["seed_level_p_holm"] = seed_adjusted.get(key)
    return tests


def accuracy_interval(
    outcomes: Outcomes,
    group: RunGroup,
    k: int = 1,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """Percentile bootstrap interval of the reported acc@k over test mentions.

    Per-mention correctness is averaged over seeds, then mentions are
    resampled; for a suite, within each member (fold) and the statistic is the
    mean of the member accuracies, which is what the table reports.
    """
    records = group.records()
    ids, first = outcomes.correct(records[0], k)
    values = first.astype(float)
    for record in records[1:]:
        values = values + outcomes.paired(records[0], record, k)[1]
    values /= len(records)
    strata = [i.split("/", 1)[0] for i in ids] if group.is_suite else [""] * len(ids)
    rng = np.random.default_rng(seed)
    totals = np.zeros(n_resamples)
    names = sorted(set(strata))
    labels = np.array(strata)
    for name in names:
        stratum = values[labels == name]
        m = stratum.size
        batch = max(1, 2_000_000 // max(m, 1))
        for start in range(0, n_resamples, batch):
            stop = min(n_resamples, start + batch)
            index = rng.integers(0, m, size=(stop - start, m))
            totals[start:stop] += stratum[index].mean(axis=1)
    totals /= len(names)
    point = float(np.mean([values[labels == name].mean() for name in names]))
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(totals, [tail, 100 - tail])
    return {"acc": point, "low": float(low), "high": float(high), "confidence": confidence}
