"""Which names a generative linker is trained to generate (bench/generative/targets.py)."""

from __future__ import annotations

from bench.generative.targets import TargetSelector
from bench.kb import KnowledgeBase
from bench.mention import Mention

KB = KnowledgeBase("toy", {"1": ["muscle cramp", "cramp"], "2": ["fatigue", "tiredness"]})


def test_closest_name_is_the_target() -> None:
    selector = TargetSelector(KB)
    assert selector.targets(Mention("a", "calf cramp", frozenset({"1"}))) == ["cramp"]
    assert selector.targets(Mention("b", "x", frozenset({"9"}))) == []  # gold outside the KB: nothing to learn


def test_label_lines_follow_genbioel_aap() -> None:
    """A label that is a KB name (any concept's, compared lower-cased) adds one pair; others add none."""
    mentions = [
        Mention("a", "calf cramp", frozenset({"1"}), label="Cramp"),
        Mention("b", "wiped out", frozenset({"2"}), label="Exhaustion"),  # not a KB name
        Mention("c", "so tired", frozenset({"2"})),  # no label column (every corpus but AskAPatient)
    ]
    selector = TargetSelector(KB)
    assert selector.label_pairs(mentions) == [(mentions[0], "cramp")]
    plain = selector.training_pairs(mentions, 1)
    assert [(m.id, n) for m, n in plain] == [("a", "cramp"), ("b", "fatigue"), ("c", "tiredness")]
    with_labels = selector.training_pairs(mentions, 1, label_targets=True)
    assert [(m.id, n) for m, n in with_labels] == [*((m.id, n) for m, n in plain), ("a", "cramp")]
