"""System errors and bad option values through the CLI: one line, exit 2, the traceback only with --debug."""

from __future__ import annotations

from pathlib import Path

from conftest import run_cli


def test_out_naming_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli("run", "--system", "exact", "--benchmark", "demo", "--out", str(blocker))
    assert result.returncode == 2
    assert "Not a directory" in result.stderr and "a file stands where a folder is needed" in result.stderr
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
