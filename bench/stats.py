"""Benchmark statistics, as printed by ``bioel-bench stats`` and written in cards.

The numbers a reader checks first: mentions and documents per split, KB size,
composite mentions, gold ids the KB lacks (never dropped, always counted), and
how much of the test set was already seen in training (Tutubalina et al. 2020).
"""

from __future__ import annotations

from typing import Any

from bench.benchmark import DEV, TEST, TRAIN, Benchmark
from bench.metrics import leakage_masks


def benchmark_stats(benchmark: Benchmark) -> dict[str, Any]:
    kb = benchmark.kb
    splits: dict[str, Any] = {}
    for name, mentions in benchmark.splits.items():
        documents = {m.doc_id for m in mentions if m.doc_id is not None}
        missing = [m for m in mentions if any(i not in kb.concepts for i in m.gold_ids)]
        splits[name] = {
            "mentions": len(mentions),
            "documents": len(documents) if documents else None,
            "composite": sum(m.composite for m in mentions),
            "concepts": len({i for m in mentions for i in m.gold_ids}),
            "mentions_with_gold_missing_from_kb": len(missing),
            "gold_ids_missing_from_kb": len({i for m in missing for i in m.gold_ids if i not in kb.concepts}),
        }
    stats: dict[str, Any] = {
        "name": benchmark.name,
        "protocol": benchmark.protocol,
        "splits": splits,
        "kb": {
            "name": kb.name,
            "concepts": kb.n_concepts,
            "names": kb.n_names,
            "synonym_pairs": kb.n_synonym_pairs,
            "ambiguous_names": kb.n_ambiguous_names,
            "closed_world": kb.closed_world,
        },
        "flags": dict(benchmark.flags),
        "protocol_record": benchmark.protocol_record(),
        "steps": {name: dict(counts) for name, counts in benchmark.steps.items()},
    }
    if TEST in benchmark.splits:
        training = [m for s in (TRAIN, DEV) if s in benchmark.splits for m in benchmark.splits[s]]
        masks = leakage_masks(benchmark.splits[TEST], training)
        n = len(benchmark.splits[TEST])
        stats["test_overlap_with_train_dev"] = {
            "mentions_seen": int(masks["mention_seen"].sum()),
            "mentions_seen_pct": round(100 * float(masks["mention_seen"].sum()) / n, 1) if n else None,
            "concepts_seen": int(masks["concept_seen"].sum()),
            "concepts_seen_pct": round(100 * float(masks["concept_seen"].sum()) / n, 1) if n else None,
        }
    return stats
