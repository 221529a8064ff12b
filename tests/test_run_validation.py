"""Reading a run validates it: damaged predictions or metrics are refused with the reason, through the CLI too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import run_cli

from bench.errors import BenchError
from bench.results import METRICS, PREDICTIONS, load_run
from bench.runner import RunSpec, execute


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    return execute(RunSpec("exact", "demo", ks=(1, 5)), out, run_name="exact", log=lambda *_: None).path


def damaged(good_run: Path, tmp_path: Path, name: str, edit) -> Path:
    copy = tmp_path / name
    shutil.copytree(good_run, copy)
    edit(copy)
    return copy


def _lines(run: Path) -> list[str]:
    return (run / PREDICTIONS).read_text().splitlines(keepends=True)


CASES = {
    "duplicated-row": (lambda r: (r / PREDICTIONS).write_text("".join(_lines(r) + _lines(r)[:1])), "already has a row"),
    "truncated": (lambda r: (r / PREDICTIONS).write_text("".join(_lines(r))[:-40]), "no final newline"),
    "missing-row": (lambda r: (r / PREDICTIONS).write_text("".join(_lines(r)[:-1])), "194 prediction rows"),
    "row-not-object": (lambda r: (r / PREDICTIONS).write_text("[1, 2]\n" + "".join(_lines(r)[1:])), "needs id"),
    "metrics-garbage": (lambda r: (r / METRICS).write_text("{not json"), "not valid JSON"),
    "metrics-not-utf8": (lambda r: (r / METRICS).write_bytes(b'{"acc": "\xff"}'), "not valid UTF-8"),
    "metrics-list": (lambda r: (r / METRICS).write_text("[1, 2]"), "expected a JSON object, found a list"),
    "metrics-no-acc": (lambda r: (r / METRICS).write_text('{"schema_version": 1}'), "no 'acc' table"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_run_is_refused_with_the_reason(good_run: Path, tmp_path: Path, case: str) -> None:
    edit, message = CASES[case]
    run = damaged(good_run, tmp_path, case, edit)
    with pytest.raises(BenchError, match=message):
        load_run(run).rows  # noqa: B018 (reading is the check)


@pytest.mark.parametrize("verb", ["compare", "export"])
@pytest.mark.parametrize("case", ["duplicated-row", "truncated", "metrics-list"])
def test_compare_and_export_refuse_a_damaged_run_in_one_line(good_run: Path, tmp_path: Path, verb, case) -> None:
    edit, message = CASES[case]
    run = damaged(good_run, tmp_path, case, edit)
    args = [verb, str(good_run), str(run)] if verb == "compare" else [verb, str(run), "--out", str(tmp_path / "x")]
    result = run_cli(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x" / run.name).exists()


def test_the_good_run_reads(good_run: Path) -> None:
    assert len(load_run(good_run).rows) == 195
