"""``tfidf``: character n-gram TF-IDF over all KB names, cosine, sparse top-k.

This is BioSyn's sparse score (Sung et al., 2020) on its own, the usual strong
string-similarity baseline. scikit-learn does the vectorising; the top-k over
a sparse score matrix is a few lines of numpy here because scikit-learn's
nearest-neighbour search would densify the (mentions x names) scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bench.kb import KnowledgeBase
from bench.linker import Candidate, FitConfig, Linker, rank
from bench.mention import Mention
from bench.normalize import normalize_name
from bench.progress import progress_bar
from bench.registry import register_system


@register_system("tfidf")
class TfidfLinker(Linker):
    @dataclass(frozen=True)
    class Options:
        #: scikit-learn's analyzer: character n-grams ("char") or within word boundaries ("char_wb")
        analyzer: Literal["char", "char_wb"] = "char_wb"
        #: smallest character n-gram
        ngram_min: int = 1
        #: largest character n-gram
        ngram_max: int = 2
        #: 1 + log(tf) instead of raw counts
        sublinear_tf: bool = False
        #: mentions scored per sparse product (bounds memory on large KBs)
        batch_size: int = 256

        def __post_init__(self) -> None:
            if self.ngram_min < 1 or self.ngram_max < self.ngram_min:
                raise ValueError(
                    f"bad n-gram range ({self.ngram_min}, {self.ngram_max}): need 1 <= ngram_min <= ngram_max"
                )
            if self.batch_size < 1:
                raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")

    def __init__(self, options: Options | None = None) -> None:
        super().__init__(options)
        self._kb_checksum: str | None = None

    def fit(self, train: Sequence[Mention], dev: Sequence[Mention], kb: KnowledgeBase, config: FitConfig) -> None:
        self._index(kb)

    def _index(self, kb: KnowledgeBase) -> None:
        o = self.options
        self._vectorizer = TfidfVectorizer(
            analyzer=o.analyzer,
            ngram_range=(o.ngram_min, o.ngram_max),
            lowercase=False,
            sublinear_tf=o.sublinear_tf,
            dtype=np.float32,
        )
        # kb.names is sorted, so index order = name order = the tie-break order.
        self._names = kb.names
        self._name_matrix = self._vectorizer.fit_transform(self._names).T.tocsr()
        self._kb_checksum = kb.checksum

    def predict(self, mentions: Sequence[Mention], kb: KnowledgeBase, k: int) -> list[list[Candidate]]:
        if self._kb_checksum != kb.checksum:
            self._index(kb)
        results: list[list[Candidate]] = []
        size = self.options.batch_size
        for start in progress_bar(range(0, len(mentions), size), desc="tfidf", unit="batch"):
            batch = mentions[start : start + size]
            queries = self._vectorizer.transform([normalize_name(m.text) for m in batch])
            scores = (queries @ self._name_matrix).tocsr()
            for row in range(scores.shape[0]):
                results.append(self._top_k(scores, row, k, kb))
        return results

    def _top_k(self, scores, row: int, k: int, kb: KnowledgeBase) -> list[Candidate]:
        lo, hi = scores.indptr[row], scores.indptr[row + 1]
        columns, values = scores.indices[lo:hi], scores.data[lo:hi]
        if len(values) > k:
            # Keep every name tied with the k-th score, so that rank() breaks
            # ties by name rather than argpartition's arbitrary choice.
            threshold = np.partition(values, len(values) - k)[len(values) - k]
            keep = values >= threshold
            columns, values = columns[keep], values[keep]
        # Scores are rounded to 6 decimals so that float32 noise from one BLAS
        # build to another cannot turn a tie into an order (or back).
        candidates = [
            Candidate(self._names[c], kb.name_index[self._names[c]], float(round(v, 6)))
            for c, v in zip(columns, values)
        ]
        return rank(candidates, k)
