"""Tests for the data model: Mention, KnowledgeBase, Benchmark, normalize_name."""

from __future__ import annotations

import dataclasses

import pytest

from bench.benchmark import Benchmark
from bench.kb import KnowledgeBase
from bench.mention import Mention, parse_gold_ids
from bench.normalize import normalize_name

# --- normalize_name ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Breast  Cancer", "breast cancer"),
        ("  Breast\tCancer\n", "breast cancer"),
        ("BREAST\u00a0CANCER", "breast cancer"),  # no-break space is whitespace after NFKC
        ("\ufb01brosis", "fibrosis"),  # the "fi" ligature
        ("\uff22reast cancer", "breast cancer"),  # fullwidth B
        ("Tooth Agenesis, Selective, 6", "tooth agenesis, selective, 6"),  # punctuation kept
        ("", ""),
    ],
)
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_normalize_name_keeps_punctuation_apart() -> None:
    assert normalize_name("Tooth Agenesis, Selective, 6") != normalize_name("tooth agenesis selective 6")


def test_normalize_name_is_idempotent() -> None:
    for raw in ["Breast  Cancer", "\ufb01brosis X", " A\u00a0B "]:
        once = normalize_name(raw)
        assert normalize_name(once) == once


# --- Mention -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "groups"),
    [
        ("D1", ({"D1"},)),
        ("D1|D2", ({"D1"}, {"D2"})),
        ("D1+D2", ({"D1"}, {"D2"})),
        ("D1|D2+OMIM:3", ({"D1"}, {"D2"}, {"OMIM:3"})),
        (" D1 | D2 ", ({"D1"}, {"D2"})),
        ("D1|", ({"D1"},)),
        ("", ()),
    ],
)
def test_parse_gold_ids(raw: str, groups: tuple[set[str], ...]) -> None:
    assert parse_gold_ids(raw) == tuple(frozenset(g) for g in groups)


def make(mention_id: str, raw_ids: str, text: str = "breast cancer", **kwargs: object) -> Mention:
    groups = parse_gold_ids(raw_ids)
    return Mention(mention_id, text, frozenset().union(*groups), gold_groups=groups, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("raw", "composite"), [("D1|D2", True), ("D1+D2", True), ("D1", False)])
def test_composite_flag(raw: str, composite: bool) -> None:
    m = make("m", raw)
    assert m.composite is composite
    assert m.gold_ids == frozenset(raw.replace("+", "|").split("|"))


def test_mention_without_groups_is_not_composite_even_with_two_ids() -> None:
    # An ambiguous annotation given as a plain id set is one group.
    m = Mention("m", "cancer", {"D1", "D2"})  # type: ignore[arg-type]
    assert isinstance(m.gold_ids, frozenset)
    assert m.gold_groups == (frozenset({"D1", "D2"}),)
    assert not m.composite


def test_mention_needs_an_id() -> None:
    with pytest.raises(ValueError):
        Mention("", "cancer", frozenset({"D1"}))


def test_mention_equality_ignores_context() -> None:
    a = Mention("m", "cancer", frozenset({"D1"}), context="one document")
    b = Mention("m", "cancer", frozenset({"D1"}), context="another document")
    assert a == b
    assert "one document" not in repr(a)
    assert a != Mention("m", "cancer", frozenset({"D2"}))


def test_with_gold() -> None:
    original = make("m", "OMIM:1|MESH:D2", doc_id="100", span=(3, 16), context="x", entity_type="Disease")
    resolved = original.with_gold([{"D1"}, {"D2"}])
    assert resolved.gold_ids == frozenset({"D1", "D2"})
    assert resolved.gold_groups == (frozenset({"D1"}), frozenset({"D2"}))
    assert resolved.composite
    # everything else is kept, and the original is untouched (frozen record)
    assert (resolved.id, resolved.text, resolved.doc_id, resolved.span) == ("m", "breast cancer", "100", (3, 16))
    assert (resolved.context, resolved.entity_type) == ("x", "Disease")
    assert original.gold_ids == frozenset({"OMIM:1", "MESH:D2"})
    single = original.with_gold([{"D1"}])
    assert single.gold_ids == frozenset({"D1"}) and not single.composite


