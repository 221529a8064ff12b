"""NCBI-disease: the CTD diseases parser (fixtures), the -ctd variant, and the real files when present."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from conftest import assert_card_figures

from bench.benchmark import Benchmark
from bench.benchmarks.ctd import kb_definitions, read_ctd_diseases
from bench.benchmarks.ncbi import load_ncbi_disease, load_ncbi_disease_ctd
from bench.benchmarks.peer_text import biosyn_clean
from bench.benchmarks.prepare import prepare
from bench.errors import BenchError, DataFormatError

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CARD = REPO / "datasets" / "ncbi-disease" / "README.md"
needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "ncbi-disease").is_dir() or not (SHARED_DATA / "ctd" / "CTD_diseases.tsv.gz").is_file(),
    reason=f"official NCBI-disease/CTD files not found under {SHARED_DATA}",
)


# --- CTD_diseases parser (hand-written fixture) -------------------------------------


@pytest.fixture(scope="module")
def ctd_kb():
    return read_ctd_diseases(FIXTURES / "ctd" / "CTD_diseases.tsv")


def test_ctd_ids_are_spelled_as_in_the_corpora(ctd_kb) -> None:
    assert "D001943" in ctd_kb.concepts  # MESH: stripped
    assert "OMIM:300322" in ctd_kb.concepts  # OMIM: kept
    assert not any(cid.startswith("MESH:") for cid in ctd_kb.concepts)
    assert len(ctd_kb) == 8


def test_ctd_names_are_name_then_synonyms(ctd_kb) -> None:
    assert ctd_kb.concepts["D001943"] == ("Breast Neoplasms", "Breast Cancer", "Mammary Carcinoma")
    assert ctd_kb.ids_for_name("breast cancer") == {"D001943"}


def test_ctd_alternative_ids(ctd_kb) -> None:
    assert ctd_kb.resolve_id("OMIM:114480") == "D001943"
    assert ctd_kb.resolve_id("DO:DOID:2394") == "D010051"
    assert ctd_kb.resolve_id("D007926") == "OMIM:300322"  # an alternative MESH: id, prefix stripped


def test_ctd_shared_alternative_id_keeps_the_first_and_says_so(ctd_kb) -> None:
    # DO:DOID:0000001 is listed by C535918 (first) and OMIM:300322
    assert ctd_kb.resolve_id("DO:DOID:0000001") == "C535918"
    assert any("DO:DOID:0000001" in note and "first" in note for note in ctd_kb.notes)


def test_ctd_definitions_and_release(ctd_kb) -> None:
    definitions = kb_definitions(ctd_kb)
    assert definitions["D006973"] == "Raised arterial blood pressure (fixture text)."
    assert "D010051" not in definitions  # empty definitions are left out
    assert ctd_kb.report_created == "Mon Jan 01 00:00:00 EST 2024"
    assert "2024" in ctd_kb.name


def test_ctd_gzip_is_read(tmp_path: Path) -> None:
    target = tmp_path / "CTD_diseases.tsv.gz"
    target.write_bytes(gzip.compress((FIXTURES / "ctd" / "CTD_diseases.tsv").read_bytes()))
    assert read_ctd_diseases(target).concepts == read_ctd_diseases(FIXTURES / "ctd" / "CTD_diseases.tsv").concepts


def _with_row(tmp_path: Path, row: str) -> Path:
    target = tmp_path / "CTD_diseases.tsv"
    lines = (FIXTURES / "ctd" / "CTD_diseases.tsv").read_text().splitlines()
    target.write_text("\n".join([*lines, row]) + "\n")
    return target


def test_ctd_wrong_column_count_names_file_and_line(tmp_path: Path) -> None:
    target = _with_row(tmp_path, "Broken\tMESH:D999999\t\tno more columns")
    n_lines = len(target.read_text().splitlines())
    with pytest.raises(DataFormatError) as error:
        read_ctd_diseases(target)
    assert error.value.line == n_lines
    assert error.value.path == str(target)
    assert "expected 9 tab-separated columns" in str(error.value) and "got 4" in str(error.value)


def test_ctd_duplicate_concept_is_an_error(tmp_path: Path) -> None:
    target = _with_row(tmp_path, "Again\tMESH:D006973\t\t\t\t\t\t\t")
    with pytest.raises(DataFormatError, match="already defined on line"):
        read_ctd_diseases(target)


def test_ctd_header_without_needed_column(tmp_path: Path) -> None:
    target = tmp_path / "CTD_diseases.tsv"
    target.write_text("# Fields:\n# DiseaseName\tDiseaseID\n#\nX\tMESH:D1\n")
    with pytest.raises(DataFormatError, match="lacks the column"):
        read_ctd_diseases(target)


# --- the -ctd variant without and with its optional file (demo slice as the corpus) ----------


def _raw_from_demo(data_dir: Path) -> None:
    raw = data_dir / "raw" / "ncbi-disease"
    raw.mkdir(parents=True)
    demo = REPO / "datasets" / "demo"
    shutil.copyfile(demo / "train.pubtator.txt", raw / "NCBItrainset_corpus.txt")
    shutil.copyfile(demo / "dev.pubtator.txt", raw / "NCBIdevelopset_corpus.txt")
    shutil.copyfile(demo / "test.pubtator.txt", raw / "NCBItestset_corpus.txt")
    shutil.copyfile(demo / "medic_subset.txt", raw / "medic_06Jul2012.txt")


def test_ctd_variant_needs_its_file(tmp_path: Path) -> None:
    _raw_from_demo(tmp_path)
    assert (
        len(load_ncbi_disease(data_dir=tmp_path, profile="official").split("test")) == 195
    )  # the MEDIC variant still works
    with pytest.raises(BenchError, match=r"ctd/CTD_diseases\.tsv\.gz.*prepare ncbi-disease"):
        load_ncbi_disease_ctd(data_dir=tmp_path, profile="official")
    ctd = tmp_path / "raw" / "ctd" / "CTD_diseases.tsv.gz"
    ctd.parent.mkdir(parents=True)
    ctd.write_bytes(gzip.compress((FIXTURES / "ctd" / "CTD_diseases.tsv").read_bytes()))
    benchmark = load_ncbi_disease_ctd(data_dir=tmp_path, profile="official")
    assert benchmark.name == "ncbi-disease-ctd" and len(benchmark.kb) == 8
    assert [m.id for m in benchmark.split("test")] == [
        m.id for m in load_ncbi_disease(data_dir=tmp_path, profile="official").split("test")
    ]
    assert "ctd/CTD_diseases.tsv.gz" in benchmark.source_files


# --- the official files ---------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    if not (SHARED_DATA / "ncbi-disease").is_dir() or not (SHARED_DATA / "ctd" / "CTD_diseases.tsv.gz").is_file():
        pytest.skip(f"official NCBI-disease/CTD files not found under {SHARED_DATA}")
    data_dir = tmp_path_factory.mktemp("ncbi-data")
    prepare("ncbi-disease", from_dir=SHARED_DATA, data_dir=data_dir, log=lambda *a: None)
    return data_dir


@pytest.fixture(scope="module")
def ncbi(prepared: Path) -> Benchmark:
    return load_ncbi_disease(data_dir=prepared, profile="official")


@pytest.fixture(scope="module")
def ncbi_biosyn(prepared: Path) -> Benchmark:
    return load_ncbi_disease(data_dir=prepared, profile="biosyn")


@needs_shared
def test_official_counts(ncbi: Benchmark, prepared: Path) -> None:
    assert {s: len(m) for s, m in ncbi.splits.items()} == {"train": 5145, "dev": 787, "test": 960}
    assert len(ncbi.kb) == 11915
    ctd = load_ncbi_disease_ctd(data_dir=prepared, profile="official")
    assert {s: len(m) for s, m in ctd.splits.items()} == {"train": 5145, "dev": 787, "test": 960}
    assert len(ctd.kb) == 11865 and not ctd.kb.closed_world
    assert len(kb_definitions(ctd.kb)) > 4000


@needs_shared
def test_card_figures_are_what_the_harness_computes(prepared: Path) -> None:
    skipped = assert_card_figures("ncbi-disease", prepared)
    assert not any("official" in s for s in skipped)


@needs_shared
def test_biosyn_merges_train_and_dev(ncbi: Benchmark, ncbi_biosyn: Benchmark) -> None:
    assert ncbi_biosyn.protocol == "biosyn"
    # BioSyn's parse keeps the first copy of PMID 8528200 (11 mentions): 5,134 train + 787 dev queries
    assert len(ncbi_biosyn.split("train")) == 5134 + 787
    assert ncbi_biosyn.steps["train"]["dropped: mention of a repeated document"] == 11
    assert ncbi_biosyn.split("dev") == ()
    assert [m.id for m in ncbi_biosyn.split("test")] == [m.id for m in ncbi.split("test")]
    # gold ids change only where the OMIM rule drops OMIM ids beside MeSH ids in a composite
    changed = [
        (a.gold_ids, b.gold_ids)
        for a, b in zip(ncbi.split("test"), ncbi_biosyn.split("test"))
        if a.gold_ids != b.gold_ids
    ]
    assert len(changed) == ncbi_biosyn.steps["test"]["OMIM ids dropped from a mixed composite"] == 2
    assert all(new < old and not any(i.startswith("OMIM:") for i in new) for old, new in changed)


@needs_shared
def test_biosyn_kb_is_the_test_dictionary(ncbi: Benchmark, ncbi_biosyn: Benchmark) -> None:
    kb = ncbi_biosyn.kb
    assert set(kb.concepts) == set(ncbi.kb.concepts)
    # 73,024 distinct names: the size of BioSyn's published NCBI test_dictionary.txt (DESIGN.md section 8)
    assert kb.n_names == 73024
    assert ncbi_biosyn.steps["kb"]["train+dev mention strings added as names"] == 1243
    for mention in ncbi_biosyn.split("train"):
        if len(mention.gold_ids) == 1 and not mention.parts:
            assert mention.gold_ids <= kb.ids_for_name(mention.text), mention
    # no test string enters the dictionary unless it is a processed MEDIC name
    medic = {biosyn_clean(name) for names in ncbi.kb.concepts.values() for name in names}
    training = {m.text.replace("|", " ") for m in ncbi_biosyn.split("train")}
    test_only = {m.text for m in ncbi_biosyn.split("test")} - training - medic
    assert len(test_only) > 100 and not test_only & set(kb.name_index)


@needs_shared
def test_biosyn_parts_on_real_composites(ncbi_biosyn: Benchmark) -> None:
    mentions = [m for s in ("train", "test") for m in ncbi_biosyn.split(s)]
    composite = [m for m in mentions if m.composite]
    assert len(composite) == 150  # 115 + 30 + 15 official, less those of the repeated document
    split = [m for m in mentions if m.parts]
    assert len(split) == 105 and all(m.composite for m in split)
    # BioSyn's mention string keeps the pieces joined by "|"; each becomes a part, and BioSyn's scorer
    # (utils.py check_label) accepts any id of the mention for any part
    breast = next(m for m in split if m.text == "breast cancer|ovarian cancer")
    assert [p.text for p in breast.parts] == ["breast cancer", "ovarian cancer"]
    assert all(p.gold_ids == breast.gold_ids for p in breast.parts)
    assert breast.parts[0].id == breast.id + "#1"
    # BioSyn's greedy first pattern, reproduced as it is
    assert any(m.text == "colon other cancers|some other cancers" for m in split)
    # a composite no pattern splits stays whole
    assert any(not m.parts for m in composite)
