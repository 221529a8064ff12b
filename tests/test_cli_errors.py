"""System errors and bad option values through the CLI: one line, exit 2, the traceback only with --debug."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from conftest import SHARED_DATA, run_cli


def test_out_naming_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli("run", "--system", "exact", "--benchmark", "demo", "--out", str(blocker))
    assert result.returncode == 2
    assert "a file stands where a folder is needed" in result.stderr
    assert str(blocker) in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli("--debug", "run", "--system", "exact", "--benchmark", "demo", "--out", str(blocker))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_a_data_dir_naming_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli("stats", "ncbi-disease", "--data-dir", str(blocker))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(blocker) in result.stderr


def test_an_option_out_of_range_is_one_line(tmp_path: Path) -> None:
    result = run_cli("run", "--system", "tfidf", "--benchmark", "demo", "--set", "ngram_max=-2", "--out", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "tfidf: bad n-gram range (1, -2)" in result.stderr


def _one_clean_line(result) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("bioel-bench: error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# A folder no process may write, root included (this suite runs as root in CI, where chmod stops no one).
UNWRITABLE = Path("/sys/bioel-bench-test")


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs for a folder root cannot write")
def test_an_unwritable_out_or_data_dir_is_one_line(tmp_path: Path) -> None:
    line = _one_clean_line(run_cli("run", "--system", "exact", "--benchmark", "demo", "--out", str(UNWRITABLE)))
    assert str(UNWRITABLE) in line and "not permitted" in line
    prepare = ("prepare", "ncbi-disease", "--from", str(SHARED_DATA), "--data-dir", str(UNWRITABLE))
    line = _one_clean_line(run_cli(*prepare))
    assert str(UNWRITABLE) in line and "not permitted" in line


def test_a_corrupt_gzip_stream_is_one_line_naming_the_file(tmp_path: Path) -> None:
    source = tmp_path / "from"
    for name in (
        "NCBItrainset_corpus.txt",
        "NCBIdevelopset_corpus.txt",
        "NCBItestset_corpus.txt",
        "medic_06Jul2012.txt",
    ):
        original = SHARED_DATA / "ncbi-disease" / name
        if not original.is_file():
            pytest.skip(f"{original} is not here")
        (source / "ncbi-disease").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(original, source / "ncbi-disease" / name)
    (source / "ctd").mkdir()
    # not a deflate stream at all: a gzip header followed by junk
    (source / "ctd" / "CTD_diseases.tsv.gz").write_bytes(gzip.compress(b"x")[:10] + b"\xff" * 200)
    result = run_cli("prepare", "ncbi-disease", "--from", str(source), "--data-dir", str(tmp_path / "data"))
    line = _one_clean_line(result)
    assert "CTD_diseases.tsv.gz" in line


def test_common_benchmark_names_and_a_from_folder_one_level_too_deep(tmp_path):
    from bench.benchmarks.sources import card_sources

    unknown = run_cli("prepare", "askapatient", "--data-dir", str(tmp_path / "d"))
    assert unknown.returncode == 2 and "Did you mean 'aap'?" in unknown.stderr
    layout = tmp_path / "official"
    for source in card_sources("aap"):
        (layout / source.name).parent.mkdir(parents=True, exist_ok=True)
        (layout / source.name).write_text("")
    deep = run_cli("prepare", "aap", "--from", str(layout / "askapatient"), "--data-dir", str(tmp_path / "d"))
    assert deep.returncode == 2
    assert (
        f"is the askapatient/ folder itself; give the folder that holds askapatient/ (--from {layout})" in deep.stderr
    )
    nothing = run_cli("prepare", "aap", "--from", str(tmp_path / "none"), "--data-dir", str(tmp_path / "d"))
    assert "31 required files not found in" in nothing.stderr and nothing.stderr.count("\n") == 1


def test_a_licence_note_shared_by_every_missing_file_is_said_once(tmp_path):
    result = run_cli("prepare", "cometa", "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert result.stderr.count("CC BY-NC-ND") == 1 and "required files licensed" in result.stderr
