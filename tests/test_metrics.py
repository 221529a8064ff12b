"""Tests for bench.metrics (DESIGN.md section 3) and bench.linker.rank.

Every expected value below is worked out by hand in the comment next to it.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bench.linker import Candidate, rank
from bench.mention import Mention, parse_gold_ids
from bench.metrics import (
    RULES,
    accuracy_at_k,
    correct_at,
    hit_rank,
    hit_ranks,
    leakage_masks,
    mention_hit_rank,
    subset_accuracy,
)


def C(name: str, *ids: str, score: float = 1.0) -> Candidate:
    return Candidate(name, frozenset(ids), score)


def gold(*ids: str) -> frozenset[str]:
    return frozenset(ids)


def mention(mention_id: str, text: str, raw_ids: str, parts: tuple[Mention, ...] = ()) -> Mention:
    groups = parse_gold_ids(raw_ids)
    return Mention(mention_id, text, frozenset().union(*groups), gold_groups=groups, parts=parts)


# --- hit_rank under the three rules -----------------------------------------

# (candidates, gold, expected hit rank under union, dedup, strict)
CASES = {
    # An ambiguous name (D1, D2) at rank 2. union: rank 2 meets {D2}. dedup: the
    # id list is D9, D1, D2 (inside rank 2 sorted), so D2 is 3rd. strict: rank 2
    # also carries the non-gold D1, rank 3 is D3: never a hit.
    "ambiguous name": (
        [C("x", "D9"), C("amb", "D2", "D1"), C("y", "D3")],
        gold("D2"),
        (2, 3, None),
    ),
    # The same list against a composite gold {D1, D2}: the ambiguous name is
    # entirely gold, so strict accepts it too.
    "ambiguous name, composite gold": (
        [C("x", "D9"), C("amb", "D2", "D1"), C("y", "D3")],
        gold("D1", "D2"),
        (2, 2, 2),
    ),
    # Three synonyms of D1 fill the top ranks; the gold D2 is the 4th name but
    # only the 2nd distinct id.
    "synonyms fill the top": (
        [C("heart attack", "D1"), C("myocardial infarction", "D1"), C("mi", "D1"), C("angina", "D2")],
        gold("D2"),
        (4, 2, 4),
    ),
    # Ids repeated across ranks are dropped by dedup: D1, D2 | D2, D3 -> D1, D2, D3.
    # strict: rank 2 also carries the non-gold D2.
    "duplicate ids across ranks": (
        [C("a", "D1", "D2"), C("b", "D2", "D3")],
        gold("D3"),
        (2, 3, None),
    ),
    # A name that maps to no concept contributes nothing: union and strict skip
    # rank 1, dedup lists no id for it, so D1 is the 1st id.
    "name without ids first": (
        [C("unknown name"), C("x", "D1")],
        gold("D1"),
        (2, 1, 2),
    ),
    # Ids inside a rank are sorted before dedup: {D2, D1} lists D1 first.
    "sorted inside a rank, first id": (
        [C("amb", "D2", "D1")],
        gold("D1"),
        (1, 1, None),
    ),
    "sorted inside a rank, second id": (
        [C("amb", "D2", "D1")],
        gold("D2"),
        (1, 2, None),
    ),
    "gold at rank 1": ([C("a", "D1"), C("b", "D2")], gold("D1"), (1, 1, 1)),
    "never a hit": ([C("a", "D1"), C("b", "D2")], gold("D3"), (None, None, None)),
    "empty prediction": ([], gold("D1"), (None, None, None)),
    # No gold ids (an unresolvable annotation): nothing can hit, not even an
    # empty id set under strict (empty <= empty must not count).
    "empty gold": ([C("unknown name"), C("a", "D1")], gold(), (None, None, None)),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
@pytest.mark.parametrize("rule", ["union", "dedup", "strict"])
def test_hit_rank(case: str, rule: str) -> None:
    candidates, gold_ids, expected = CASES[case]
    assert hit_rank(candidates, gold_ids, rule) == dict(zip(("union", "dedup", "strict"), expected))[rule]


def test_default_rule_is_union() -> None:
    candidates = [C("x", "D9"), C("amb", "D1", "D2")]
    assert hit_rank(candidates, gold("D2")) == 2  # dedup would say 3, strict None


def test_rules_constant_names_the_three_rules() -> None:
    assert set(RULES) == {"union", "dedup", "strict"}


def test_unknown_rule_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="lenient"):
        hit_rank([C("a", "D1")], gold("D1"), "lenient")  # type: ignore[arg-type]


def test_synonyms_hit_at_k_differs_between_union_and_dedup() -> None:
    # The point of the dedup rule: at k=2 union misses, dedup hits.
    candidates = [C("heart attack", "D1"), C("myocardial infarction", "D1"), C("angina", "D2")]
    union = hit_ranks([mention("m", "chest pain", "D2")], {"m": candidates}, "union")
    dedup = hit_ranks([mention("m", "chest pain", "D2")], {"m": candidates}, "dedup")
    assert accuracy_at_k(union, [2, 3]) == {2: 0.0, 3: 1.0}
    assert accuracy_at_k(dedup, [2, 3]) == {2: 1.0, 3: 1.0}


# --- composite mode ------------------------------------------------------------


@pytest.fixture
def composite_mention() -> Mention:
    parts = (
        Mention("m#1", "breast cancer", frozenset({"D1"})),
        Mention("m#2", "ovarian cancer", frozenset({"D2"})),
    )
    return mention("m", "breast and ovarian cancer", "D1|D2", parts)


def test_composite_uses_the_worst_part(composite_mention: Mention) -> None:
    predictions = {
        "m": [C("breast cancer", "D1")],  # the whole mention: rank 1
        "m#1": [C("x", "D9"), C("breast cancer", "D1")],  # part 1: rank 2
        "m#2": [C("ovarian cancer", "D2")],  # part 2: rank 1
    }
    assert mention_hit_rank(composite_mention, predictions, composite=True) == 2
    assert mention_hit_rank(composite_mention, predictions, composite=False) == 1


def test_composite_every_part_must_hit(composite_mention: Mention) -> None:
    predictions = {
        "m": [C("breast cancer", "D1")],
        "m#1": [C("breast cancer", "D1")],
        "m#2": [C("x", "D9"), C("y", "D8")],  # part 2 never hits
    }
    assert mention_hit_rank(composite_mention, predictions, composite=True) is None
    assert mention_hit_rank(composite_mention, predictions, composite=False) == 1


def test_composite_missing_part_prediction_is_a_miss(composite_mention: Mention) -> None:
    predictions = {"m": [C("breast cancer", "D1")], "m#1": [C("breast cancer", "D1")]}
    assert mention_hit_rank(composite_mention, predictions, composite=True) is None
    assert mention_hit_rank(composite_mention, predictions, composite=False) == 1


def test_composite_parts_do_not_need_the_whole_mention_prediction(composite_mention: Mention) -> None:
    predictions = {"m#1": [C("breast cancer", "D1")], "m#2": [C("x", "D9"), C("ovarian cancer", "D2")]}
    assert mention_hit_rank(composite_mention, predictions, composite=True) == 2
    assert mention_hit_rank(composite_mention, predictions, composite=False) is None


def test_composite_parts_are_checked_against_the_whole_gold(composite_mention: Mention) -> None:
    # BioSyn's evaluation (documented in bench.metrics): a part is a hit when it
    # meets any of the whole mention's gold ids.
    predictions = {"m#1": [C("ovarian cancer", "D2")], "m#2": [C("breast cancer", "D1")]}
    assert mention_hit_rank(composite_mention, predictions, composite=True) == 1


def test_composite_mode_passes_the_rule_on(composite_mention: Mention) -> None:
    predictions = {
        "m#1": [C("amb", "D1", "D7")],  # union 1, dedup 1, strict never
        "m#2": [C("a", "D5"), C("b", "D6"), C("ovarian cancer", "D2")],  # rank 3 under every rule
    }
    assert mention_hit_rank(composite_mention, predictions, "union", composite=True) == 3
    assert mention_hit_rank(composite_mention, predictions, "dedup", composite=True) == 3
    assert mention_hit_rank(composite_mention, predictions, "strict", composite=True) is None


def test_composite_mode_scores_a_mention_without_parts_as_usual() -> None:
    plain = mention("p", "breast cancer", "D1")
    predictions = {"p": [C("x", "D9"), C("breast cancer", "D1")]}
    assert mention_hit_rank(plain, predictions, composite=True) == 2
    assert mention_hit_rank(plain, predictions, composite=False) == 2


def test_mention_without_prediction_is_a_miss() -> None:
    assert mention_hit_rank(mention("p", "breast cancer", "D1"), {}) is None


# --- acc@k -----------------------------------------------------------------------


def test_hit_ranks_and_accuracy_count_missing_predictions_as_errors() -> None:
    mentions = [mention(i, "t", "D1") for i in ("a", "b", "c", "d")]
    predictions = {
        "a": [C("n", "D1")],  # rank 1
        "b": [C("n", "D7"), C("n", "D8"), C("n", "D1")],  # rank 3
        "c": [C("n", "D7")],  # no hit
        # "d": no prediction at all
    }
    ranks = hit_ranks(mentions, predictions)
    assert ranks.tolist() == [1.0, 3.0, math.inf, math.inf]
    # 4 mentions, not 3 answers: acc@1 = 1/4, acc@2 = 1/4, acc@3 = 2/4.
    assert accuracy_at_k(ranks, [1, 2, 3, 10]) == {1: 0.25, 2: 0.25, 3: 0.5, 10: 0.5}
    assert correct_at(ranks, 3).tolist() == [True, True, False, False]


def test_accuracy_default_ks_are_one_to_ten() -> None:
    acc = accuracy_at_k(np.array([1.0, 5.0, math.inf, 10.0]))
    assert list(acc) == list(range(1, 11))
    assert acc[1] == 0.25 and acc[4] == 0.25 and acc[5] == 0.5 and acc[9] == 0.5 and acc[10] == 0.75


def test_accuracy_of_no_mentions_is_nan() -> None:
    acc = accuracy_at_k(np.array([], dtype=float), [1, 5])
    assert list(acc) == [1, 5]
    assert all(math.isnan(v) for v in acc.values())


# --- leakage subsets -------------------------------------------------------------


def test_leakage_masks() -> None:
    training = [
        mention("tr1", "breast cancer", "D1"),
        mention("tr2", "colon and lung tumours", "D2|D3"),  # a composite in dev: both ids seen
    ]
    test = [
        mention("t1", "Breast  Cancer", "D1"),  # string seen (case, spaces); concept seen
        mention("t2", "BREAST CANCER", "D5"),  # string seen; concept unseen (zero-shot)
        mention("t3", "ovarian cancer", "D2"),  # string unseen; concept seen
        mention("t4", "breast cancers", "D1|D4"),  # string unseen; D4 unseen -> concept unseen
        mention("t5", "\uff42reast\tcancer", "D2+D3"),  # fullwidth b, tab: NFKC -> seen; both ids seen
        Mention("t6", "nothing", frozenset()),  # no gold: never a seen concept
    ]
    masks = leakage_masks(test, training)
    assert set(masks) == {"mention_seen", "mention_unseen", "concept_seen", "concept_unseen"}
    assert masks["mention_seen"].tolist() == [True, True, False, False, True, False]
    assert masks["concept_seen"].tolist() == [True, False, True, False, True, False]
    assert masks["mention_unseen"].tolist() == [False, False, True, True, False, True]
    assert masks["concept_unseen"].tolist() == [False, True, False, True, False, True]


def test_leakage_masks_with_no_training() -> None:
    masks = leakage_masks([mention("t1", "breast cancer", "D1")], [])
    assert masks["mention_unseen"].tolist() == [True]
    assert masks["concept_unseen"].tolist() == [True]


def test_subset_accuracy() -> None:
    ranks = np.array([1.0, math.inf, 2.0, 1.0, math.inf, 5.0])
    masks = {
        "a": np.array([True, True, True, False, False, False]),  # ranks 1, inf, 2
        "b": np.array([False, False, False, True, True, True]),  # ranks 1, inf, 5
        "empty": np.zeros(6, dtype=bool),
    }
    result = subset_accuracy(ranks, masks, [1, 2, 5])
    assert result["a"]["n"] == 3
    assert result["a"]["acc"] == pytest.approx({1: 1 / 3, 2: 2 / 3, 5: 2 / 3})
    assert result["b"]["n"] == 3
    assert result["b"]["acc"] == pytest.approx({1: 1 / 3, 2: 1 / 3, 5: 2 / 3})
    assert result["empty"]["n"] == 0
    assert all(math.isnan(v) for v in result["empty"]["acc"].values())


# --- bench.linker.rank -------------------------------------------------------------

TIED = [
    C("b", "D2", score=0.5),
    C("a", "D3", score=0.5),
    C("a", "D1", score=0.5),
    C("c", "D1", score=0.9),
    C("a", "D1", "D0", score=0.5),
    C("z", "D4", score=0.1),
]
# Score first (0.9), then the 0.5 ties by name ("a" < "b"), the three "a" by
# their sorted ids: (D0, D1) < (D1,) < (D3,); then 0.1.
EXPECTED_ORDER = [
    C("c", "D1", score=0.9),
    C("a", "D0", "D1", score=0.5),
    C("a", "D1", score=0.5),
    C("a", "D3", score=0.5),
    C("b", "D2", score=0.5),
    C("z", "D4", score=0.1),
]


def test_rank_breaks_ties_by_name_then_ids_whatever_the_input_order() -> None:
    for permutation in itertools.permutations(TIED):
        assert rank(permutation, 10) == EXPECTED_ORDER


def test_rank_cuts_at_k() -> None:
    for permutation in itertools.permutations(TIED):
        assert rank(permutation, 3) == EXPECTED_ORDER[:3]
    assert rank(TIED, 0) == []
    assert rank(iter(TIED), 100) == EXPECTED_ORDER  # any iterable, fewer than k


def test_rank_refuses_a_nan_score_rather_than_order_at_random() -> None:
    # NaN compares false with everything, so no deterministic order exists.
    candidates = [C("a", "D1", score=1.0), C("b", "D2", score=float("nan")), C("c", "D3", score=0.5)]
    for permutation in itertools.permutations(candidates):
        with pytest.raises(ValueError, match="NaN score"):
            rank(permutation, 3)
