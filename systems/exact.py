"""``exact``: normalised dictionary match, the floor every linker must beat.

A mention is linked when its normalised string equals a normalised KB name
(optionally also a training mention string: a memorisation baseline that shows
how much of a benchmark is recall of seen mentions). It returns one candidate
or none, so acc@k is flat in k.

Two memories of training mentions: ``union`` (a string links to every gold id it
was ever given, after the KB's own names; under the union scoring rule an
ambiguous string is then a free hit) and ``majority``, the memorisation floor of
the CPU report: a string links to the gold id set it was given most often in
train+dev (ties broken by the sorted ids), and a seen string answers from memory
before the KB. ``memory_splits="train"`` memorises the training split only: the fair
floor for a linker that never trains on dev (GenBioEL keeps COMETA's, BC5CDR's and
AskAPatient's dev apart; NCBI-disease's is merged into train, so there the two agree).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bench.kb import KnowledgeBase
from bench.linker import Candidate, FitConfig, Linker
from bench.mention import Mention
from bench.normalize import normalize_name
from bench.registry import register_system


@register_system("exact")
class ExactMatchLinker(Linker):
    @dataclass(frozen=True)
    class Options:
        #: also match the strings of training mentions (train + dev), linked to their gold ids
        use_training_mentions: bool = False
        #: how a training string links: "union" of every gold id set it had (after the KB's names), or
        #: "majority": its most frequent gold id set (ties by sorted ids), before the KB (the memorisation floor)
        memory_rule: Literal["union", "majority"] = "union"
        #: which splits the memory holds: train and dev, or train only
        memory_splits: Literal["train+dev", "train"] = "train+dev"

    def __init__(self, options: Options | None = None) -> None:
        super().__init__(options)
        self._memory: dict[str, frozenset[str]] = {}

    def fit(self, train: Sequence[Mention], dev: Sequence[Mention], kb: KnowledgeBase, config: FitConfig) -> None:
        self._memory = {}
        if not self.options.use_training_mentions:
            return
        remembered = (*train, *dev) if self.options.memory_splits == "train+dev" else tuple(train)
        if self.options.memory_rule == "union":
            for mention in remembered:
                key = normalize_name(mention.text)
                self._memory[key] = self._memory.get(key, frozenset()) | mention.gold_ids
            return
        seen: dict[str, Counter] = {}
        for mention in remembered:
            seen.setdefault(normalize_name(mention.text), Counter())[tuple(sorted(mention.gold_ids))] += 1
        for key, counts in seen.items():
            best = max(counts.values())
            self._memory[key] = frozenset(min(ids for ids, n in counts.items() if n == best))

    def predict(self, mentions: Sequence[Mention], kb: KnowledgeBase, k: int) -> list[list[Candidate]]:
        results: list[list[Candidate]] = []
        for mention in mentions:
            key = normalize_name(mention.text)
            if self.options.memory_rule == "majority":
                ids = self._memory.get(key) or kb.name_index.get(key)
            else:
                ids = kb.name_index.get(key) or self._memory.get(key)
            results.append([Candidate(key, ids, 1.0)] if ids and k > 0 else [])
        return results
