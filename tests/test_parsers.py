"""Tests for the file parsers: PubTator, the MEDIC flat file, line reading, gold resolution.

Fixtures are small files in the official formats, written into tmp_path.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.benchmarks.gold import missing_gold, resolve_gold
from bench.benchmarks.medic import medic_id, read_medic_flat
from bench.benchmarks.pubtator import pubtator_mentions, read_pubtator
from bench.benchmarks.textio import iter_lines
from bench.errors import DataFormatError
from bench.mention import Mention, parse_gold_ids

# Title "Breast cancer genes." is 20 characters, so the abstract starts at 21:
#   Ovarian 21-28, and 29-32, breast 33-39, tumours 40-47.
# "Cystic fibrosis" is 15 characters; "CF" is 16-18.
TEXT_100 = "Breast cancer genes. Ovarian and breast tumours are common."
TEXT_200 = "Cystic fibrosis CF affects lungs."
PUBTATOR = "\n".join(
    [
        "100|t|Breast cancer genes.",
        "100|a|Ovarian and breast tumours are common.",
        "100\t0\t13\tBreast cancer\tSpecificDisease\tD001943",
        "100\t21\t47\tOvarian and breast tumours\tCompositeMention\tD010051|D001943",
        "100\t33\t47\tbreast tumours\tDiseaseClass\tMESH:D001943+D009369\tan extra field",
        "100\tCID\tD001943\tD010051",
        "",
        "200|t|Cystic fibrosis",
        "200|a|CF affects lungs.",
        "200\t0\t15\tCystic fibrosis \tSpecificDisease\tD003550",  # trailing blank in the mention field
        "200\t16\t18\tCF\tSpecificDisease\tD003550",
        "",
        "100|t|Breast cancer genes.",  # the same PMID again (as NCBI's training file has)
        "100|a|Ovarian and breast tumours are common.",
        "100\t0\t13\tBreast cancer\tSpecificDisease\tD001943",
        "",
    ]
)


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def pubtator_file(tmp_path: Path) -> Path:
    return write(tmp_path, "corpus.txt", PUBTATOR)


# --- PubTator: good input -----------------------------------------------------------


def test_read_pubtator_documents(pubtator_file: Path) -> None:
    documents = read_pubtator(pubtator_file)
    assert [(d.pmid, d.doc_id) for d in documents] == [("100", "100"), ("200", "200"), ("100", "100#2")]
    assert documents[0].title == "Breast cancer genes."
    assert documents[0].abstract == "Ovarian and breast tumours are common."
    assert documents[0].text == TEXT_100
    assert documents[1].text == TEXT_200
    # three annotations: the CID relation line is not one
    assert [(a.start, a.end, a.type) for a in documents[0].annotations] == [
        (0, 13, "SpecificDisease"),
        (21, 47, "CompositeMention"),
        (33, 47, "DiseaseClass"),
    ]
    assert [a.line for a in documents[0].annotations] == [3, 4, 5]
    assert documents[0].annotations[2].extra == ("an extra field",)
    assert documents[0].annotations[0].extra == ()


def test_pubtator_mentions(pubtator_file: Path) -> None:
    mentions = pubtator_mentions(read_pubtator(pubtator_file))
    by_id = {m.id: m for m in mentions}
    assert [m.id for m in mentions] == ["100:0-13", "100:21-47", "100:33-47", "200:0-15", "200:16-18", "100#2:0-13"]

    first = by_id["100:0-13"]
    assert (first.text, first.span, first.doc_id) == ("Breast cancer", (0, 13), "100")
    assert first.entity_type == "SpecificDisease"
    assert first.gold_ids == frozenset({"D001943"}) and not first.composite
    assert first.context == TEXT_100

    pipe = by_id["100:21-47"]
    assert pipe.text == "Ovarian and breast tumours"
    assert pipe.gold_groups == (frozenset({"D010051"}), frozenset({"D001943"}))
    assert pipe.composite

    plus = by_id["100:33-47"]
    assert plus.text == "breast tumours"
    assert plus.gold_ids == frozenset({"MESH:D001943", "D009369"})  # as annotated: resolution comes later
    assert plus.composite

    blank = by_id["200:0-15"]
    assert blank.text == "Cystic fibrosis"  # the document's text, not the padded field
    assert blank.context == TEXT_200
    assert by_id["200:16-18"].text == "CF"

    repeat = by_id["100#2:0-13"]
    assert repeat.doc_id == "100#2" and repeat.text == "Breast cancer"


def test_pubtator_mentions_filter_by_type(pubtator_file: Path) -> None:
    documents = read_pubtator(pubtator_file)
    assert [m.id for m in pubtator_mentions(documents, types=["CompositeMention"])] == ["100:21-47"]
    assert pubtator_mentions(documents, types=[]) == []


def test_same_span_with_two_types_gets_distinct_ids(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "two_types.txt",
        "7|t|Aspirin toxicity\n7|a|\n7\t0\t7\tAspirin\tChemical\tD001241\n7\t0\t7\tAspirin\tDisease\tD064420\n",
    )
    mentions = pubtator_mentions(read_pubtator(path))
    assert [m.id for m in mentions] == ["7:0-7", "7:0-7:Disease"]


def test_pubtator_with_crlf_line_ends(tmp_path: Path) -> None:
    crlf = write(tmp_path, "crlf.txt", PUBTATOR.replace("\n", "\r\n"))
    lf = write(tmp_path, "lf.txt", PUBTATOR)
    assert pubtator_mentions(read_pubtator(crlf)) == pubtator_mentions(read_pubtator(lf))


def test_pubtator_without_final_blank_line(tmp_path: Path) -> None:
    # no blank line after the last document is fine; a last line without its newline is a cut file
    # (tests/test_parser_integrity.py)
    path = write(tmp_path, "short.txt", "1|t|Gout\n1|a|Pain.\n1\t0\t4\tGout\tDisease\tD006073\n")
    assert [m.id for m in pubtator_mentions(read_pubtator(path))] == ["1:0-4"]


# --- PubTator and MEDIC: bad input ----------------------------------------------------

GOOD_TITLE = "100|t|Breast cancer genes."
GOOD_ABSTRACT = "100|a|Ovarian and breast tumours are common."

PUBTATOR_ERRORS = {
    "span text mismatch": (
        [GOOD_TITLE, GOOD_ABSTRACT, "100\t0\t13\tBreast cancor\tDisease\tD1"],
        3,
        "Breast cancor",
    ),
    "non-integer offsets": (
        [GOOD_TITLE, GOOD_ABSTRACT, "100\t0\t13\tBreast cancer\tDisease\tD1", "100\tzero\t13\tBreast cancer\tD\tD1"],
        4,
        "integers",
    ),
    "too few fields": (
        [GOOD_TITLE, GOOD_ABSTRACT, "100\t0\t13\tBreast cancer\tDisease"],
        3,
        "at least 6",
    ),
    "annotation outside a document": (
        [GOOD_TITLE, GOOD_ABSTRACT, "", "100\t0\t13\tBreast cancer\tDisease\tD1"],
        4,
        "outside a document",
    ),
    "abstract without title": (
        ["", GOOD_ABSTRACT, "100\t0\t13\tBreast cancer\tDisease\tD1"],
        2,
        "without its title",
    ),
    "abstract of another document": (
        [GOOD_TITLE, "101|a|Ovarian and breast tumours are common."],
        2,
        "without its title",
    ),
    "title without abstract at the end": ([GOOD_TITLE], 1, "without an abstract"),
    "title without abstract before a blank line": (
        [GOOD_TITLE, "", GOOD_TITLE, GOOD_ABSTRACT],
        2,
        "without an abstract",
    ),
    "title after a title": ([GOOD_TITLE, GOOD_TITLE, GOOD_ABSTRACT], 2, "missing abstract"),
    "annotation after a title": (
        [GOOD_TITLE, "100\t0\t13\tBreast cancer\tDisease\tD1"],
        2,
        "missing title/abstract",
    ),
    "span outside the document": (
        [GOOD_TITLE, GOOD_ABSTRACT, "100\t50\t70\tBreast cancer\tDisease\tD1"],
        3,
        "outside the document",
    ),
    "empty span": (
        [GOOD_TITLE, GOOD_ABSTRACT, "100\t5\t5\t\tDisease\tD1"],
        3,
        "outside the document",
    ),
    "annotation of another document": (
        [GOOD_TITLE, GOOD_ABSTRACT, "101\t0\t13\tBreast cancer\tDisease\tD1"],
        3,
        "'101'",
    ),
    "empty concept id": (
        [GOOD_TITLE, GOOD_ABSTRACT, "100\t0\t13\tBreast cancer\tDisease\t "],
        3,
        "empty concept id",
    ),
}


def assert_format_error(error: DataFormatError, path: Path, line: int | None, problem: str) -> None:
    message = str(error)
    assert error.path == str(path)
    assert error.line == line
    assert path.name in message
    if line is not None:
        assert f"{path.name}:{line}:" in message
    assert problem in message


@pytest.mark.parametrize("case", list(PUBTATOR_ERRORS), ids=list(PUBTATOR_ERRORS))
def test_pubtator_errors_name_file_and_line(tmp_path: Path, case: str) -> None:
    lines, line, problem = PUBTATOR_ERRORS[case]
    path = write(tmp_path, "broken.pubtator.txt", "\n".join(lines) + "\n")
    with pytest.raises(DataFormatError) as error:
        read_pubtator(path)
    assert_format_error(error.value, path, line, problem)


MEDIC_ERRORS = {
    "line without ||": (["D000001||Breast Neoplasms", "D000002|Ovarian Neoplasms"], 2, "'||'"),
    "concept without a name": (["D000001||Breast Neoplasms", "", "D000002|| | "], 3, "D000002 has no name"),
    "duplicate concept id": (
        ["D000001||Breast Neoplasms", "D000002||Ovarian Neoplasms", "MESH:D000001||Again"],
        3,
        "line 1",
    ),
    "empty id": (["D000001||Breast Neoplasms", "||Nameless id"], 2, "empty concept id"),
    "alt id of two concepts": (
        ["D000001|123456||Breast Neoplasms", "D000002|123456||Ovarian Neoplasms"],
        2,
        "OMIM:123456",
    ),
    "junk id": (["D000001||Breast Neoplasms", "2971Z2003||Junk"], 2, "'2971Z2003' is not a MeSH"),
    "short MeSH id": (["D000001||Breast Neoplasms", "D12||Too short"], 2, "'D12' is not a MeSH"),
}


@pytest.mark.parametrize("case", list(MEDIC_ERRORS), ids=list(MEDIC_ERRORS))
def test_medic_errors_name_file_and_line(tmp_path: Path, case: str) -> None:
    lines, line, problem = MEDIC_ERRORS[case]
    path = write(tmp_path, "medic.txt", "\n".join(lines) + "\n")
    with pytest.raises(DataFormatError) as error:
        read_medic_flat(path)
    assert_format_error(error.value, path, line, problem)


def test_medic_without_concepts(tmp_path: Path) -> None:
    path = write(tmp_path, "empty_medic.txt", "\n\n")
    with pytest.raises(DataFormatError) as error:
        read_medic_flat(path)
    assert_format_error(error.value, path, None, "no concepts")


READERS: dict[str, Callable[[Path], object]] = {
    "pubtator": read_pubtator,
    "medic": read_medic_flat,
    "iter_lines": lambda p: list(iter_lines(p)),
}


@pytest.mark.parametrize("reader", list(READERS))
def test_invalid_utf8_names_the_line(tmp_path: Path, reader: str) -> None:
    content = {
        "pubtator": b"100|t|Breast cancer genes.\n100|a|Ovarian \xff tumours.\n",
        "medic": b"D000001||Breast Neoplasms\nD000002||Ovarian \xff Neoplasms\n",
        "iter_lines": b"line one\nline \xff two\n",
    }[reader]
    path = write(tmp_path, "bad_bytes.txt", content)
    with pytest.raises(DataFormatError) as error:
        READERS[reader](path)
    assert_format_error(error.value, path, 2, "utf-8")


@pytest.mark.parametrize("reader", list(READERS))
def test_missing_file(tmp_path: Path, reader: str) -> None:
    path = tmp_path / "no_such_file.txt"
    with pytest.raises(DataFormatError) as error:
        READERS[reader](path)
    assert_format_error(error.value, path, None, "not found")


# --- iter_lines and gzip ----------------------------------------------------------------


def test_iter_lines_numbers_lines_and_drops_line_ends(tmp_path: Path) -> None:
    path = write(tmp_path, "lines.txt", b"first\r\nsecond  \n\nlast\n")
    assert list(iter_lines(path)) == [(1, "first"), (2, "second  "), (3, ""), (4, "last")]
    cut = write(tmp_path, "cut.txt", b"first\r\nsecond  \n\nla")
    with pytest.raises(DataFormatError, match="cut.txt:4: the last line has no final newline"):
        list(iter_lines(cut))


def test_gzip_input(tmp_path: Path, pubtator_file: Path) -> None:
    gz = tmp_path / "corpus.txt.gz"
    gz.write_bytes(gzip.compress(PUBTATOR.encode("utf-8")))
    assert list(iter_lines(gz)) == list(iter_lines(pubtator_file))
    assert list(iter_lines(gz))[0] == (1, "100|t|Breast cancer genes.")
    assert pubtator_mentions(read_pubtator(gz)) == pubtator_mentions(read_pubtator(pubtator_file))


def test_gzip_medic(tmp_path: Path) -> None:
    gz = tmp_path / "medic.txt.gz"
    gz.write_bytes(gzip.compress(b"D000001|123456||Breast Neoplasms|Breast Cancer\n"))
    kb = read_medic_flat(gz)
    assert kb.concepts == {"D000001": ("Breast Neoplasms", "Breast Cancer")}
    assert kb.resolve_id("OMIM:123456") == "D000001"


def test_gzip_with_a_bad_byte_names_the_line(tmp_path: Path) -> None:
    gz = tmp_path / "bad.txt.gz"
    gz.write_bytes(gzip.compress(b"ok\nok\nbad \xfe byte\n"))
    with pytest.raises(DataFormatError) as error:
        list(iter_lines(gz))
    assert_format_error(error.value, gz, 3, "utf-8")


def test_truncated_gzip_is_an_error(tmp_path: Path) -> None:
    data = gzip.compress(("line\n" * 2000).encode("utf-8"))
    gz = write(tmp_path, "truncated.txt.gz", data[: len(data) // 2])
    with pytest.raises(DataFormatError) as error:
        list(iter_lines(gz))
    assert gz.name in str(error.value)


def test_not_gzip_despite_the_suffix_is_an_error(tmp_path: Path) -> None:
    gz = write(tmp_path, "plain.txt.gz", "not compressed\n")
    with pytest.raises(DataFormatError) as error:
        list(iter_lines(gz))
    assert_format_error(error.value, gz, 1, "cannot be read")


# --- MEDIC: good input ---------------------------------------------------------------------

MEDIC = "\n".join(
    [
        "MESH:D001943|114480||Breast Neoplasms|Breast Cancer|Mammary Neoplasms",
        "C535662|613097||Tooth Agenesis, Selective, 6|STHAG6",
        "",  # blank lines carry nothing
        "270400|D019082||Smith-Lemli-Opitz Syndrome|SLOS",  # an OMIM number first: it is canonical
        "D010051||Ovarian Neoplasms| Ovarian Cancer |",
        "D010190|260350||Paget Disease, Extramammary",
        "260350||Paget's disease of bone",  # listed as an alt id above, and a concept of its own
        "",
    ]
)


@pytest.fixture
def medic_file(tmp_path: Path) -> Path:
    return write(tmp_path, "medic.txt", MEDIC)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("MESH:D001943", "D001943"),
        ("D001943", "D001943"),
        ("114480", "OMIM:114480"),
        (" 114480 ", "OMIM:114480"),
        ("OMIM:114480", "OMIM:114480"),
        ("C535662", "C535662"),
    ],
)
def test_medic_id(token: str, expected: str) -> None:
    assert medic_id(token) == expected


def test_read_medic_flat(medic_file: Path) -> None:
    kb = read_medic_flat(medic_file, name="toy-medic")
    assert kb.name == "toy-medic"
    assert list(kb.concepts) == ["D001943", "C535662", "OMIM:270400", "D010051", "D010190", "OMIM:260350"]
    assert kb.concepts["D001943"] == ("Breast Neoplasms", "Breast Cancer", "Mammary Neoplasms")
    assert kb.concepts["D010051"] == ("Ovarian Neoplasms", "Ovarian Cancer")
    assert kb.alt_ids == {"OMIM:114480": "D001943", "OMIM:613097": "C535662", "D019082": "OMIM:270400"}
    assert kb.resolve_id("OMIM:613097") == "C535662"
    assert kb.resolve_id("D019082") == "OMIM:270400"
    assert kb.resolve_id("OMIM:260350") == "OMIM:260350"  # a concept resolves to itself
    assert kb.ids_for_name("slos") == frozenset({"OMIM:270400"})
    assert (kb.n_concepts, kb.n_synonym_pairs) == (6, 11)


# --- gold resolution -------------------------------------------------------------------------


def gold_mention(mention_id: str, raw_ids: str) -> Mention:
    groups = parse_gold_ids(raw_ids)
    return Mention(mention_id, "text", frozenset().union(*groups), gold_groups=groups)


def test_resolve_gold_with_medic_spelling(medic_file: Path) -> None:
    kb = read_medic_flat(medic_file)
    mentions = [
        gold_mention("a", "MESH:C535662"),  # prefix stripped
        gold_mention("b", "OMIM:613097"),  # OMIM alt id -> its MeSH concept
        gold_mention("c", "OMIM:114480|D010051"),  # composite: each group resolved
        gold_mention("d", "D999999"),  # unknown: kept
        gold_mention("e", "D001943+D404"),  # half known
        gold_mention("f", "D019082"),  # a MeSH alt id of an OMIM concept
    ]
    resolved = resolve_gold(mentions, kb, medic_id)
    assert [m.gold_groups for m in resolved] == [
        (frozenset({"C535662"}),),
        (frozenset({"C535662"}),),
        (frozenset({"D001943"}), frozenset({"D010051"})),
        (frozenset({"D999999"}),),
        (frozenset({"D001943"}), frozenset({"D404"})),
        (frozenset({"OMIM:270400"}),),
    ]
    assert resolved[2].composite and resolved[2].gold_ids == frozenset({"D001943", "D010051"})
    assert [m.id for m in resolved] == ["a", "b", "c", "d", "e", "f"]
    assert missing_gold(resolved, kb) == [("d", "D999999"), ("e", "D404")]


def test_resolve_gold_without_spelling_keeps_prefixes(medic_file: Path) -> None:
    kb = read_medic_flat(medic_file)
    resolved = resolve_gold([gold_mention("a", "MESH:C535662"), gold_mention("b", "OMIM:613097")], kb)
    assert [m.gold_ids for m in resolved] == [frozenset({"MESH:C535662"}), frozenset({"C535662"})]
    assert missing_gold(resolved, kb) == [("a", "MESH:C535662")]
