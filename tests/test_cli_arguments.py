"""Numbers and names the CLI must refuse in one line (no traceback), and prepare's copies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_cli

from bench.benchmarks.prepare import _copy
from bench.cli_types import check_run_name
from bench.errors import BenchError
from bench.runner import RunSpec, execute


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "--system", "exact", "--benchmark", "demo", "--k", "0"], "argument --k: must be at least 1"),
        (["run", "--system", "exact", "--benchmark", "demo", "--k", "1", "-3"], "must be at least 1"),
        (["run", "--system", "exact", "--benchmark", "demo", "--name", "../x"], "one folder name inside --out"),
        (["run", "--system", "exact", "--benchmark", "demo", "--name", "a/b"], "one folder name inside --out"),
        (["compare", "a", "b", "--k", "0"], "argument --k: must be at least 1"),
        (["compare", "a", "b", "--resamples", "0"], "argument --resamples: must be at least 1"),
        (["table", "a", "--k", "0"], "argument --k: must be at least 1"),
        (["errors", "a", "b", "--k", "0"], "argument --k: must be at least 1"),
        (["errors", "a", "b", "--examples", "-1"], "argument --examples: must be at least 0"),
        (["sweep", "configs/smoke.yaml", "--workers", "0"], "argument --workers: must be at least 1"),
        (["sweep", "configs/smoke.yaml", "--workers", "two"], "expected an integer, got 'two'"),
    ],
)
def test_bad_numbers_and_names_are_refused_in_one_line(args, message, tmp_path):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_run_name_cannot_leave_the_out_folder_from_python_either(tmp_path):
    with pytest.raises(BenchError, match="one folder name"):
        execute(RunSpec(system="exact", benchmark="demo"), tmp_path / "runs", run_name="../escaped")
    assert not (tmp_path / "escaped").exists()
    assert check_run_name("exact") is None
    assert check_run_name("x.partial") and check_run_name("..") and check_run_name("")


def test_sweep_workers_zero_is_an_error_not_the_default(tmp_path):
    from bench.experiments.config import load_experiment
    from bench.experiments.sweep import run_sweep

    with pytest.raises(BenchError, match="workers must be at least 1"):
        run_sweep(load_experiment("configs/smoke.yaml"), workers=0, out=tmp_path, log=lambda *_: None)


def test_prepare_copies_the_users_file_and_never_links_it(tmp_path: Path):
    origin = tmp_path / "download" / "corpus.txt"
    origin.parent.mkdir()
    origin.write_text("original\n")
    target = tmp_path / "data" / "raw" / "corpus.txt"
    _copy(origin, target)
    assert target.read_text() == "original\n"
    assert os.stat(origin).st_ino != os.stat(target).st_ino and os.stat(origin).st_nlink == 1
    target.write_text("edited in the data dir\n")
    assert origin.read_text() == "original\n"
