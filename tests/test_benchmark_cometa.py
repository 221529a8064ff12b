"""COMETA: the parser and loader on invented fixture rows, and the real corpus when present.

The fixtures (tests/fixtures/cometa/) are hand-written rows in the COMETA
format; no COMETA text is copied here (the corpus is CC BY-NC-ND). Tests on
the real files read them from ../shared/data and skip when it is absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import assert_card_figures

from bench.benchmark import Benchmark
from bench.benchmarks.card import read_card
from bench.benchmarks.cometa import (
    CORPUS_FILES,
    HEADER,
    SPLITS,
    VARIANTS,
    closed_world_kb,
    cometa_mentions,
    corpus_file,
    find_span,
    read_cometa,
)
from bench.benchmarks.sources import card_sources
from bench.checksum import sha256_file
from bench.errors import BenchError, DataFormatError
from bench.registry import BENCHMARKS
from bench.stats import benchmark_stats

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FIXTURES = REPO / "tests" / "fixtures"
CARD = REPO / "datasets" / "cometa" / "README.md"
NAMES = {
    "cometa": "stratified_general",
    "cometa-stratified-general": "stratified_general",
    "cometa-stratified-specific": "stratified_specific",
    "cometa-zeroshot-general": "zeroshot_general",
    "cometa-zeroshot-specific": "zeroshot_specific",
}
HEADER_LINE = "\t".join(HEADER)
GOOD_ROW = "501\tsore throat\tSore throat\t1000101\tSore throat\t1000101\tA sore throat today .\tAskDocs"


def load(name: str, data_dir: Path, profile: str = "official") -> Benchmark:
    return BENCHMARKS.get(name)(data_dir=data_dir, profile=profile)


def install_fixture(data_dir: Path, snomed: bool = False) -> Path:
    """The fixture splits as every variant's files, laid out as prepare leaves them."""
    raw = data_dir / "raw"
    for variant in VARIANTS:
        for split in SPLITS:
            target = raw / corpus_file(variant, split)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(FIXTURES / "cometa" / f"{split}.csv", target)
    for name in ("README", "LICENSE"):
        shutil.copyfile(FIXTURES / "cometa" / name, raw / "cometa" / name)
    if snomed:
        (raw / "snomed").mkdir()
        for name in ("sct2_Description_Snapshot-en.txt", "sct2_Concept_Snapshot.txt"):
            shutil.copyfile(FIXTURES / "snomed" / name, raw / "snomed" / name)
    return raw


# --- parser ------------------------------------------------------------------


def test_read_fixture_rows() -> None:
    rows = read_cometa(FIXTURES / "cometa" / "train.csv")
    assert [r.id for r in rows] == ["101", "102", "103", "104"]
    assert [r.line for r in rows] == [2, 3, 4, 5]
    # CSV quoting of the Example column is undone.
    assert rows[2].example == 'Too much coffee gives me "the jitters" every morning .'
    assert rows[3].subreddit == ""
    assert rows[0].gold("general") == ("1000101", "Sore throat")
    assert rows[0].gold("specific") == ("1000102", "Throat infection")


def test_mentions_general_and_specific() -> None:
    rows = read_cometa(FIXTURES / "cometa" / "train.csv")
    general = cometa_mentions(rows, "train", "general")
    specific = cometa_mentions(rows, "train", "specific")
    assert [m.id for m in general] == ["train:101", "train:102", "train:103", "train:104"]
    assert general[0].gold_ids == {"1000101"}
    assert specific[0].gold_ids == {"1000102"}
    assert general[0].text == "sore throat"
    assert general[0].context == rows[0].example
    assert not any(m.composite for m in general)


def test_spans() -> None:
    mentions = cometa_mentions(read_cometa(FIXTURES / "cometa" / "train.csv"), "train", "general")
    exact, case_insensitive, quoted, absent = mentions
    assert exact.context[exact.span[0] : exact.span[1]] == "sore throat"
    assert case_insensitive.context[case_insensitive.span[0] : case_insensitive.span[1]] == "headaches"
    assert quoted.context[quoted.span[0] : quoted.span[1]] == "the jitters"
    assert absent.span is None  # "bp pills" is not in its example
    assert find_span("pain", "") is None
    assert find_span("pain", "Pain, then pain") == (11, 15)  # an exact match wins over an earlier case-insensitive one