def test_mention_is_frozen() -> None:
    m = make("m", "D1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.text = "other"  # type: ignore[misc]


# --- KnowledgeBase --------------------------------------------------------------


def small_kb(**kwargs: object) -> KnowledgeBase:
    return KnowledgeBase(
        "toy",
        {
            "D1": ["Breast Cancer", "Mammary carcinoma", " Breast Cancer ", ""],  # repeat and blank dropped
            "D2": ["breast  cancer", "Other name"],  # shares "breast cancer" with D1 after normalisation
            "D3": ["\ufb01brosis"],  # "fibrosis" after NFKC
        },
        **kwargs,  # type: ignore[arg-type]
    )


def test_kb_keeps_names_in_order_without_repeats_or_blanks() -> None:
    kb = small_kb()
    assert kb.concepts["D1"] == ("Breast Cancer", "Mammary carcinoma")
    assert kb.preferred_name("D1") == "Breast Cancer"
    assert kb.preferred_name("D2") == "breast  cancer"


def test_kb_name_index() -> None:
    kb = small_kb()
    assert kb.ids_for_name("Breast Cancer") == frozenset({"D1", "D2"})  # a shared name maps to both
    assert kb.ids_for_name("  BREAST\tcancer ") == frozenset({"D1", "D2"})
    assert kb.ids_for_name("mammary carcinoma") == frozenset({"D1"})
    assert kb.ids_for_name("fibrosis") == frozenset({"D3"})  # NFKC on the KB side
    assert kb.ids_for_name("\uff26ibrosis") == frozenset({"D3"})  # and on the query side
    assert kb.ids_for_name("unknown") == frozenset()
    assert kb.names == ("breast cancer", "fibrosis", "mammary carcinoma", "other name")


def test_kb_counts() -> None:
    kb = small_kb()
    assert kb.n_concepts == len(kb) == 3
    assert kb.n_names == 4  # breast cancer, mammary carcinoma, other name, fibrosis
    assert kb.n_synonym_pairs == 5  # D1: 2, D2: 2, D3: 1
    assert kb.n_ambiguous_names == 1  # breast cancer
    summary = kb.summary()
    assert (summary["concepts"], summary["names"], summary["synonym_pairs"], summary["ambiguous_names"]) == (
        3,
        4,
        5,
        1,
    )


def test_kb_concept_without_a_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="D9"):
        KnowledgeBase("toy", {"D1": ["a"], "D9": [" ", ""]})


def test_resolve_id() -> None:
    kb = small_kb(alt_ids={"OMIM:1": "D1", "OMIM:2": "D3"})
    assert kb.resolve_id("D2") == "D2"
    assert kb.resolve_id("OMIM:1") == "D1"
    assert kb.resolve_id("OMIM:2") == "D3"
    assert kb.resolve_id("OMIM:404") is None
    assert "OMIM:1" in kb and "D2" in kb
    assert "OMIM:404" not in kb


def test_alt_id_that_is_a_concept_resolves_to_itself() -> None:
    kb = small_kb(alt_ids={"D2": "D1", "OMIM:1": "D1"})
    assert kb.resolve_id("D2") == "D2"
    assert kb.alt_ids == {"OMIM:1": "D1"}


def test_alt_id_pointing_at_an_unknown_concept_is_rejected() -> None:
    with pytest.raises(ValueError, match="D404"):
        small_kb(alt_ids={"OMIM:1": "D404"})


def test_kb_checksum_ignores_insertion_order() -> None:
    a = KnowledgeBase("a", {"D1": ["x", "y"], "D2": ["z"]}, {"O:1": "D1", "O:2": "D2"})
    b = KnowledgeBase("b", {"D2": ["z"], "D1": ["x", "y"]}, {"O:2": "D2", "O:1": "D1"})
    assert a.checksum == b.checksum
    assert len(a.checksum) == 64


