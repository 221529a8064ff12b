"""Top-k accuracy under the scoring rules of DESIGN.md section 3.

Everything reduces to one number per mention: the smallest k at which the
prediction counts as a hit (its *hit rank*), or None. acc@k for every k, the
per-mention correctness vectors that the significance tests pair up, and the
leakage subsets are all read off those ranks, so the rules live in one place.

Rules (``rule=``):

* ``"union"`` (default; the ANGEL/GenBioEL rule): hit@k when the union of the
  ids of the first k ranks meets the gold ids.
* ``"dedup"``: ids are listed in rank order (ids within a rank sorted),
  duplicates dropped, then cut at k: retrieval systems rank *names*, and several
  synonyms of one concept would otherwise fill the top k.
* ``"strict"``: a rank counts only if it has ids and all of them are gold
  (BELB's strict mode: an ambiguous name is not a free hit).

``composite=True`` is BioSyn's composite mode: a mention that a protocol split
into parts is a hit@k only when every part is a hit@k (each part is checked
against the whole mention's gold ids, as BioSyn's evaluation does). Mentions
without parts are scored as usual.

Missing predictions are errors: accuracy divides by the number of mentions, not
the number of answers (BEIR's convention).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from bench.linker import Candidate
from bench.mention import Mention
from bench.normalize import normalize_name

Rule = Literal["union", "dedup", "strict"]
RULES: tuple[Rule, ...] = ("union", "dedup", "strict")
DEFAULT_KS: tuple[int, ...] = tuple(range(1, 11))

Predictions = Mapping[str, Sequence[Candidate]]


def hit_rank(candidates: Sequence[Candidate], gold: frozenset[str], rule: Rule = "union") -> int | None:
    """The smallest k at which ``candidates`` is a hit for ``gold``, or None."""
    if rule == "union":
        for position, candidate in enumerate(candidates, start=1):
            if candidate.ids & gold:
                return position
        return None
    if rule == "strict":
        for position, candidate in enumerate(candidates, start=1):
            if candidate.ids and candidate.ids <= gold:
                return position
        return None
    if rule == "dedup":
        seen: set[str] = set()
        for candidate in candidates:
            for concept_id in sorted(candidate.ids):
                if concept_id in seen:
                    continue
                seen.add(concept_id)
                if concept_id in gold:
                    return len(seen)
        return None
    raise ValueError(f"unknown scoring rule {rule!r}; choose from {', '.join(RULES)}")


def mention_hit_rank(
    mention: Mention, predictions: Predictions, rule: Rule = "union", composite: bool = False
) -> int | None:
    """Hit rank of one mention (composite mode: the worst of its parts)."""
    if composite and mention.parts:
        ranks = [hit_rank(predictions.get(part.id, ()), mention.gold_ids, rule) for part in mention.parts]
        return None if any(r is None for r in ranks) else max(ranks)  # type: ignore[type-var]
    return hit_rank(predictions.get(mention.id, ()), mention.gold_ids, rule)


def hit_ranks(
    mentions: Sequence[Mention], predictions: Predictions, rule: Rule = "union", composite: bool = False
) -> np.ndarray:
    """Hit ranks as a float array, ``inf`` where there is no hit (vectorised cuts)."""
    ranks = [mention_hit_rank(m, predictions, rule, composite) for m in mentions]
    return np.array([np.inf if r is None else r for r in ranks], dtype=float)


def correct_at(ranks: np.ndarray, k: int) -> np.ndarray:
    """Per-mention correctness at k: the paired data of the significance tests."""
    return ranks <= k


def accuracy_at_k(ranks: np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> dict[int, float]:
    """acc@k for every k in ``ks`` (NaN for an empty set of mentions)."""
    if len(ranks) == 0:
        return {k: float("nan") for k in ks}
    return {k: float(np.mean(ranks <= k)) for k in ks}


# --- leakage subsets ---------------------------------------------------------

SUBSETS = ("mention_seen", "mention_unseen", "concept_seen", "concept_unseen")


def leakage_masks(test: Sequence[Mention], training: Sequence[Mention]) -> dict[str, np.ndarray]:
    """Boolean masks over ``test`` for the seen/unseen subsets.

    A mention is *seen* when its normalised string occurs among the training
    mentions (train and dev: what a system could memorise); a concept is seen
    when all its gold ids are gold somewhere in training (so *concept_unseen*
    is the zero-shot part). Tutubalina et al. (2020) show how much of the
    headline numbers the seen part carries.
    """
    seen_strings = {normalize_name(m.text) for m in training}
    seen_ids = {concept_id for m in training for concept_id in m.gold_ids}
    mention_seen = np.array([normalize_name(m.text) in seen_strings for m in test], dtype=bool)
    concept_seen = np.array([bool(m.gold_ids) and m.gold_ids <= seen_ids for m in test], dtype=bool)
    return {
        "mention_seen": mention_seen,
        "mention_unseen": ~mention_seen,
        "concept_seen": concept_seen,
        "concept_unseen": ~concept_seen,
    }


def subset_accuracy(
    ranks: np.ndarray, masks: Mapping[str, np.ndarray], ks: Sequence[int] = DEFAULT_KS
) -> dict[str, dict[str, object]]:
    """acc@k on each subset, with its size (a subset may be empty: NaN)."""
    return {name: {"n": int(mask.sum()), "acc": accuracy_at_k(ranks[mask], ks)} for name, mask in masks.items()}
