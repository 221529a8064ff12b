"""BC5CDR: loaders on hand-written fixtures (always) and on the official files (when present)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from conftest import assert_card_values_match

from bench.benchmark import Benchmark
from bench.benchmarks.bc5cdr import (
    CTD_CHEMICALS,
    CTD_DISEASES,
    SPLITS,
    load_bc5cdr,
    load_bc5cdr_chemical,
    load_bc5cdr_disease,
)
from bench.benchmarks.card import read_card
from bench.benchmarks.ctd import kb_definitions, read_ctd_chemicals
from bench.benchmarks.prepare import prepare
from bench.errors import DataFormatError
from bench.normalize import normalize_name
from bench.registry import BENCHMARKS
from bench.stats import benchmark_stats

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CARD = REPO / "datasets" / "bc5cdr" / "README.md"
LOADERS = {"bc5cdr": load_bc5cdr, "bc5cdr-disease": load_bc5cdr_disease, "bc5cdr-chemical": load_bc5cdr_chemical}
OFFICIAL = {
    "Chemical": {"train": 5203, "dev": 5347, "test": 5385},
    "Disease": {"train": 4182, "dev": 4244, "test": 4424},
}


def _gz(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.compress(source.read_bytes()))


# --- CTD_chemicals parser ---------------------------------------------------------


def test_ctd_chemicals_parser() -> None:
    kb = read_ctd_chemicals(FIXTURES / "ctd" / "CTD_chemicals.tsv")
    assert len(kb) == 6 and not kb.alt_ids
    assert kb.concepts["D019803"] == ("Glutathione Disulfide", "Oxidized Glutathione", "GSSG")
    assert kb.ids_for_name("narcan") == {"D009270"}
    assert kb_definitions(kb)["D009270"] == "An opioid antagonist (fixture text)."


def test_ctd_chemicals_without_header_uses_the_default_layout(tmp_path: Path) -> None:
    target = tmp_path / "CTD_chemicals.tsv"
    target.write_text("Water\tMESH:D014867\t7732-18-5\t\t\t\t\tH2O|Dihydrogen oxide\n")
    assert read_ctd_chemicals(target).concepts == {"D014867": ("Water", "H2O", "Dihydrogen oxide")}
    target.write_text("Water\tMESH:D014867\t7732-18-5\t\t\t\t\tH2O\textra\n")
    with pytest.raises(DataFormatError, match=r"expected 8 tab-separated columns.*got 9") as error:
        read_ctd_chemicals(target)
    assert error.value.line == 1


# --- loaders on fixtures ----------------------------------------------------------------


@pytest.fixture
def fixture_data(tmp_path: Path) -> Path:
    """A data dir laid out as ``prepare`` leaves it, from the hand-written fixtures (no CTD chemicals)."""
    for name in SPLITS.values():
        target = tmp_path / "raw" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / "bc5cdr" / Path(name).name, target)
    _gz(FIXTURES / "ctd" / "CTD_diseases.tsv", tmp_path / "raw" / CTD_DISEASES)
    return tmp_path


def test_fixture_variants(fixture_data: Path) -> None:
    both = load_bc5cdr(data_dir=fixture_data, profile="official")
    disease = load_bc5cdr_disease(data_dir=fixture_data, profile="official")
    chemical = load_bc5cdr_chemical(data_dir=fixture_data, profile="official")
    assert {s: len(m) for s, m in both.splits.items()} == {"train": 7, "dev": 4, "test": 5}
    assert {s: len(m) for s, m in disease.splits.items()} == {"train": 3, "dev": 1, "test": 1}
    assert {s: len(m) for s, m in chemical.splits.items()} == {"train": 4, "dev": 3, "test": 4}
    assert {m.entity_type for m in disease.split("train")} == {"Disease"}
    assert not disease.kb.closed_world and "closed_world_kb" not in disease.flags
    assert len(disease.kb) == 8


def test_minus_one_is_kept_and_missing_from_the_kb(fixture_data: Path) -> None:
    chemical = load_bc5cdr_chemical(data_dir=fixture_data, profile="official")
    nalozone = [m for m in chemical.split("train") if m.text == "nalozone"]
    assert len(nalozone) == 1 and nalozone[0].gold_ids == {"-1"}
    assert "-1" not in chemical.kb.concepts
    assert benchmark_stats(chemical)["splits"]["train"]["mentions_with_gold_missing_from_kb"] == 1


def test_closed_world_chemicals_from_train_and_dev_only(fixture_data: Path) -> None:
    for benchmark in (load_bc5cdr_chemical(data_dir=fixture_data, profile="official"), load_bc5cdr(data_dir=fixture_data, profile="official")):
        kb = benchmark.kb
        assert kb.closed_world is True
        assert "CTD_chemicals" in benchmark.flags["closed_world_kb"]
        assert any("closed-world" in note for note in kb.notes)
        assert kb.ids_for_name("naloxone") == {"D009270"}  # "Naloxone" in train
        assert kb.ids_for_name("clonidine") == {"D003000"}
        assert kb.ids_for_name("oxidized glutathione") == {"D019803"}  # 7th column of a dev composite
        assert kb.ids_for_name("cisplatin") == {"D002945"}  # dev
        assert kb.ids_for_name("tacrolimus") == frozenset()  # test only
        assert "D016559" not in kb.concepts
        assert kb.ids_for_name("nalozone") == frozenset()  # gold -1
    both = load_bc5cdr(data_dir=fixture_data, profile="official").kb
    assert both.ids_for_name("hypertension") == {"D006973"}  # the disease part is CTD's
    chemical = load_bc5cdr_chemical(data_dir=fixture_data, profile="official").kb
    assert set(chemical.concepts) == {"D009270", "D003000", "D019803", "D005978", "D002945"}
    assert chemical.concepts["D003000"] == ("clonidine", "Clonidine")


def test_real_ctd_chemicals_lift_the_flag(fixture_data: Path) -> None:
    _gz(FIXTURES / "ctd" / "CTD_chemicals.tsv", fixture_data / "raw" / CTD_CHEMICALS)
    for loader in (load_bc5cdr, load_bc5cdr_chemical):
        benchmark = loader(data_dir=fixture_data)
        assert not benchmark.kb.closed_world and "closed_world_kb" not in benchmark.flags
        assert benchmark.kb.ids_for_name("prograf") == {"D016559"}
        assert CTD_CHEMICALS in benchmark.source_files


def test_seventh_column_gives_the_biosyn_parts(fixture_data: Path) -> None:
    biosyn = load_bc5cdr(data_dir=fixture_data, profile="biosyn")
    assert biosyn.protocol == "biosyn" and biosyn.split("dev") == ()
    assert "closed_world_kb" in biosyn.flags and biosyn.kb.closed_world
    train = {m.text: m for m in biosyn.split("train")}
    # no coordination in the text: only the corpus's 7th column can split it
    assert [p.text for p in train["hemorrhagic cystitis"].parts] == ["hemorrhagic", "cystitis"]
    assert [p.gold_ids for p in train["hemorrhagic cystitis"].parts] == [{"D006470"}, {"D003556"}]
    assert [p.text for p in train["Oxidized and reduced glutathione"].parts] == [
        "Oxidized glutathione",
        "reduced glutathione",
    ]
    # no 7th column: the coordination heuristic
    assert [p.text for p in train["breast and ovarian cancer"].parts] == ["breast cancer", "ovarian cancer"]
    assert train["Naloxone"].parts == ()


# --- the official files -----------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    if not (SHARED_DATA / "bc5cdr").is_dir() or not (SHARED_DATA / "ctd" / "CTD_diseases.tsv.gz").is_file():
        pytest.skip(f"official BC5CDR/CTD files not found under {SHARED_DATA}")
    if (SHARED_DATA / CTD_CHEMICALS).is_file():
        pytest.skip("these checks are written for the offline case, without CTD chemicals")
    data_dir = tmp_path_factory.mktemp("bc5cdr-data")
    prepare("bc5cdr", from_dir=SHARED_DATA, data_dir=data_dir, log=lambda *a: None)
    return data_dir


@pytest.fixture(scope="module")
def official(prepared: Path) -> dict[str, Benchmark]:
    return {name: loader(data_dir=prepared) for name, loader in LOADERS.items()}


def test_official_counts(official: dict[str, Benchmark]) -> None:
    for split in ("train", "dev", "test"):
        both = official["bc5cdr"].split(split)
        for entity_type, counts in OFFICIAL.items():
            assert sum(m.entity_type == entity_type for m in both) == counts[split]
        assert len(official["bc5cdr-chemical"].split(split)) == OFFICIAL["Chemical"][split]
        assert len(official["bc5cdr-disease"].split(split)) == OFFICIAL["Disease"][split]
        assert len({m.doc_id for m in both}) == 500


def test_official_kbs(official: dict[str, Benchmark]) -> None:
    disease, chemical, both = official["bc5cdr-disease"], official["bc5cdr-chemical"], official["bc5cdr"]
    assert len(disease.kb) == 11865 and not disease.kb.closed_world and not disease.flags
    assert chemical.kb.closed_world and chemical.flags["closed_world_kb"]
    assert both.kb.closed_world and both.flags["closed_world_kb"]
    assert len(both.kb) == len(disease.kb) + len(chemical.kb)
    # every disease id but -1 resolves in CTD diseases
    missing = {i for m in disease.training_mentions() + disease.split("test") for i in m.gold_ids} - set(
        disease.kb.concepts
    )
    assert missing == {"-1"}
    assert sum(m.gold_ids == {"-1"} for m in disease.split("test")) == 61


def test_no_test_only_chemical_string_in_the_closed_world_kb(official: dict[str, Benchmark]) -> None:
    chemical = official["bc5cdr-chemical"]
    training = {normalize_name(m.text) for m in chemical.training_mentions()}
    test_only = {normalize_name(m.text) for m in chemical.split("test")} - training
    assert len(test_only) > 100
    names = set(chemical.kb.name_index)
    assert not test_only & names
    training_ids = {i for m in chemical.training_mentions() for i in m.gold_ids}
    assert set(chemical.kb.concepts) <= training_ids


def test_card_stats_are_what_stats_computes(official: dict[str, Benchmark]) -> None:
    card = read_card(CARD)
    assert set(card["stats"]) == set(card["variants"]) == set(LOADERS)
    assert set(card["baselines"]["tfidf"]) == set(LOADERS)
    for variant, benchmark in official.items():
        assert_card_values_match(card["stats"][variant], benchmark_stats(benchmark), variant)


def test_biosyn_profile_on_bc5cdr_disease(prepared: Path, official: dict[str, Benchmark]) -> None:
    angel = official["bc5cdr-disease"]
    biosyn = BENCHMARKS.get("bc5cdr-disease")(data_dir=prepared, profile="biosyn")
    assert len(biosyn.split("train")) == 4182 + 4244 and biosyn.split("dev") == ()
    assert [m.gold_ids for m in biosyn.split("test")] == [m.gold_ids for m in angel.split("test")]
    assert biosyn.kb.n_names > angel.kb.n_names
    composite = [m for m in biosyn.split("test") if m.composite]
    assert len(composite) == 63 and all(m.parts for m in composite)
    hc = next(m for m in biosyn.split("train") if m.text == "hemorrhagic cystitis")
    assert [p.text for p in hc.parts] == ["hemorrhagic", "cystitis"]  # from the 7th column
