"""``exact``: normalised dictionary match, the floor every linker must beat.

A mention is linked when its normalised string equals a normalised KB name
(optionally also a training mention string: a memorisation baseline that shows
how much of a benchmark is recall of seen mentions). It returns one candidate
or none, so acc@k is flat in k.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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

    def __init__(self, options: Options | None = None) -> None:
        super().__init__(options)
        self._memory: dict[str, frozenset[str]] = {}

    def fit(self, train: Sequence[Mention], dev: Sequence[Mention], kb: KnowledgeBase, config: FitConfig) -> None:
        self._memory = {}
        if self.options.use_training_mentions:
            for mention in (*train, *dev):
                key = normalize_name(mention.text)
                self._memory[key] = self._memory.get(key, frozenset()) | mention.gold_ids

    def predict(self, mentions: Sequence[Mention], kb: KnowledgeBase, k: int) -> list[list[Candidate]]:
        results: list[list[Candidate]] = []
        for mention in mentions:
            key = normalize_name(mention.text)
            ids = kb.name_index.get(key) or self._memory.get(key)
            results.append([Candidate(key, ids, 1.0)] if ids and k > 0 else [])
        return results
