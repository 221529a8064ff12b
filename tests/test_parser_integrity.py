"""Inputs that used to be parsed silently into a different benchmark: each is now an error with file and line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bench.benchmarks.pubtator import MESH_OMIM_IDS, read_pubtator
from bench.benchmarks.textio import iter_lines
from bench.errors import DataFormatError

DOC = (
    "1|t|Breast cancer.\n"
    "1|a|Ovarian cancer too.\n"
    "1\t0\t13\tBreast cancer\tDisease\tD001943\n"
    "1\t15\t29\tOvarian cancer\tDisease\tD010051\n"
    "\n"
)


def write(tmp_path: Path, text: str | bytes, name: str = "corpus.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_the_well_formed_file_parses(tmp_path: Path) -> None:
    (doc,) = read_pubtator(write(tmp_path, DOC), MESH_OMIM_IDS)
    assert [a.ids for a in doc.annotations] == ["D001943", "D010051"]


def test_a_file_cut_mid_line_is_an_error(tmp_path: Path) -> None:
    cut = DOC[: DOC.index("D010051") + 4]
    with pytest.raises(DataFormatError, match=r"corpus.txt:4: the last line has no final newline"):
        read_pubtator(write(tmp_path, cut))


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no document in the file"):
        read_pubtator(write(tmp_path, ""))


def test_a_byte_order_mark_is_dropped_not_glued_to_the_first_field(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbfC565588||Some disease\n", "kb.txt")
    assert list(iter_lines(path)) == [(1, "C565588||Some disease")]
    (doc,) = read_pubtator(write(tmp_path, "\ufeff" + DOC))
    assert doc.pmid == "1"


def test_a_duplicated_annotation_line_is_an_error(tmp_path: Path) -> None:
    lines = DOC.splitlines(keepends=True)
    doubled = "".join(lines[:3] + [lines[2]] + lines[3:])
    with pytest.raises(DataFormatError, match=r"corpus.txt:4: annotation 0-13 Disease repeats the one on line 3"):
        read_pubtator(write(tmp_path, doubled))


def test_an_empty_entity_type_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"corpus.txt:3: empty entity type"):
        read_pubtator(write(tmp_path, DOC.replace("\tDisease\tD001943", "\t\tD001943")))


@pytest.mark.parametrize("junk", ["2971Z2003", "D001943|X", "C" * 5_000_000])
def test_ids_outside_the_documented_forms_are_errors(tmp_path: Path, junk: str) -> None:
    with pytest.raises(DataFormatError, match=r"corpus.txt:3: concept id .* is not a MeSH, OMIM or -1 id") as error:
        read_pubtator(write(tmp_path, DOC.replace("D001943", junk)), MESH_OMIM_IDS)
    assert len(str(error.value)) < 300  # a 5 MB id is not echoed


@pytest.mark.parametrize("good", ["OMIM:607642", "607642", "MESH:D001943", "D001943+D010051", "-1", "C537666"])
def test_documented_id_forms_pass(tmp_path: Path, good: str) -> None:
    (doc,) = read_pubtator(write(tmp_path, DOC.replace("D001943", good)), MESH_OMIM_IDS)
    assert doc.annotations[0].ids == good


def test_a_corrupt_gzip_stream_is_an_error_with_the_file(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(("x\ty\n" * 5000).encode()))
    packed[len(packed) // 2] ^= 0xFF
    path = write(tmp_path, bytes(packed), "kb.tsv.gz")
    with pytest.raises(DataFormatError, match=r"kb.tsv.gz:\d+: cannot be read"):
        list(iter_lines(path))
