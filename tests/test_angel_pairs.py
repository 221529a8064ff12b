"""ANGEL's preference pairs on hand-made beams, one rule at a time (DESIGN.md section 6)."""

from __future__ import annotations

from bench.generative.pairs import Beam, all_pairs, angel_pairs, inject_gold, label_beams

GOLD = frozenset({"G"})


def beams(*spec: str) -> list[Beam]:
    """'C' = a correct beam, 'W' = a wrong one; names are the letter and the rank."""
    return [
        Beam(f"{kind.lower()}{rank}", GOLD if kind == "C" else frozenset({f"X{rank}"}))
        for rank, kind in enumerate(spec, start=1)
    ]


def pairs_of(spec: str, rule=angel_pairs, **kwargs):
    b = beams(*spec)
    return rule(b, label_beams(b, GOLD), **kwargs)


def test_labels_follow_id_overlap_with_the_gold_set():
    b = [Beam("a", frozenset({"G", "Y"})), Beam("b", frozenset({"Y"})), Beam("c", frozenset())]
    assert label_beams(b, GOLD) == [True, False, False]


def test_rank_one_correct_is_paired_with_the_first_wrong_beam():
    assert pairs_of("CCWWW") == [("c1", "w3")]  # c2 has no wrong beam above it: no pair of its own
    assert pairs_of("CWWWW") == [("c1", "w2")]


def test_lower_ranked_correct_beams_are_paired_with_every_wrong_beam_above():
    assert pairs_of("WCWCW") == [("c2", "w1"), ("c4", "w1"), ("c4", "w3")]
    assert pairs_of("CWCWC") == [("c1", "w2"), ("c3", "w2"), ("c5", "w2"), ("c5", "w4")]


def test_all_right_or_all_wrong_mentions_give_no_pair():
    assert pairs_of("CCCCC") == []
    assert pairs_of("WWWWW") == []


def test_at_most_six_pairs_per_mention():
    spec = "WWWWWCCCCC"  # 5 correct beams below 5 wrong ones: 25 candidates
    assert len(pairs_of(spec)) == 6
    assert pairs_of(spec)[:5] == [("c6", f"w{i}") for i in range(1, 6)]
    assert len(pairs_of(spec, max_pairs=3)) == 3


def test_all_pairs_rule_takes_every_correct_wrong_combination():
    assert pairs_of("CWC", rule=all_pairs) == [("c1", "w2"), ("c3", "w2")]
    assert len(pairs_of("CCWWW", rule=all_pairs)) == 6
    assert len(pairs_of("WWWWWCCCCC", rule=all_pairs)) == 25


def test_gold_injection_only_when_no_beam_is_correct():
    b = beams("W", "W", "W")
    assert inject_gold(b, label_beams(b, GOLD), "gold name") == [
        ("gold name", "w1"),
        ("gold name", "w2"),
        ("gold name", "w3"),
    ]
    b = beams("W", "C")
    assert inject_gold(b, label_beams(b, GOLD), "gold name") == []


def test_a_name_is_never_paired_with_itself():
    b = [Beam("same", GOLD), Beam("same", frozenset({"X"}))]
    assert angel_pairs(b, [True, False]) == []