@pytest.mark.parametrize(
    ("lines", "line", "problem"),
    [
        (["ID\tTerm\tLabel", GOOD_ROW], 1, "not a COMETA file"),
        ([HEADER_LINE, GOOD_ROW, "502\tsore throat\tSore throat\t1000101"], 3, "expected 8 tab-separated columns"),
        ([HEADER_LINE, GOOD_ROW + "\textra"], 2, "found 9"),
        ([HEADER_LINE, GOOD_ROW, GOOD_ROW], 3, "ID 501 already on line 2"),
        ([HEADER_LINE, GOOD_ROW.replace("\t1000101\tSore throat\t", "\tSCT1\tSore throat\t", 1)], 2, "General SNOMED"),
        ([HEADER_LINE, GOOD_ROW.replace("\t1000101\tA sore", "\t\tA sore")], 2, "Specific SNOMED ID"),
        ([HEADER_LINE, GOOD_ROW.replace("sore throat\t", "\t", 1)], 2, "empty Term"),
        ([HEADER_LINE, GOOD_ROW.replace("A sore throat today .", '"A sore throat today .')], 2, "quoting"),
        ([HEADER_LINE, GOOD_ROW, "", GOOD_ROW.replace("501", "503")], 3, "blank line"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path: Path, lines: list[str], line: int, problem: str) -> None:
    path = tmp_path / "train.csv"
    path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    with pytest.raises(DataFormatError) as caught:
        read_cometa(path)
    assert caught.value.line == line
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_bad_encoding_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER_LINE + "\n" + GOOD_ROW.replace("today", "t\xf6day") + "\n").encode("latin-1"))
    with pytest.raises(DataFormatError) as caught:
        read_cometa(path)
    assert caught.value.line == 2
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataFormatError, match="empty file"):
        read_cometa(empty)


def test_closed_world_kb_from_labels() -> None:
    rows = {name: read_cometa(FIXTURES / "cometa" / f"{name}.csv") for name in SPLITS}
    kb = closed_world_kb(rows)
    assert kb.closed_world
    # Both label columns: specific-only concepts (1000102, 1000203, 1000302) are in it.
    assert set(kb.concepts) == {
        "1000101",
        "1000102",
        "1000201",
        "1000202",
        "1000203",
        "1000301",
        "1000302",
        "1000401",
        "1000501",
    }
    # The most frequent label first; the rarer variant stays as a synonym.
    assert kb.concepts["1000101"] == ("Sore throat", "Sore throat (finding)")
    assert kb.notes and "closed-world" in kb.notes[0]


# --- loader on the fixture -------------------------------------------------


def test_loader_closed_world(tmp_path: Path) -> None:
    install_fixture(tmp_path)
    benchmark = load("cometa-stratified-general", tmp_path)
    assert benchmark.name == "cometa-stratified-general"
    assert {s: len(m) for s, m in benchmark.splits.items()} == {"train": 4, "dev": 2, "test": 3}
    assert benchmark.kb.closed_world
    assert "SNOMED CT is licensed" in benchmark.flags["closed_world_kb"]
    assert benchmark.card["name"] == "cometa"
    assert set(benchmark.source_files) == {"cometa/README", "cometa/LICENSE", *CORPUS_FILES}
    stats = benchmark_stats(benchmark)
    assert all(s["mentions_with_gold_missing_from_kb"] == 0 for s in stats["splits"].values())
    specific = load("cometa-stratified-specific", tmp_path)
    assert specific.split("dev")[1].gold_ids == {"1000203"}
    assert specific.kb.checksum == benchmark.kb.checksum  # one KB for every variant


def test_cometa_is_stratified_general(tmp_path: Path) -> None:
    install_fixture(tmp_path)
    alias = load("cometa", tmp_path)
    target = load("cometa-stratified-general", tmp_path)
    assert alias.name == "cometa"
    assert alias.checksums == target.checksums


def test_loader_with_snomed(tmp_path: Path) -> None:
    install_fixture(tmp_path, snomed=True)
    benchmark = load("cometa-stratified-general", tmp_path)
    assert not benchmark.kb.closed_world
    assert "closed_world_kb" not in benchmark.flags
    assert benchmark.kb.concepts["1000101"] == ("Sore throat", "Throat pain")
    assert "snomed/sct2_Description_Snapshot-en.txt" in benchmark.source_files
    # Only this variant's files are read with a real KB.
    assert "cometa/zeroshot_general/test.csv" not in benchmark.source_files
    stats = benchmark_stats(benchmark)
    assert stats["splits"]["test"]["mentions_with_gold_missing_from_kb"] == 1  # 1000501 has no description


