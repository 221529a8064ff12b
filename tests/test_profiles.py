"""The protocol profiles on hand-made documents: each step of BioSyn's and GenBioEL's preparation.

The documents are written here in PubTator form and parsed by the harness's own reader, so every
step (abbreviation expansion, normalisation, composites, dropping, KB augmentation and
de-duplication) is seen on a case whose answer is known from the peers' code.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.benchmark import Benchmark
from bench.benchmarks.abbreviations import choose_expander
from bench.benchmarks.gold import resolve_gold
from bench.benchmarks.medic import medic_id
from bench.benchmarks.profile_genbioel import (
    aap_phrase,
    clean_aap_training,
    deduplicate_names,
    split_bc5cdr_composite,
)
from bench.benchmarks.profiles import ProfileInputs, apply_profile
from bench.benchmarks.pubtator import pubtator_mentions, read_pubtator
from bench.errors import BenchError
from bench.kb import KnowledgeBase
from bench.mention import Mention
from bench.protocols import canonical_profile, profile_record, run_profile

TRAIN = """\
100|t|Breast cancer (BC) in women.
100|a|BC and ovarian cancer are common.
100	0	13	Breast cancer	SpecificDisease	D001943
100	29	31	BC	SpecificDisease	D001943
100	29	50	BC and ovarian cancer	CompositeMention	D001943|D010051
100	36	43	ovarian	Modifier	OMIM:999999

100|t|Breast cancer (BC) in women.
100|a|BC and ovarian cancer are common.
100	0	13	Breast cancer	SpecificDisease	D001943

"""
DEV = """\
200|t|Ovarian tumour.
200|a|Nothing else.
200	0	14	Ovarian tumour	SpecificDisease	D010051

"""
TEST = """\
300|t|Hereditary breast/ovarian cancer syndrome.
300|a|Breast and ovarian cancer (BOC) is studied.
300	0	41	Hereditary breast/ovarian cancer syndrome	CompositeMention	D001943|D010051
300	43	68	Breast and ovarian cancer	CompositeMention	D001943|D010051|OMIM:114480
300	70	73	BOC	SpecificDisease	D001943

