"""Preference pairs from a model's own beams (ANGEL, DESIGN.md section 6).

Each of the top-k beams of a training mention is labelled correct when its ids
meet the gold ids (the ANGEL/GenBioEL rule). ANGEL's rule then pairs:

* the rank-1 beam, if correct, with the first wrong beam;
* every lower-ranked correct beam with each wrong beam ranked above it;

at most ``max_pairs`` per mention. Mentions whose beams are all right or all
wrong give no pair, and the gold name is not injected (the paper does not);
both are options here because they are ablations worth running.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Beam:
    name: str
    ids: frozenset[str]


def label_beams(beams: Sequence[Beam], gold: frozenset[str]) -> list[bool]:
    return [bool(b.ids & gold) for b in beams]


def angel_pairs(beams: Sequence[Beam], correct: Sequence[bool], max_pairs: int = 6) -> list[tuple[str, str]]:
    """(chosen, rejected) names by ANGEL's rule, in a deterministic order."""
    pairs: list[tuple[str, str]] = []
    wrong_positions = [i for i, ok in enumerate(correct) if not ok]
    if not wrong_positions or all(not ok for ok in correct):
        return []
    if correct[0]:
        pairs.append((beams[0].name, beams[wrong_positions[0]].name))
    for position in range(1, len(beams)):
        if not correct[position]:
            continue
        for above in wrong_positions:
            if above >= position:
                break
            pairs.append((beams[position].name, beams[above].name))
    return _unique(pairs)[:max_pairs]


def all_pairs(beams: Sequence[Beam], correct: Sequence[bool], max_pairs: int = 0) -> list[tuple[str, str]]:
    """Every (correct, wrong) combination (the "all pairs" ablation); max_pairs 0 = no cap."""
    pairs = [(c.name, w.name) for c, ok in zip(beams, correct) if ok for w, bad in zip(beams, correct) if not bad]
    pairs = _unique(pairs)
    return pairs[:max_pairs] if max_pairs else pairs


def inject_gold(
    beams: Sequence[Beam], correct: Sequence[bool], gold_name: str, max_pairs: int = 6
) -> list[tuple[str, str]]:
    """When no beam is correct: the gold name against the wrong beams, best first (an ablation)."""
    if any(correct):
        return []
    return _unique([(gold_name, b.name) for b in beams if b.name != gold_name])[:max_pairs]


def _unique(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(p for p in pairs if p[0] != p[1]))
