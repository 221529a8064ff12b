"""SNOMED CT RF2 description/concept snapshot parser, on hand-written fixtures.

The fixture files (tests/fixtures/snomed/) use invented concept ids and terms
in the RF2 layout; only the metadata type ids (FSN, synonym, definition) are
the real ones.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.benchmarks.snomed import (
    DESCRIPTION_HEADER,
    FSN,
    SYNONYM,
    read_rf2_concepts,
    read_rf2_descriptions,
    read_snomed_kb,
    strip_semantic_tag,
)
from bench.errors import DataFormatError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "snomed"
DESCRIPTIONS = FIXTURES / "sct2_Description_Snapshot-en.txt"
CONCEPTS = FIXTURES / "sct2_Concept_Snapshot.txt"
HEADER = "\t".join(DESCRIPTION_HEADER)
MODULE, CASE = "900000000000207008", "900000000000448009"


def row(description_id: str, concept_id: str, term: str, type_id: str = SYNONYM, active: str = "1") -> str:
    return "\t".join([description_id, "20200131", active, MODULE, concept_id, "en", type_id, term, CASE])


def write(tmp_path: Path, *lines: str, name: str = "descriptions.txt") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("fsn", "expected"),
    [
        ("Myocardial infarction (disorder)", "Myocardial infarction"),
        ("Structure of heart (body structure)", "Structure of heart"),
        ("Product containing paracetamol (medicinal product)", "Product containing paracetamol"),
        ("Pain (finding)  ", "Pain"),
        ("Type 2 (II) diabetes (disorder)", "Type 2 (II) diabetes"),
        ("No tag here", "No tag here"),
        ("(disorder)", "(disorder)"),  # nothing before the tag: kept as is
    ],
)
def test_strip_semantic_tag(fsn: str, expected: str) -> None:
    assert strip_semantic_tag(fsn) == expected


def test_kb_with_concept_file() -> None:
    kb = read_snomed_kb(DESCRIPTIONS, CONCEPTS)
    assert not kb.closed_world
    assert set(kb.concepts) == {"1000101", "1000102", "1000201", "1000301", "1000401"}  # 1000999 is inactive
    # FSN without its tag first; the identical synonym merges with it; the inactive one is dropped.
    assert kb.concepts["1000101"] == ("Sore throat", "Throat pain")
    # The FSN is preferred even when a synonym comes first in the file.
    assert kb.concepts["1000102"] == ("Infection of throat", "Throat infection")
    # Text definitions are not names.
    assert kb.concepts["1000201"] == ("Headache", "Cephalgia")
    # Only English descriptions (the Spanish synonym is left out).
    assert kb.concepts["1000401"] == ("Antihypertensive agent",)
    assert "20200731" in kb.name  # the latest effectiveTime names the release
    assert any("active" in note for note in kb.notes)


def test_kb_without_concept_file_keeps_every_described_concept() -> None:
    kb = read_snomed_kb(DESCRIPTIONS)
    assert kb.concepts["1000999"] == ("Retired concept",)
    assert len(kb) == 6
    assert any("no concept file" in note for note in kb.notes)


def test_description_counts() -> None:
    names, counts = read_rf2_descriptions(DESCRIPTIONS, read_rf2_concepts(CONCEPTS))
    assert counts["descriptions"] == 14
    assert counts["inactive_descriptions"] == 1
    assert counts["other_types"] == 1  # the text definition
    assert counts["other_languages"] == 1
    assert counts["inactive_concepts"] == 2  # FSN and synonym of 1000999
    assert list(names) == sorted(names, key=int)


def test_concept_file() -> None:
    status = read_rf2_concepts(CONCEPTS)
    assert status["1000101"] is True
    assert status["1000999"] is False


@pytest.mark.parametrize(
    ("lines", "line", "problem"),
    [
        (["id\teffectiveTime\tactive"], 1, "not an RF2 description file"),
        ([HEADER, row("2000011", "1000101", "Pain")[: -len(CASE) - 1]], 2, "expected 9 tab-separated columns"),
        ([HEADER, row("2000011", "1000101", "Pain"), row("2000011", "1000101", "Ache")], 3, "Full or Delta"),
        ([HEADER, row("2000011", "1000101", "Pain", active="2")], 2, "active must be 0 or 1"),
        ([HEADER, row("2000011", "1000101", "Pain").replace("20200131", "2020-01-31")], 2, "effectiveTime"),
        ([HEADER, row("D2000011", "1000101", "Pain")], 2, "not a SNOMED CT identifier"),
        ([HEADER, row("2000011", "C1000101", "Pain")], 2, "conceptId"),
        ([HEADER, row("2000011", "1000101", "   ")], 2, "empty term"),
        ([HEADER, row("2000011", "1000101", "Pain"), ""], 3, "blank line"),
        (
            [
                HEADER,
                row("2000011", "1000101", "Pain (finding)", FSN),
                row("2000012", "1000101", "Ache (finding)", FSN),
            ],
            3,
            "second active FSN",
        ),
    ],
)
def test_description_errors_name_file_and_line(tmp_path: Path, lines: list[str], line: int, problem: str) -> None:
    path = write(tmp_path, *lines)
    with pytest.raises(DataFormatError) as caught:
        read_snomed_kb(path)
    assert caught.value.line == line
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_empty_file_and_no_names(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="empty file"):
        read_snomed_kb(write(tmp_path, name="empty.txt"))
    only_inactive = write(tmp_path, HEADER, row("2000011", "1000101", "Pain", active="0"))
    with pytest.raises(DataFormatError, match="no active FSN or synonym"):
        read_snomed_kb(only_inactive)


def test_description_of_a_concept_missing_from_the_concept_file(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, row("2000011", "1000101", "Pain"), row("2000091", "1000777", "Elsewhere"))
    with pytest.raises(DataFormatError) as caught:
        read_snomed_kb(path, CONCEPTS)
    assert caught.value.line == 3
    assert "not in the concept file" in caught.value.problem


def test_concept_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "concepts.txt"
    shutil.copyfile(CONCEPTS, path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("1000101\t20210131\t1\t900000000000207008\t900000000000074008\n")
    with pytest.raises(DataFormatError) as caught:
        read_rf2_concepts(path)
    assert caught.value.line == 9
    assert "already on line 2" in caught.value.problem
    with pytest.raises(DataFormatError, match="not an RF2 concept file"):
        read_rf2_concepts(DESCRIPTIONS)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes((HEADER + "\n" + row("2000011", "1000101", "Sj\xf6gren") + "\n").encode("latin-1"))
    with pytest.raises(DataFormatError) as caught:
        read_snomed_kb(path)
    assert caught.value.line == 2
