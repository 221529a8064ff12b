"""Protocol profiles (angel, biosyn) and the composite-mention splitter, on hand-made data."""

from __future__ import annotations

import pytest

from bench.benchmark import Benchmark
from bench.benchmarks.composite import candidate_splits, split_composite
from bench.benchmarks.gold import resolve_gold
from bench.benchmarks.profiles import apply_profile, augment_kb, effective_groups, with_parts
from bench.errors import BenchError
from bench.kb import KnowledgeBase
from bench.mention import Mention, parse_gold_ids

# --- composite splitting ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("breast and ovarian cancer", ["breast cancer", "ovarian cancer"]),
        ("breast and/or ovarian cancer", ["breast cancer", "ovarian cancer"]),
        ("breast or ovarian cancer", ["breast cancer", "ovarian cancer"]),
        (
            "colorectal, endometrial, and ovarian cancers",
            ["colorectal cancers", "endometrial cancers", "ovarian cancers"],
        ),
        ("Duchenne and Becker muscular dystrophy", ["Duchenne muscular dystrophy", "Becker muscular dystrophy"]),
        ("cancer of the breast and ovaries", ["cancer of the breast", "cancer of the ovaries"]),
        (
            "cancer of the renal pelvis, ureter or bladder",
            ["cancer of the renal pelvis", "cancer of the ureter", "cancer of the bladder"],
        ),
        ("impairments in learning and memory", ["impairments in learning", "impairments in memory"]),
        ("colorectal adenomas and carcinoma", ["colorectal adenomas", "colorectal carcinoma"]),
        ("spinocerebellar ataxias 1 and 2", ["spinocerebellar ataxias 1", "spinocerebellar ataxias 2"]),
        ("complement deficiencies (C2 and C7)", ["complement deficiencies C2", "complement deficiencies C7"]),
        ("Duchenne/Becker muscular dystrophy", ["Duchenne muscular dystrophy", "Becker muscular dystrophy"]),
        ("cleft lip/palate", ["cleft lip", "cleft palate"]),
        ("colorectal, or other, cancers", ["colorectal cancers", "other cancers"]),
    ],
)
def test_split_composite_coordination(text: str, expected: list[str]) -> None:
    assert split_composite(text, len(expected)) == expected


def test_split_needs_the_number_of_id_groups() -> None:
    # three conjuncts, two ids: no split (the caller keeps the whole text)
    assert split_composite("retinal, cerebellar and spinal haemangioblastomas", 2) is None
    assert split_composite("retinal, cerebellar and spinal haemangioblastomas", 3) == [
        "retinal haemangioblastomas",
        "cerebellar haemangioblastomas",
        "spinal haemangioblastomas",
    ]
    assert split_composite("breast and ovarian cancer", 1) is None


def test_no_coordination_no_split() -> None:
    assert candidate_splits("renal hamartomas") == {}
    assert split_composite("renal hamartomas", 2) is None
    # BioSyn's last resort (one piece per token) only on request
    assert split_composite("renal hamartomas", 2, token_fallback=True) == ["renal", "hamartomas"]


def test_slash_is_not_used_with_and_or() -> None:
    assert "slash" not in candidate_splits("breast and/or ovarian cancer")


def test_prepositional_rule_wins_over_shared_modifier() -> None:
    # both rules give three pieces; the first rule (prepositional) is the right reading
    rules = candidate_splits("cancer of the renal pelvis, ureter or bladder")
    assert list(rules)[0] == "prepositional"


# --- a tiny benchmark -----------------------------------------------------------


def _mention(mid: str, text: str, ids: str) -> Mention:
    groups = parse_gold_ids(ids)
    return Mention(mid, text, frozenset().union(*groups), doc_id=mid.split(":")[0], gold_groups=groups)


@pytest.fixture
def kb() -> KnowledgeBase:
    return KnowledgeBase(
        "tiny",
        {
            "D1": ["breast neoplasm"],
            "D2": ["ovarian neoplasm"],
            "D3": ["cold"],
            "C9": ["cat eye syndrome"],
        },
        {"OMIM:1": "D1", "OMIM:9": "C9"},
        closed_world=True,
        notes=["built by hand"],
    )


@pytest.fixture
def benchmark(kb: KnowledgeBase) -> Benchmark:
    train = [
        _mention("1:0-13", "breast cancer", "D1"),
        _mention("1:20-45", "breast and ovarian cancer", "D1|D2"),
        _mention("1:50-60", "mystery", "-1"),
    ]
    dev = [
        _mention("2:0-14", "ovarian tumour", "D2"),
        _mention("1:0-13", "breast carcinoma", "D1"),  # same id as a train mention
    ]
    test = [
        _mention("3:0-12", "common chill", "D3"),
        _mention("3:20-51", "cancer of the breast and ovaries", "D1|D2"),
        _mention("3:60-76", "renal hamartomas", "D1+D2"),
        _mention("3:80-96", "cat eye syndrome", "C9|OMIM:9"),
    ]
    test = resolve_gold(test, kb)  # as a loader does: OMIM:9 -> C9
    return Benchmark("tiny", {"train": train, "dev": dev, "test": test}, kb, flags={"closed_world_kb": "by hand"})


def test_angel_profile_is_the_benchmark_as_loaded(benchmark: Benchmark) -> None:
    assert apply_profile(benchmark, "angel") is benchmark
    assert apply_profile(benchmark, "angel").protocol == "angel"