"""
MEDIC = """\
D001943|114480||Breast Neoplasms|Breast Cancer|Mammary Neoplasms
D010051||Ovarian Neoplasms|Ovarian Cancer|Ovary Neoplasm
"""


@pytest.fixture(scope="module")
def ncbi_like(tmp_path_factory) -> tuple[Benchmark, ProfileInputs]:
    folder = tmp_path_factory.mktemp("ncbi")
    from bench.benchmarks.medic import read_medic_flat

    (folder / "medic.txt").write_text(MEDIC)
    kb = read_medic_flat(folder / "medic.txt")
    documents, splits = {}, {}
    for split, text in (("train", TRAIN), ("dev", DEV), ("test", TEST)):
        path = folder / f"{split}.txt"
        path.write_text(text)
        documents[split] = read_pubtator(path)
        splits[split] = resolve_gold(pubtator_mentions(documents[split], path=path), kb, medic_id)
    official = Benchmark("ncbi-like", splits, kb)
    inputs = ProfileInputs("ncbi-disease", documents, expander=choose_expander(), cache_dir=folder / "abbr")
    return official, inputs


def by_span(benchmark: Benchmark, split: str) -> dict[str, Mention]:
    return {m.id.split(":", 1)[1]: m for m in benchmark.split(split)}


def test_official_is_the_benchmark_as_loaded(ncbi_like) -> None:
    official, inputs = ncbi_like
    result = apply_profile(official, "official", inputs)
    assert result.protocol == "official" and result.splits == official.splits and not result.steps
    assert by_span(result, "test")["0-41"].text == "Hereditary breast/ovarian cancer syndrome"


def test_biosyn_expands_normalises_resolves_and_drops(ncbi_like) -> None:
    official, inputs = ncbi_like
    biosyn = apply_profile(official, "biosyn", inputs)
    test = by_span(biosyn, "test")
    # composite resolution: BioSyn's greedy slash pattern, then lower-case and punctuation removal keeping |
    slash = test["0-41"]
    assert slash.text == "hereditary breast|hereditary ovarian cancer syndrome"
    assert [p.text for p in slash.parts] == ["hereditary breast", "hereditary ovarian cancer syndrome"]
    assert all(p.gold_ids == {"D001943", "D010051"} for p in slash.parts)  # BioSyn's scorer: any id, any part
    # the OMIM rule: mixed with MeSH ids, OMIM:114480 goes; then the trivial pattern splits
    mixed = test["43-68"]
    assert mixed.text == "breast cancer|ovarian cancer" and mixed.gold_ids == {"D001943", "D010051"}
    # Ab3P's short form, replaced token by token (the document defines BOC)
    assert test["70-73"].text == "breast and ovarian cancer"
    train = by_span(biosyn, "train")
    assert train["29-31"].text == "breast cancer"  # BC expanded
    assert "36-43" not in train  # OMIM:999999 is not in MEDIC: --remove_cuiless drops it
    assert len([m for m in biosyn.split("train") if m.id.startswith("100#2")]) == 0  # the repeated PMID is gone
    # dev merged into train; NCBI's typo list turns "tumour" into "tumor"
    assert biosyn.split("dev") == () and any(m.text == "ovarian tumor" for m in biosyn.split("train"))
    steps = biosyn.steps
    assert steps["train"]["dropped: an id is not in the dictionary"] == 1
    assert steps["train"]["dropped: mention of a repeated document"] == 1
    assert steps["train"]["dev mentions merged into train"] == 1
    assert steps["test"]["composite split"] == 2 and steps["test"]["abbreviation expanded"] == 1
    assert steps["test"]["OMIM ids dropped from a mixed composite"] == 1


def test_biosyn_dictionary_is_processed_names_plus_train_and_dev_strings(ncbi_like) -> None:
    official, inputs = ncbi_like
    kb = apply_profile(official, "biosyn", inputs).kb
    assert kb.concepts["D001943"][:3] == ("breast neoplasms", "breast cancer", "mammary neoplasms")
    assert "ovarian tumor" in kb.concepts["D010051"]  # a dev string (test_dictionary = dev_dictionary + dev)
    # a composite training string enters as "a b" under each of its ids. "BC and ovarian cancer" is
    # expanded first ("Breast cancer and ovarian cancer"), and BioSyn's trivial pattern then reads
    # "Breast cancer" as the modifier list and "cancer" as the stem: "breast cancer cancer|ovarian cancer"
    assert "breast cancer cancer ovarian cancer" in kb.concepts["D001943"]
    assert "breast cancer cancer ovarian cancer" in kb.concepts["D010051"]
    assert kb.resolve_id("OMIM:114480") == "D001943"
    assert not any("hereditary" in n for names in kb.concepts.values() for n in names)  # never a test string


def test_the_typo_list_is_for_ncbi_only() -> None:
    from bench.benchmarks.biosyn_composites import biosyn_query
    from bench.benchmarks.peer_text import NCBI_TYPOS

    assert biosyn_query("Tumour", "D1", {}, {"D1"}, NCBI_TYPOS) == ("tumor", "D1")
    assert biosyn_query("Tumour", "D1", {}, {"D1"}, None) == ("tumour", "D1")


def test_genbioel_ncbi_keeps_the_first_piece_and_removes_training_composites(ncbi_like) -> None:
    official, inputs = ncbi_like
    genbioel = apply_profile(official, "genbioel", inputs)
    test = by_span(genbioel, "test")
    assert test["0-41"].text == "hereditary breast" and test["0-41"].gold_ids == {"D001943", "D010051"}
    assert test["0-41"].parts == ()
    assert not any(len(m.gold_ids) > 1 for m in genbioel.split("train"))
    assert genbioel.steps["train"]["dropped: train mention with several ids (training only)"] == 1
    assert len(genbioel.split("dev")) == 1 and any(m.id.startswith("dev:") for m in genbioel.split("train"))
    fixed = apply_profile(official, "genbioel-fixed", inputs)
    assert [p.text for p in by_span(fixed, "test")["0-41"].parts] == [
        "hereditary breast",
        "hereditary ovarian cancer syndrome",
    ]


def test_profiles_change_the_checksums_and_record_the_expander(ncbi_like) -> None:
    official, inputs = ncbi_like
    records = {p: apply_profile(official, p, inputs).checksums["protocol"] for p in ("official", "biosyn", "genbioel")}
    assert records["official"] == {"profile": "official", "version": 1, "expander": None}
    assert records["biosyn"]["expander"] == inputs.expander.identity
    other = ProfileInputs(inputs.family, inputs.documents, expander=choose_expander("schwartz-hearst"))
    flagged = apply_profile(official, "biosyn", other)
    assert flagged.checksums["protocol"] != apply_profile(official, "biosyn", inputs).checksums["protocol"]
    assert "abbreviation_fallback" in flagged.flags


# --- GenBioEL's BC5CDR, KB de-duplication, AskAPatient, COMETA ---------------------------------------

BC5CDR = """\
400|t|Lung and liver toxicity by CsA.
400|a|Cyclosporin A (CsA) induced renal or hepatic damage.
400	0	23	Lung and liver toxicity	Disease	D008171|D056486	Lung toxicity|liver toxicity
400	27	30	CsA	Chemical	D016572
400	32	45	Cyclosporin A	Chemical	D016572
400	60	83	renal or hepatic damage	Disease	D007674|D056486	renal damage|hepatic damage
400	60	83	renal or hepatic damage	Chemical	-1
400	9	23	liver toxicity	Disease	D056486|D008171|D000001	x|y|z