def test_row_in_two_splits_is_an_error(tmp_path: Path) -> None:
    raw = install_fixture(tmp_path)
    dev = raw / corpus_file("zeroshot_general", "dev")
    with open(dev, "a", encoding="utf-8") as handle:
        handle.write(GOOD_ROW.replace("501", "101") + "\n")
    with pytest.raises(DataFormatError) as caught:
        load("cometa-zeroshot-general", tmp_path)
    assert caught.value.line == 4
    assert "also in cometa/zeroshot_general/train.csv (line 2)" in caught.value.problem


def test_missing_files_and_unknown_profile(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="bioel-bench prepare cometa"):
        load("cometa", tmp_path)
    with pytest.raises(BenchError, match="unknown protocol profile 'nope'"):
        load("cometa", tmp_path, profile="nope")
    with pytest.raises(BenchError, match="has no protocol profile 'biosyn'"):  # BioSyn has no recipe for it
        load("cometa", tmp_path, profile="biosyn")


# --- the card ------------------------------------------------------------------


def test_card_sources_and_variants() -> None:
    card = read_card(CARD)
    assert set(card["variants"]) == set(NAMES)
    sources = {s.name: s for s in card_sources("cometa")}
    assert {"cometa/README", "cometa/LICENSE", *CORPUS_FILES} <= set(sources)
    for name in ("cometa/README", "cometa/LICENSE", *CORPUS_FILES):
        assert sources[name].licensed and sources[name].required and sources[name].sha256
        assert "siphs.org" in sources[name].how_to_get
    for name in ("snomed/sct2_Description_Snapshot-en.txt", "snomed/sct2_Concept_Snapshot.txt"):
        assert sources[name].licensed and not sources[name].required
    assert "sct2_Description_Snapshot-en_INT_" in sources["snomed/sct2_Description_Snapshot-en.txt"].how_to_get
    assert set(card["stats"]) == set(card["baselines"]["tfidf"]) == set(NAMES) - {"cometa"}  # an alias


# --- the real corpus -----------------------------------------------------------

needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "cometa").is_dir(), reason=f"COMETA not found in {SHARED_DATA} (shared benchmark data)"
)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.benchmarks.prepare import prepare

    data_dir = tmp_path_factory.mktemp("cometa-data")
    prepare("cometa", from_dir=SHARED_DATA, data_dir=data_dir, log=lambda *a: None)
    return data_dir


def data_rows(path: Path) -> int:
    """Lines after the header (no field of the official files spans lines)."""
    return path.read_bytes().count(b"\n") - 1


@needs_shared
def test_official_counts(prepared: Path) -> None:
    benchmark = load("cometa", prepared)
    assert {s: len(m) for s, m in benchmark.splits.items()} == {"train": 13489, "dev": 2176, "test": 4350}
    for name, variant in NAMES.items():
        loaded = load(name, prepared)
        for split in SPLITS:
            assert len(loaded.split(split)) == data_rows(SHARED_DATA / corpus_file(variant, split)), (name, split)


@needs_shared
def test_real_closed_world_kb(prepared: Path) -> None:
    benchmark = load("cometa-zeroshot-specific", prepared)
    assert benchmark.kb.closed_world
    assert benchmark.flags["closed_world_kb"]
    assert benchmark.kb.n_concepts == 4013
    gold = {i for mentions in benchmark.splits.values() for m in mentions for i in m.gold_ids}
    assert gold <= set(benchmark.kb.concepts)
    # Every term is found in its example (some only case-insensitively).
    assert all(m.span is not None for mentions in benchmark.splits.values() for m in mentions)
    assert len({m.id for s in benchmark.splits.values() for m in s}) == 20015


@needs_shared
def test_card_matches_the_files(prepared: Path) -> None:
    for source in card_sources("cometa"):
        if (SHARED_DATA / source.name).is_file():
            assert sha256_file(SHARED_DATA / source.name) == source.sha256, source.name
    assert_card_figures("cometa", prepared)
