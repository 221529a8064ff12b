"""Paired comparison of two finished runs on the same test data.

Both runs' per-mention correctness is recomputed from their prediction files
(so any rule can be compared after the fact), aligned by mention id, and
handed to :mod:`bench.significance`. Runs on different test mentions or KBs
are refused: their accuracies are not paired, and often not even comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.errors import IncomparableRunsError
from bench.metrics import Rule, correct_at, hit_ranks
from bench.protocols import run_profile
from bench.results import RunRecord
from bench.significance import compare_paired


def check_comparable(a: RunRecord, b: RunRecord) -> None:
    ca, cb = a.metrics.get("checksums", {}), b.metrics.get("checksums", {})
    problems = []
    if a.config.get("split") != b.config.get("split"):
        problems.append(f"split {a.config.get('split')!r} vs {b.config.get('split')!r}")
    pa, pb = _protocol(a), _protocol(b)
    if pa != pb:
        problems.append(f"protocols differ ({_show(pa)} vs {_show(pb)})")
    if ca.get("test") != cb.get("test"):
        problems.append(f"test data differ (sha256 {str(ca.get('test'))[:12]} vs {str(cb.get('test'))[:12]})")
    if ca.get("kb") != cb.get("kb"):
        problems.append(f"KBs differ (sha256 {str(ca.get('kb'))[:12]} vs {str(cb.get('kb'))[:12]})")
    if problems:
        raise IncomparableRunsError(f"refusing to compare {a.path} and {b.path}: " + "; ".join(problems))


def _protocol(run: RunRecord) -> dict[str, Any]:
    """Profile, version and abbreviation detector of a run (runs from before versions read as official)."""
    recorded = run.metrics.get("checksums", {}).get("protocol") or {}
    return {
        "profile": run_profile(run.config),
        "version": recorded.get("version", run.config.get("profile_version")),
        "expander": recorded.get("expander"),
    }


def _show(protocol: dict[str, Any]) -> str:
    shown = f"{protocol['profile']} v{protocol['version']}" if protocol["version"] else protocol["profile"]
    return shown + (f" with {protocol['expander']}" if protocol["expander"] else "")


def paired_ranks(
    a: RunRecord, b: RunRecord, rule: Rule = "union", composite: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Hit ranks of both runs, aligned on the same mention order."""
    check_comparable(a, b)
    mentions_a, mentions_b = a.mentions(), b.mentions()
    order_b = {m.id: i for i, m in enumerate(mentions_b)}
    if set(order_b) != {m.id for m in mentions_a}:
        raise IncomparableRunsError(f"{a.path} and {b.path} scored different mentions")
    ranks_a = hit_ranks(mentions_a, a.predictions(), rule, composite)
    mentions_b_aligned = [mentions_b[order_b[m.id]] for m in mentions_a]
    ranks_b = hit_ranks(mentions_b_aligned, b.predictions(), rule, composite)
    return ranks_a, ranks_b


def compare_runs(
    a: RunRecord,
    b: RunRecord,
    ks: Sequence[int] = (1, 5, 10),
    *,
    rule: Rule = "union",
    composite: bool = False,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Per k: both accuracies, the difference (b - a), its bootstrap CI, McNemar and randomization p."""
    ranks_a, ranks_b = paired_ranks(a, b, rule, composite)
    rows = []
    for k in ks:
        result = compare_paired(
            correct_at(ranks_a, k), correct_at(ranks_b, k), n_resamples=n_resamples, confidence=confidence, seed=seed
        )
        rows.append({"k": k, **result.to_dict()})
    return {
        "a": {"run": str(a.path), "system": a.system, "benchmark": a.benchmark},
        "b": {"run": str(b.path), "system": b.system, "benchmark": b.benchmark},
        "rule": rule,
        "composite": composite,
        "n_mentions": int(len(ranks_a)),
        "comparisons": rows,
    }
