"""BC5CDR: loaders on hand-written fixtures (always) and on the official files (when present)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from conftest import assert_card_figures

from bench.benchmark import Benchmark
from bench.benchmarks.bc5cdr import (
    CTD_CHEMICALS,
    CTD_DISEASES,
    MEDIC_FLAT,
    SPLITS,
    load_bc5cdr,
    load_bc5cdr_chemical,
    load_bc5cdr_disease,
)
from bench.benchmarks.ctd import kb_definitions, read_ctd_chemicals
from bench.benchmarks.prepare import prepare
from bench.errors import BenchError, DataFormatError
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
    for benchmark in (
        load_bc5cdr_chemical(data_dir=fixture_data, profile="official"),
        load_bc5cdr(data_dir=fixture_data, profile="official"),
    ):
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


MEDIC_LINES = (
    "D003556||Cystitis|Cystitides\n"
    "D006470||Hemorrhage|Bleeding|Hemorrhages\n"
    "D007022||Hypotension|Low Blood Pressure\n"
    "D001943||Breast Neoplasms|Breast Cancer\n"
    "D010051||Ovarian Neoplasms|Ovarian Cancer\n"
)


def test_biosyn_takes_the_seventh_column_as_the_mention(fixture_data: Path) -> None:
    with pytest.raises(BenchError, match=r"needs ncbi-disease/medic_06Jul2012\.txt"):
        load_bc5cdr_disease(data_dir=fixture_data, profile="biosyn")
    medic = fixture_data / "raw" / MEDIC_FLAT
    medic.parent.mkdir(parents=True, exist_ok=True)
    medic.write_text(MEDIC_LINES)
    disease = load_bc5cdr_disease(data_dir=fixture_data, profile="biosyn")
    assert disease.protocol == "biosyn" and disease.split("dev") == ()
    assert disease.kb.name.startswith("MEDIC (06 Jul 2012)")
    train = {m.text: m for m in disease.split("train")}
    # bc5cdr_preprocess.py: a 7th column with as many "|" as the ids stands for the mention
    cystitis = train["hemorrhagic|cystitis"]
    assert [p.text for p in cystitis.parts] == ["hemorrhagic", "cystitis"]
    assert cystitis.gold_ids == {"D006470", "D003556"}
    # no 7th column: BioSyn's composite patterns
    assert [p.text for p in train["breast cancer|ovarian cancer"].parts] == ["breast cancer", "ovarian cancer"]
    assert "hypotensive" in train and train["hypotensive"].parts == ()
    # hypertension (D006973) is not in this MEDIC: --remove_cuiless drops the test mention
    assert disease.split("test") == ()
    assert disease.steps["test"]["dropped: an id is not in the dictionary"] == 1
    chemical = load_bc5cdr_chemical(data_dir=fixture_data, profile="biosyn")
    assert "closed_world_kb" in chemical.flags and chemical.kb.closed_world
    glutathione = next(m for m in chemical.split("train") if m.composite)
    assert [p.text for p in glutathione.parts] == ["oxidized glutathione", "reduced glutathione"]
    assert "nalozone" not in {m.text for m in chemical.split("train")}  # gold -1


def test_biosyn_prepares_one_entity_type_at_a_time(fixture_data: Path) -> None:
    with pytest.raises(BenchError, match="bc5cdr-disease or bc5cdr-chemical"):
        load_bc5cdr(data_dir=fixture_data, profile="biosyn")


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
    return {name: loader(data_dir=prepared, profile="official") for name, loader in LOADERS.items()}


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


def test_card_figures_are_what_the_harness_computes(prepared: Path) -> None:
    skipped = assert_card_figures("bc5cdr", prepared)
    assert not any("official" in s for s in skipped)


def test_biosyn_profile_on_bc5cdr_disease(prepared: Path, official: dict[str, Benchmark]) -> None:
    biosyn = BENCHMARKS.get("bc5cdr-disease")(data_dir=prepared, profile="biosyn")
    steps = biosyn.steps
    # --remove_cuiless against MEDIC 2012: gold -1 and ids MEDIC lacks are dropped, per split
    dropped = {s: steps[s]["dropped: an id is not in the dictionary"] for s in ("train", "dev", "test")}
    assert dropped == {"train": 51, "dev": 66, "test": 137}
    assert len(biosyn.split("train")) == 4182 - 51 + 4244 - 66 and biosyn.split("dev") == ()
    assert len(biosyn.split("test")) == 4424 - 137 == 4287
    # Ab3P expands about 9% of the test mentions (DESIGN.md section 2a)
    assert steps["test"]["abbreviation expanded"] == 389
    assert biosyn.kb.name.startswith("MEDIC (06 Jul 2012)")
    assert steps["kb"]["train+dev mention strings added as names"] == 1384
    composite = [m for m in biosyn.split("test") if m.composite]
    assert len(composite) == 62 and sum(bool(m.parts) for m in composite) == 52
    hc = next(m for m in biosyn.split("train") if m.text == "hemorrhagic|cystitis")
    assert [p.text for p in hc.parts] == ["hemorrhagic", "cystitis"]  # from the 7th column