@pytest.mark.parametrize(
    ("concepts", "alt_ids", "closed_world"),
    [
        ({"D1": ["x", "y2"], "D2": ["z"]}, {"O:1": "D1"}, False),  # a name changed
        ({"D1": ["x", "y"], "D2": ["z", "w"]}, {"O:1": "D1"}, False),  # a name added
        ({"D1": ["x", "y"], "D3": ["z"]}, {"O:1": "D1"}, False),  # an id changed
        ({"D1": ["x", "y"], "D2": ["z"]}, {"O:1": "D2"}, False),  # an alt id moved
        ({"D1": ["x", "y"], "D2": ["z"]}, {"O:1": "D1"}, True),  # closed-world flag
    ],
)
def test_kb_checksum_changes_with_content(
    concepts: dict[str, list[str]], alt_ids: dict[str, str], closed_world: bool
) -> None:
    base = KnowledgeBase("a", {"D1": ["x", "y"], "D2": ["z"]}, {"O:1": "D1"})
    other = KnowledgeBase("a", concepts, alt_ids, closed_world=closed_world)
    assert other.checksum != base.checksum


# --- Benchmark ---------------------------------------------------------------------


def kb() -> KnowledgeBase:
    return KnowledgeBase("toy", {"D1": ["breast cancer"], "D2": ["ovarian cancer"]})


def bench(splits: dict[str, list[Mention]], name: str = "toy") -> Benchmark:
    return Benchmark(name=name, splits=splits, kb=kb())


def test_benchmark_rejects_duplicate_mention_ids_in_a_split() -> None:
    with pytest.raises(ValueError, match="'m1'") as error:
        bench({"train": [make("m0", "D1")], "test": [make("m1", "D1"), make("m1", "D2", text="other")]})
    assert "test" in str(error.value)


def test_benchmark_allows_the_same_id_in_different_splits() -> None:
    b = bench({"train": [make("m1", "D1")], "test": [make("m1", "D1")]})
    assert len(b.split("train")) == len(b.split("test")) == 1


def test_split_returns_the_mentions_in_order() -> None:
    mentions = [make("b", "D1"), make("a", "D2")]
    assert list(bench({"test": mentions}).split("test")) == mentions


def test_unknown_split_error_lists_the_splits() -> None:
    b = bench({"train": [make("a", "D1")], "dev": [], "test": [make("b", "D1")]})
    with pytest.raises(KeyError) as error:
        b.split("tset")
    message = str(error.value)
    assert "tset" in message
    for name in ("train", "dev", "test"):
        assert name in message


def test_split_checksum() -> None:
    mentions = [make("a", "D1", context="doc one"), make("b", "D1|D2", text="breast and ovarian cancer")]
    base = bench({"test": mentions}).split_checksum("test")
    assert len(base) == 64

    # Context (and the benchmark's name) do not matter for scoring.
    recontext = [dataclasses.replace(m, context="rewritten document") for m in mentions]
    assert bench({"test": recontext}, name="renamed").split_checksum("test") == base

    # A changed gold id, a changed mention text, a dropped mention do.
    regold = [mentions[0].with_gold([{"D2"}]), mentions[1]]
    assert bench({"test": regold}).split_checksum("test") != base
    retext = [dataclasses.replace(mentions[0], text="mammary cancer"), mentions[1]]
    assert bench({"test": retext}).split_checksum("test") != base
    assert bench({"test": mentions[:1]}).split_checksum("test") != base


def test_split_checksum_depends_only_on_its_split() -> None:
    test = [make("a", "D1")]
    one = bench({"train": [make("t", "D1")], "test": test})
    two = bench({"train": [make("t", "D2")], "test": test})
    assert one.split_checksum("test") == two.split_checksum("test")
    assert one.split_checksum("train") != two.split_checksum("train")
    assert one.checksums["splits"]["test"] == one.split_checksum("test")
    assert one.checksums["kb"] == one.kb.checksum


def test_training_mentions_are_train_then_dev() -> None:
    train, dev, test = [make("t1", "D1"), make("t2", "D2")], [make("d1", "D1")], [make("x", "D1")]
    assert bench({"test": test, "dev": dev, "train": train}).training_mentions() == (*train, *dev)
    assert bench({"train": train, "test": test}).training_mentions() == tuple(train)
    assert bench({"test": test}).training_mentions() == ()