"""


def test_bc5cdr_composite_splits_follow_genbioel() -> None:
    from bench.benchmarks.pubtator import Annotation

    both = Annotation(62, 79, "renal or hepatic damage", "Disease", "D1|D2", ("renal damage|hepatic damage",), 1)
    assert split_bc5cdr_composite(both) == [(62, 67, "renal", "D1"), (71, 85, "hepatic damage", "D2")]
    joined = Annotation(0, 11, "lung kidney", "Disease", "D1|D2", ("lung|kidney",), 1)
    assert split_bc5cdr_composite(joined) == [(0, 4, "lung", "D1"), (5, 11, "kidney", "D2")]
    three = Annotation(0, 11, "a, b and c", "Disease", "D1|D2|D3", ("a|b|c",), 1)
    assert split_bc5cdr_composite(three) is None  # no branch handles it: dropped


def test_genbioel_bc5cdr(tmp_path: Path) -> None:
    path = tmp_path / "test.txt"
    path.write_text(BC5CDR)
    documents = {"train": [], "dev": [], "test": read_pubtator(path)}
    kb = KnowledgeBase(
        "mesh",
        {
            "D008171": ["Lung Diseases"],
            "D056486": ["Chemical and Drug Induced Liver Injury", "Drug-Induced Liver Injury"],
            "D007674": ["Kidney Diseases", "liver injury"],
            "D016572": ["Cyclosporine", "Cyclosporin A"],
        },
    )
    official = Benchmark("bc5cdr", {"train": [], "dev": [], "test": pubtator_mentions(documents["test"])}, kb)
    inputs = ProfileInputs("bc5cdr", documents, entity_types=("Chemical", "Disease"), expander=choose_expander())
    genbioel = apply_profile(official, "genbioel", inputs)
    test = {m.id.split(":", 1)[1]: m for m in genbioel.split("test")}
    assert test["0-4"].text == "lung" and test["0-4"].gold_ids == {"D008171"}  # ' and ' split, zip of ids
    assert test["9-23"].text == "liver toxicity"
    assert test["27-30"].text == "cyclosporin a"  # CsA is a short form of its document: the long form
    assert test["32-45"].text == "cyclosporin a"
    steps = genbioel.steps["test"]
    assert steps["dropped: id not in the KB"] == 1  # -1
    assert steps["dropped: composite its script cannot split"] == 1  # three ids, no rule
    names = genbioel.kb.concepts
    assert names["D056486"] == (
        "drug induced liver injury",
        "chemical and drug induced liver injury",
    )  # conv, by length
    assert "liver injury" in names["D007674"]


def test_deduplicate_keeps_a_shared_name_for_the_id_with_fewest_names() -> None:
    concepts = {"A": ["x", "a1", "a2"], "B": ["x", "b1"], "C": ["x", "c1"]}
    assert deduplicate_names(concepts) == 2
    assert concepts == {"A": ["a1", "a2"], "B": ["x", "b1"], "C": ["c1"]}  # B and C tie: B is first in KB order
    lonely = {"A": ["x"], "B": ["x"]}
    deduplicate_names(lonely)
    assert lonely == {"A": ["x"], "B": []}  # BC5CDR/COMETA: an id may be left empty (then leaves the KB)
    lonely = {"A": ["x"], "B": ["x"]}
    deduplicate_names(lonely, keep_last_name=True)
    assert lonely == {"A": ["x"], "B": ["x"]}  # AskAPatient: never an id's last name


def test_aap_phrase_and_cleaning() -> None:
    assert aap_phrase(" Sore  throat, (bad) ") == " sore  throat   bad  "  # no strip, no collapse
    mentions = [
        Mention("fold0:train:1", "Headache", frozenset({"1"})),
        Mention("fold0:train:2", "Headache", frozenset({"1"})),  # same id, phrase = label: dropped
        Mention("fold0:train:3", "head hurts", frozenset({"1"})),
        Mention("fold0:train:4", "Headache", frozenset({"1"})),  # the previous *kept* line has id 1: dropped
        Mention("fold0:train:5", "Headache", frozenset({"2"})),
    ]
    labels = {m.id: "Headache" for m in mentions}
    counts: Counter = Counter()
    kept = clean_aap_training(mentions, labels, counts)
    assert [m.id for m in kept] == ["fold0:train:1", "fold0:train:3", "fold0:train:5"]
    assert sum(counts.values()) == 2


def test_cometa_drops_mentions_whose_gold_is_not_in_the_kb() -> None:
    kb = KnowledgeBase("snomed", {"1": ["Sore throat"], "2": ["Headache", "headache"]})
    test = [Mention("test:1", "Sore Throat", frozenset({"1"})), Mention("test:2", "migraine", frozenset({"3"}))]
    result = apply_profile(
        Benchmark("cometa", {"train": [], "dev": [], "test": test}, kb), "genbioel", ProfileInputs("cometa")
    )
    assert [m.text for m in result.split("test")] == ["sore throat"]
    assert result.steps["test"]["dropped: id not in the KB"] == 1
    assert result.kb.concepts["2"] == ("headache",)


# --- names, aliases, legacy runs -----------------------------------------------------------------


def test_angel_is_an_alias_of_genbioel_and_unknown_names_are_refused() -> None:
    assert canonical_profile("angel") == "genbioel"
    assert profile_record("angel") == {"profile": "genbioel", "profile_version": 1}
    with pytest.raises(BenchError, match="unknown protocol profile 'bogus'"):
        canonical_profile("bogus")


def test_runs_from_before_profile_versions_that_say_angel_read_as_official() -> None:
    assert run_profile({"profile": "angel"}) == "official"
    assert run_profile({"profile": "genbioel", "profile_version": 1}) == "genbioel"
    assert run_profile({}) == "official"


def test_a_profile_a_benchmark_lacks_is_refused() -> None:
    from bench.benchmarks.profiles import check_profile

    with pytest.raises(BenchError, match="has no protocol profile 'biosyn'"):
        check_profile("cometa", "cometa", "biosyn")
    with pytest.raises(BenchError, match="one entity type at a time"):
        check_profile("bc5cdr", "bc5cdr", "biosyn")