def test_unknown_profile_is_refused(benchmark: Benchmark) -> None:
    with pytest.raises(BenchError, match="biosyn"):
        apply_profile(benchmark, "sapbert")


def test_biosyn_merges_train_and_dev(benchmark: Benchmark) -> None:
    biosyn = apply_profile(benchmark, "biosyn")
    assert biosyn.protocol == "biosyn"
    assert biosyn.split("dev") == ()
    ids = [m.id for m in biosyn.split("train")]
    assert len(ids) == 5 == len(set(ids))
    assert "dev:1:0-13" in ids  # a clashing dev id is prefixed, not lost
    assert [m.text for m in biosyn.split("train")][3:] == ["ovarian tumour", "breast carcinoma"]
    assert [m.id for m in biosyn.split("test")] == [m.id for m in benchmark.split("test")]
    assert biosyn.flags == benchmark.flags
    assert benchmark.protocol == "angel" and len(benchmark.split("dev")) == 2  # the input is not modified


def test_biosyn_kb_gets_training_strings_only(benchmark: Benchmark) -> None:
    kb = apply_profile(benchmark, "biosyn").kb
    assert kb.ids_for_name("breast cancer") == {"D1"}
    assert kb.ids_for_name("ovarian tumour") == {"D2"}
    assert kb.ids_for_name("breast carcinoma") == {"D1"}  # from dev
    assert kb.ids_for_name("breast and ovarian cancer") == frozenset()  # composite: not a synonym
    assert kb.ids_for_name("mystery") == frozenset()  # gold not in the KB
    assert kb.ids_for_name("common chill") == frozenset()  # test strings never
    assert kb.closed_world is True
    assert kb.alt_ids == benchmark.kb.alt_ids
    assert kb.notes[0] == "built by hand" and "3 train+dev mention strings" in kb.notes[-1]
    assert benchmark.kb.ids_for_name("breast cancer") == frozenset()  # the original KB is untouched


def test_augment_kb_resolves_alternative_ids(kb: KnowledgeBase) -> None:
    augmented = augment_kb(kb, [_mention("a", "mammary cancer", "OMIM:1")])
    assert augmented.ids_for_name("mammary cancer") == {"D1"}


def test_augment_kb_keeps_definitions(kb: KnowledgeBase) -> None:
    kb.definitions = {"D1": "a tumour of the breast"}  # type: ignore[attr-defined]
    assert augment_kb(kb, []).definitions == {"D1": "a tumour of the breast"}  # type: ignore[attr-defined]


def test_biosyn_composite_parts(benchmark: Benchmark) -> None:
    test = {m.text: m for m in apply_profile(benchmark, "biosyn").split("test")}
    assert test["common chill"].parts == ()
    split = test["cancer of the breast and ovaries"]
    assert [p.text for p in split.parts] == ["cancer of the breast", "cancer of the ovaries"]
    assert [p.id for p in split.parts] == ["3:20-51#1", "3:20-51#2"]
    assert [p.gold_ids for p in split.parts] == [{"D1"}, {"D2"}]
    assert split.gold_ids == {"D1", "D2"}  # the mention's own gold is unchanged
    whole = test["renal hamartomas"]  # no coordination: each part is the whole text
    assert [p.text for p in whole.parts] == ["renal hamartomas", "renal hamartomas"]
    assert [p.gold_ids for p in whole.parts] == [{"D1"}, {"D2"}]
    # both groups name one concept once resolved (C9|OMIM:9): one group left, no parts
    assert test["cat eye syndrome"].parts == ()
    train = {m.text: m for m in apply_profile(benchmark, "biosyn").split("train")}
    assert [p.text for p in train["breast and ovarian cancer"].parts] == ["breast cancer", "ovarian cancer"]


def test_corpus_parts_are_preferred(benchmark: Benchmark) -> None:
    biosyn = apply_profile(benchmark, "biosyn", split_parts={"3:60-76": ("renal hamartoma", "hamartoma of kidney")})
    parts = {m.id: m.parts for m in biosyn.split("test")}["3:60-76"]
    assert [p.text for p in parts] == ["renal hamartoma", "hamartoma of kidney"]
    # pieces that do not match the id groups one to one are ignored
    biosyn = apply_profile(benchmark, "biosyn", split_parts={"3:60-76": ("renal hamartoma",)})
    parts = {m.id: m.parts for m in biosyn.split("test")}["3:60-76"]
    assert [p.text for p in parts] == ["renal hamartomas", "renal hamartomas"]


def test_effective_groups() -> None:
    d1, d2, o1 = frozenset({"D1"}), frozenset({"D2"}), frozenset({"OMIM:1"})
    assert effective_groups((d1, d1)) == [d1]
    assert effective_groups((d2, o1, d2)) == [d2, o1]


def test_with_parts_leaves_single_concept_mentions_alone() -> None:
    mention = _mention("x", "breast and ovarian cancer", "D1")
    assert with_parts(mention, ("breast cancer", "ovarian cancer")) is mention


def test_parts_change_the_split_checksum(benchmark: Benchmark) -> None:
    biosyn = apply_profile(benchmark, "biosyn")
    assert biosyn.split_checksum("test") != benchmark.split_checksum("test")
