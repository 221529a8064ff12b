"""The results store: complete runs only, atomic publication, resume after a kill."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from bench.errors import IncompleteRunError
from bench.results import METRICS, PREDICTIONS, atomic_write_text, load_run
from bench.runner import RunSpec, execute


def quiet(*_args):
    pass


def test_run_directory_holds_config_metrics_predictions_environment(tmp_path):
    record = execute(RunSpec("tfidf", "demo", ks=(1, 5)), tmp_path, run_name="r", log=quiet)
    files = {p.name for p in record.path.iterdir()}
    assert {"config.json", "metrics.json", "predictions.jsonl", "environment.json"} <= files
    assert record.metrics["schema_version"] == 1
    assert record.config["options"]["analyzer"] == "char_wb"  # resolved defaults are recorded
    assert set(record.metrics["checksums"]) >= {"test", "kb", "splits", "sources"}
    assert record.environment["packages"]["numpy"]
    assert "revision" in record.environment["git"]
    rows = [json.loads(line) for line in (record.path / PREDICTIONS).read_text().splitlines()]
    assert len(rows) == record.metrics["n_mentions"] == 195
    assert {"id", "gold", "candidates", "mention_seen", "concept_seen"} <= set(rows[0])
    assert not list(tmp_path.glob("*.partial"))


def test_identical_request_reuses_the_finished_run(tmp_path):
    first = execute(RunSpec("exact", "demo"), tmp_path, run_name="r", log=quiet)
    messages = []
    second = execute(RunSpec("exact", "demo"), tmp_path, run_name="r", log=messages.append)
    assert second.metrics == first.metrics
    assert any("reusing" in m for m in messages)


def test_a_different_config_under_the_same_name_is_refused(tmp_path):
    execute(RunSpec("exact", "demo"), tmp_path, run_name="r", log=quiet)
    with pytest.raises(Exception, match="different config"):
        execute(RunSpec("exact", "demo", settings={"use_training_mentions": True}), tmp_path, run_name="r", log=quiet)


def test_partial_and_damaged_directories_do_not_read_as_results(tmp_path):
    (tmp_path / "r.partial").mkdir()
    with pytest.raises(IncompleteRunError):
        load_run(tmp_path / "r.partial")
    with pytest.raises(IncompleteRunError, match="has not finished"):
        load_run(tmp_path / "r")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "config.json").write_text("{}")
    with pytest.raises(IncompleteRunError, match="missing"):
        load_run(tmp_path / "s")


def test_atomic_write_leaves_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    atomic_write_text(target, "old")

    def explode(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", explode)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # no temporary left behind


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import bench.results as results
    import bench.runner as runner

    def write_half_then_die(path, rows):
        rows = list(rows)
        with open(path, "w") as handle:          # a torn, non-atomic write
            for row in rows[: len(rows) // 2]:
                handle.write(str(row) + "\\n")
            handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    runner.write_jsonl = write_half_then_die
    from bench.cli import main
    sys.exit(main(["run", "--system", "tfidf", "--benchmark", "demo", "--out", sys.argv[1], "--name", "r"]))
    """
)


def test_a_run_killed_mid_write_is_not_a_result_and_resumes(tmp_path):
    killed = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path)], capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert (tmp_path / "r.partial").is_dir()
    assert not (tmp_path / "r").exists()
    with pytest.raises(IncompleteRunError):
        load_run(tmp_path / "r")

    messages = []
    resumed = execute(RunSpec("tfidf", "demo"), tmp_path, run_name="r", log=messages.append)
    assert any("resuming" in m for m in messages)
    assert resumed.metrics["timings"]["resumed"] is True
    clean = execute(RunSpec("tfidf", "demo"), tmp_path / "clean", run_name="r", log=quiet)
    assert resumed.metrics["acc"] == clean.metrics["acc"]
    assert (resumed.path / PREDICTIONS).read_text() == (clean.path / PREDICTIONS).read_text()
    assert json.loads((resumed.path / METRICS).read_text())["n_mentions"] == 195


def test_exported_run_is_small_complete_and_reads_the_same(tmp_path):
    from bench.results import export_run

    record = execute(RunSpec("tfidf", "demo", ks=(1, 5)), tmp_path / "runs", run_name="r", log=quiet)
    (record.path / "work" / "checkpoint").mkdir(parents=True)  # working files are not exported
    exported = load_run(export_run(record, tmp_path / "exported"))
    assert sorted(p.name for p in exported.path.iterdir()) == [
        "config.json",
        "environment.json",
        "log.txt",  # stage lines with timestamps: the report's run-times table reads them
        "metrics.json",
        "predictions.jsonl.gz",
    ]
    assert exported.rows == record.rows and exported.metrics == record.metrics
    again = export_run(record, tmp_path / "exported2")
    assert (again / "predictions.jsonl.gz").read_bytes() == (exported.path / "predictions.jsonl.gz").read_bytes()
