"""The UMLS reader (bench/benchmarks/umls.py) on invented MRCONSO/MRSTY rows.

The fixture files (tests/fixtures/medmentions/umls/) are invented rows in the
RRF formats of the UMLS Reference Manual; no UMLS content. Concepts there:
C9000001 several names, preferred atom third in the file, a case variant, a
suppressible (Y), a CHV (excluded vocabulary) and a French row; C9000004 only
an LNC name (excluded vocabulary); C9000007/09/12 excluded semantic types
(T169, T080, T073: the parents or cousins of included ones); C9000010 one
excluded and one included type; C9000011 only suppressed names (O, E);
C9000025 only French; C9000030 no semantic type at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.benchmarks.umls import (
    MRCONSO_FIELDS,
    ST21PV_SEMANTIC_TYPES,
    ST21PV_SOURCES,
    iter_rrf,
    read_umls,
    semantic_tree,
    types_in_scope,
)
from bench.errors import DataFormatError

UMLS = Path(__file__).parent / "fixtures" / "medmentions" / "umls"
MRCONSO = UMLS / "MRCONSO.RRF"
MRSTY = UMLS / "MRSTY.RRF"

IN_SCOPE = {f"C90000{n:02d}" for n in (1, 2, 3, 5, 8, 10, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23)}


def conso_row(cui="C9999999", lat="ENG", ts="P", stt="PF", ispref="Y", sab="MSH", string="Name", suppress="N"):
    fields = [cui, lat, ts, "L1", stt, "S1", ispref, "A1", "", "", "", sab, "PT", "X1", string, "0", suppress, ""]
    return "|".join(fields) + "|"


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_the_published_st21pv_lists():
    assert len(ST21PV_SEMANTIC_TYPES) == 21 and len(ST21PV_SOURCES) == 18
    assert {"T005", "T038", "T103", "T204"} <= set(ST21PV_SEMANTIC_TYPES)
    assert {"MTH", "SNOMEDCT_US", "NCBI", "RXNORM"} <= ST21PV_SOURCES
    assert len(MRCONSO_FIELDS) == 18


def test_st21pv_kb_from_the_fixture():
    kb = read_umls(MRCONSO, MRSTY)
    assert set(kb.concepts) == IN_SCOPE
    # Preferred atom (TS=P, STT=PF, ISPREF=Y) first although third in the file; the case
    # variant, the suppressible, the CHV and the French rows are gone.
    assert kb.concepts["C9000001"] == ("Diabetes Mellitus", "DM", "Diabetes")
    assert kb.concepts["C9000005"] == ("Mice", "Mus musculus", "Mouse")
    assert kb.concepts["C9000002"] == ("Insulin", "Insulin Preparation")  # "Insulin, NOS" has SUPPRESS=E
    assert kb.concepts["C9000008"] == ("Nervous system",)  # two sources, one name
    assert kb.ids_for_name("sugar diabetes") == frozenset()
    assert kb.ids_for_name("OBESE") == {"C9000010"}
    assert not kb.closed_world


def test_kb_notes_count_what_each_filter_dropped():
    notes = "\n".join(read_umls(MRCONSO, MRSTY).notes)
    assert "rows read 48" in notes
    assert "rows in other languages 2" in notes  # C9000001's MSHFRE row and C9000025
    assert "suppressed rows (SUPPRESS O, E or Y) 4" in notes
    assert "rows from other vocabularies 2" in notes  # CHV, LNC
    assert "rows of concepts outside the semantic types 4" in notes  # C9000007, 09, 12, 30
    # C9000004 (only LNC), C9000011 (only suppressed), C9000025 (only French)
    assert "for want of a name passing the language, suppression and vocabulary filters: 3" in notes
    # Roots no concept carries directly are placed in the tree by the table.
    assert "T017 carries no concept directly" in notes and "T038 carries no concept directly" in notes


def test_descendants_by_tree_number():
    tree = semantic_tree(MRSTY)
    assert tree["T047"] == "B2.2.1.2.1" and tree["T169"] == "A2.1.4"
    scope = types_in_scope(ST21PV_SEMANTIC_TYPES, tree)
    # below a root: Disease or Syndrome (Biologic Function), Mammal (Eukaryote), Body Part
    # (Anatomical Structure), Organic Chemical (Chemical), Laboratory Procedure (Health Care Activity)
    assert {"T047", "T015", "T023", "T109", "T116", "T121", "T059", "T061", "T093"} <= scope
    # parents of roots and cousins are not: Functional Concept (parent of Body System),
    # Manufactured Object (parent of Medical Device), Qualitative Concept
    assert not {"T169", "T073", "T080"} & scope
    assert types_in_scope(ST21PV_SEMANTIC_TYPES, tree, descendants=False) == set(ST21PV_SEMANTIC_TYPES)


def test_without_descendants_only_the_21_types_count():
    kb = read_umls(MRCONSO, MRSTY, descendants=False)
    # directly typed with one of the 21: T022, T033, T168, T007, T074, T097, T005
    assert set(kb.concepts) == {f"C90000{n:02d}" for n in (8, 10, 13, 16, 17, 19, 21, 22)}


def test_a_tree_number_that_differs_from_the_table_is_used_and_noted(tmp_path):
    moved = MRSTY.read_text(encoding="utf-8").replace("|T033|A2.2|", "|T033|A2.8|")
    kb = read_umls(MRCONSO, write(tmp_path / "MRSTY.RRF", moved))
    assert any("T033 has tree number A2.8" in note for note in kb.notes)
    assert "C9000010" in kb.concepts


def test_filters_can_be_widened():
    kb = read_umls(MRCONSO, MRSTY, sources=None, languages=("ENG", "FRE"))
    assert "sugar diabetes" in kb.concepts["C9000001"] and "Diabète sucré" in kb.concepts["C9000001"]
    assert kb.concepts["C9000004"] == ("Glucose measurement",) and kb.concepts["C9000025"] == ("Grippe",)
    everything = read_umls(MRCONSO, None, semantic_types=None)
    assert {"C9000007", "C9000030"} <= set(everything.concepts)
    with pytest.raises(ValueError, match="MRSTY"):
        read_umls(MRCONSO, None)


def test_rows_of_one_concept_apart_are_merged(tmp_path):
    rows = MRCONSO.read_text(encoding="utf-8").splitlines()
    diabetes = [r for r in rows if r.startswith("C9000001|")]
    others = [r for r in rows if not r.startswith("C9000001|")]
    shuffled = diabetes[:3] + others + diabetes[3:]
    kb = read_umls(write(tmp_path / "MRCONSO.RRF", "\n".join(shuffled) + "\n"), MRSTY)
    assert kb.concepts["C9000001"] == ("Diabetes Mellitus", "DM", "Diabetes")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("C9999999|ENG|P|L1|PF|S1|Y|A1||||MSH|PT|X1|Name|0|N|", "expected 18 '|'-terminated fields"),  # 17 fields
        (conso_row().rstrip("|"), "no trailing '|'"),
        (conso_row() + "extra|", "expected 18 '|'-terminated fields"),
    ],
)
def test_mrconso_field_count_errors_name_file_and_line(tmp_path, line, problem):
    path = write(tmp_path / "MRCONSO.RRF", conso_row("C9000001") + "\n" + line + "\n")
    with pytest.raises(DataFormatError, match=problem) as caught:
        read_umls(path, MRSTY)
    assert caught.value.line == 2 and caught.value.path == str(path)
    assert f"{path}:2:" in str(caught.value)


def test_mrconso_value_errors(tmp_path):
    bad_suppress = write(tmp_path / "a.RRF", conso_row("C9000001", suppress="X") + "\n")
    with pytest.raises(DataFormatError, match="SUPPRESS must be one of O, E, Y, N") as caught:
        read_umls(bad_suppress, MRSTY)
    assert caught.value.line == 1
    empty_name = write(tmp_path / "b.RRF", conso_row("C9000001") + "\n" + conso_row("C9000002", string=" ") + "\n")
    with pytest.raises(DataFormatError, match="empty STR") as caught:
        read_umls(empty_name, MRSTY)
    assert caught.value.line == 2
    latin1 = write(
        tmp_path / "c.RRF",
        (conso_row("C9000001") + "\n").encode() + (conso_row(string="Diab\xe8te") + "\n").encode("latin-1"),
    )
    with pytest.raises(DataFormatError, match="not valid utf-8") as caught:
        read_umls(latin1, MRSTY)
    assert caught.value.line == 2
    nothing = write(tmp_path / "d.RRF", conso_row("C9000007") + "\n")  # only an excluded type
    with pytest.raises(DataFormatError, match="no concept passes the filters"):
        read_umls(nothing, MRSTY)


def test_mrsty_errors_name_file_and_line(tmp_path):
    short = write(tmp_path / "MRSTY.RRF", "C9000001|T047|B2.2.1.2.1|Disease or Syndrome|AT1||\nC9000002|T116|A1|\n")
    with pytest.raises(DataFormatError, match=r"expected 6 '\|'-terminated fields") as caught:
        read_umls(MRCONSO, short)
    assert caught.value.line == 2
    two_numbers = write(
        tmp_path / "MRSTY2.RRF",
        "C9000001|T047|B2.2.1.2.1|Disease or Syndrome|AT1||\nC9000014|T047|B2.2.9|Disease or Syndrome|AT2||\n",
    )
    with pytest.raises(
        DataFormatError, match="T047 has tree number 'B2.2.9' here but 'B2.2.1.2.1' on line 1"
    ) as caught:
        read_umls(MRCONSO, two_numbers)
    assert caught.value.line == 2
    empty = write(tmp_path / "MRSTY3.RRF", "C9000001||B2.2.1.2.1|Disease or Syndrome|AT1||\n")
    with pytest.raises(DataFormatError, match="empty TUI or STN"):
        read_umls(MRCONSO, empty)
    junk = write(tmp_path / "MRSTY4.RRF", "C90000X1|T047|B2.2.1.2.1|Disease or Syndrome|AT1||\n")
    with pytest.raises(DataFormatError, match="'C90000X1' is not a UMLS CUI"):
        read_umls(MRCONSO, junk)


def test_iter_rrf_yields_line_numbers_and_values():
    rows = list(iter_rrf(MRSTY, ["CUI", "TUI", "STN", "STY", "ATUI", "CVF"]))
    assert rows[0][0] == 1 and rows[0][1][:3] == ["C9000001", "T047", "B2.2.1.2.1"]
    assert all(len(values) == 7 for _, values in rows)
