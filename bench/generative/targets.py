"""Which KB name a training mention is taught to generate (DESIGN.md section 5).

A gold concept has many names; GenBioEL trains on the one most similar to the
mention by character 3-gram TF-IDF cosine (top 1), ANGEL on the three most
similar (SYN3, tripling the training set). Similarity is computed with
scikit-learn; the vectoriser is fitted on the KB's names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bench.kb import KnowledgeBase
from bench.mention import Mention
from bench.normalize import normalize_name


class TargetSelector:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(3, 3), lowercase=False, dtype=np.float32)
        self.vectorizer.fit(kb.names)

    def targets(self, mention: Mention, top: int = 1) -> list[str]:
        """The ``top`` normalised names of the gold concepts closest to the mention.

        Ties are broken by name, so the choice is deterministic. A mention whose
        gold ids are all absent from the KB has no target (it cannot be learnt).
        """
        candidates = sorted(
            {normalize_name(n) for i in mention.gold_ids if i in self.kb.concepts for n in self.kb.concepts[i]}
        )
        if not candidates:
            return []
        query = self.vectorizer.transform([normalize_name(mention.text)])
        scores = (self.vectorizer.transform(candidates) @ query.T).toarray().ravel()
        order = sorted(range(len(candidates)), key=lambda i: (-round(float(scores[i]), 6), candidates[i]))
        return [candidates[i] for i in order[:top]]

    def training_pairs(
        self, mentions: Sequence[Mention], top: int = 1, label_targets: bool = False
    ) -> list[tuple[Mention, str]]:
        """``(mention, target name)`` pairs: the ``top`` closest names, then (``label_targets``) the label pairs."""
        pairs = [(m, name) for m in mentions for name in self.targets(m, top)]
        if label_targets:
            pairs += self.label_pairs(mentions)
        return pairs

    def label_pairs(self, mentions: Sequence[Mention]) -> list[tuple[Mention, str]]:
        """GenBioEL's AskAPatient augmentation: the mention's corpus label as a second target.

        GenBioEL (``src/data_utils/aap/prepare_dataset.py``, ``generate_files`` L122-126)
        writes one more training line, same input, when the lower-cased label column
        is a KB name, whichever concept carries that name after its de-duplication.
        Only AskAPatient's loader gives mentions a ``label``; elsewhere this adds nothing.
        """
        pairs = []
        for mention in mentions:
            if mention.label is not None:
                name = normalize_name(mention.label)
                if name in self.kb.name_index:
                    pairs.append((mention, name))
        return pairs
