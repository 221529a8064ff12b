"""Sweeps: plan with statuses, parallel local runs, skip what is done, resume after a kill, report failures."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.experiments.config import load_experiment
from bench.experiments.sweep import (
    DONE,
    PARTIAL,
    PLAN_FILE,
    TODO,
    SweepError,
    _SweepLock,
    main,
    plan,
    read_plan,
    run_sweep,
    schedule_order,
    stage_group,
)
from bench.results import METRICS, load_run

REPO = Path(__file__).resolve().parents[1]

# exact and tfidf on the demo, two seeds, one sweep axis: 8 planned runs, 6 distinct (use_training_mentions=false
# is exact's default, so exact/use_training_mentions=false is the same run as exact)
SMALL = """\
name: small
ks: [1, 5]
seeds: [0, 1]
benchmarks: [demo]
executor: {kind: local, workers: 2}
systems:
  exact: {system: exact}
  tfidf: {system: tfidf}
sweeps:
  memory:
    base: exact
    option: use_training_mentions
    values: [true, false]
"""


def write_config(folder: Path, text: str = SMALL, name: str = "small.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def accuracies(out: Path) -> dict[str, dict]:
    """Run directory name -> metrics.json ``acc`` (every rule, every k) for every finished run in ``out``."""
    return {
        p.parent.name: json.loads(p.read_text())["acc"]
        for p in sorted(out.glob(f"*/{METRICS}"))
        if not p.parent.name.endswith(".partial")
    }


def sweep_argv() -> list[str]:
    """``python -m bench sweep`` once the CLI has the verb, else this module's own ``main``."""
    from bench.cli import build_parser

    verbs = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    if verbs and "sweep" in verbs[0].choices:
        return [sys.executable, "-m", "bench", "sweep"]
    return [sys.executable, "-m", "bench.experiments.sweep"]


def sweep_env(data: Path) -> dict[str, str]:
    # a data folder per sweep: the generative systems cache trained stages there, and a reference
    # sweep must not reuse what the interrupted one trained
    return {**os.environ, "BIOEL_BENCH_PROGRESS": "0", "BIOEL_BENCH_DATA": str(data)}


def run_cli_sweep(*args: str, data: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*sweep_argv(), *args], capture_output=True, text=True, env=sweep_env(data), cwd=REPO, timeout=timeout
    )


def wait_for_group_exit(pgid: int, timeout: float = 20.0) -> None:
    """Wait until no live process (zombies aside) is left in process group ``pgid``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for status in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = status.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(status.parent.name)
        if not alive:
            return
        time.sleep(0.2)
    raise AssertionError(f"processes of the killed sweep still running: {alive}")


def kill_sweep_when(argv_args: list[str], data: Path, ready, timeout: float = 300.0) -> str:
    """Start a sweep, SIGKILL its main process once ``ready()`` is true, wait for its workers to die."""
    log = data.parent / f"{data.name}.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [*sweep_argv(), *argv_args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=sweep_env(data),
            cwd=REPO,
            start_new_session=True,  # its own process group: we can check that its workers die with it
        )
        deadline = time.monotonic() + timeout
        try:
            while not ready():
                assert process.poll() is None, f"the sweep ended before it could be killed:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"nothing to kill after {timeout} s:\n{log.read_text()}"
                time.sleep(0.1)
            os.kill(process.pid, signal.SIGKILL)  # the main process only: the workers must follow by themselves
            process.wait(timeout=30)
            if sys.platform.startswith("linux"):
                wait_for_group_exit(process.pid)
            else:
                time.sleep(2)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return log.read_text()


def finished_runs(out: Path) -> list[Path]:
    return [p for p in out.glob("*") if p.is_dir() and (p / METRICS).is_file() and not p.name.endswith(".partial")]


# --- planning ------------------------------------------------------------------


def test_dry_run_lists_every_run_with_its_status_and_runs_nothing(tmp_path, capsys):
    config = load_experiment(write_config(tmp_path))
    out = tmp_path / "runs"
    runs = plan(config, out=out)
    # every table's first seed first (main systems, then the sweeps), then the next seed
    assert [(r.label, r.spec.seed) for r in runs] == [
        ("exact", 0),
        ("tfidf", 0),
        ("exact/use_training_mentions=True", 0),
        ("exact/use_training_mentions=False", 0),
        ("exact", 1),
        ("tfidf", 1),
        ("exact/use_training_mentions=True", 1),
        ("exact/use_training_mentions=False", 1),
    ]
    assert {r.status for r in runs} == {TODO}
    assert len({r.run_dir for r in runs}) == 6  # the sweep value equal to the default is the same run as exact
    assert runs[0].run_dir == runs[3].run_dir and runs[0].run_dir.name.startswith("demo__exact__seed0__")

    (out / (runs[1].run_dir.name + ".partial")).mkdir(parents=True)  # an interrupted tfidf run
    assert [r.status for r in plan(config, out=out)][1] == PARTIAL

    assert main([str(config.path), "--dry-run", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "8 runs (6 distinct)" in printed and "1 to resume, 5 to run" in printed
    assert printed.count("todo") == 7 and printed.count("partial") == 1
    assert runs[4].run_dir.name in printed
    assert sorted(p.name for p in out.iterdir()) == [runs[1].run_dir.name + ".partial"]  # nothing written


def test_unknown_executor_and_bad_workers_are_clear_errors(tmp_path):
    config = load_experiment(write_config(tmp_path))
    with pytest.raises(BenchError, match="unknown executor 'pbs'"):
        run_sweep(config, executor="pbs", out=tmp_path / "runs")
    with pytest.raises(BenchError, match="workers must be at least 1"):
        run_sweep(config, workers=-1, out=tmp_path / "runs")


# --- running -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    """The small config swept once with two local workers: (config, out, records, log lines)."""
    folder = tmp_path_factory.mktemp("small")
    config = load_experiment(write_config(folder))
    out = folder / "runs"
    lines: list[str] = []
    records = run_sweep(config, out=out, log=lines.append)
    return config, out, records, lines


def test_sweep_runs_every_distinct_run_once_where_the_plan_says(small_sweep):
    config, out, records, lines = small_sweep
    runs = plan(config, out=out)
    assert {r.status for r in runs} == {DONE}
    assert [r.path for r in records] == list(dict.fromkeys(r.run_dir for r in runs))  # plan order, no duplicates
    assert len(records) == 6 and len(finished_runs(out)) == 6
    assert any(line.startswith("[6/6] done") for line in lines)
    by_label = {(r.config["label"], r.config["seed"]): r for r in records}
    assert by_label[("tfidf", 1)].config["experiment"] == "small"
    recorded = by_label[("exact/use_training_mentions=True", 0)].config["options"]
    assert recorded == {"use_training_mentions": True, "memory_rule": "union", "memory_splits": "train+dev"}
    # the plan file: every planned run (labels included) and its directory, to rebuild tables from
    plan_rows = read_plan(out)
    assert [(r["label"], r["seed"]) for r in plan_rows] == [(r.label, r.spec.seed) for r in runs]
    assert all(load_run(r["path"]).config["run_key"] == r["run_key"] for r in plan_rows)
    assert plan_rows[2]["spec"]["settings"] == {"use_training_mentions": True}
    assert json.loads((out / PLAN_FILE).read_text())["experiment"] == "small"


def test_runs_of_one_benchmark_and_seed_never_overlap_but_other_groups_do(small_sweep):
    """Two workers: a run waits while a run that may share its training stages is in flight."""
    config, out, _, lines = small_sweep
    describe = {r.describe: stage_group(r) for r in plan(config, out=out)}
    in_flight: dict[tuple[str, int], int] = {}
    most_at_once = 0
    for line in lines:
        if line.startswith("[sweep] starting "):
            group = describe[line.removeprefix("[sweep] starting ").split(" -> ")[0]]
            assert in_flight.get(group, 0) == 0, f"two runs of {group} at once"
            in_flight[group] = 1
        elif " done " in line and line.startswith("["):
            group = describe[line.split(" done ", 1)[1].split(": acc@")[0]]
            in_flight[group] = 0
        most_at_once = max(most_at_once, sum(in_flight.values()))
    assert most_at_once == 2  # seeds 0 and 1 are separate groups: they did run side by side


def test_schedule_order_takes_the_first_run_whose_group_is_free(tmp_path):
    config = load_experiment(write_config(tmp_path))
    runs = plan(config, out=tmp_path / "runs")
    seed0 = [r for r in runs if r.spec.seed == 0]
    seed1 = [r for r in runs if r.spec.seed == 1]
    assert schedule_order(runs, set()) is runs[0]
    assert schedule_order(runs, {("demo", 0)}) is seed1[0]
    assert schedule_order(seed0, {("demo", 0)}) is None
    assert schedule_order(runs, {("demo", 0), ("demo", 1)}) is None


def test_a_second_sweep_skips_everything(small_sweep):
    config, out, records, _ = small_sweep
    before = {p.name: p.stat().st_mtime_ns for p in out.glob(f"*/{METRICS}")}
    lines: list[str] = []
    again = run_sweep(config, out=out, log=lines.append)
    assert [r.path for r in again] == [r.path for r in records]
    assert "6 done, 0 to resume, 0 to run" in lines[0]
    assert not any("starting" in line or "resuming" in line for line in lines)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob(f"*/{METRICS}")} == before


def test_a_failed_run_is_reported_and_the_others_finish(tmp_path, capsys):
    config_path = write_config(
        tmp_path, SMALL.replace("tfidf: {system: tfidf}", "").replace("seeds: [0, 1]", "seeds: [0]")
    )
    config = load_experiment(config_path)
    out = tmp_path / "runs"
    runs = plan(config, out=out)
    clash = runs[0].run_dir  # something else under exact's directory name: execute refuses to overwrite it
    clash.mkdir(parents=True)
    (clash / "config.json").write_text(json.dumps({"run_key": "someone-else"}))
    with pytest.raises(SweepError) as failed:
        run_sweep(config, out=out, workers=1, log=lambda line: None)
    assert [run.label for run, _ in failed.value.failures] == ["exact"]
    assert clash.name in failed.value.failures[0][1]
    assert [r.config["label"] for r in failed.value.records] == ["exact/use_training_mentions=True"]
    # the command line says which run failed and why, and exits 1
    assert main([str(config_path), "--out", str(out), "--workers", "1"]) == 1
    assert "1 run(s) failed" in capsys.readouterr().err


def test_one_sweep_at_a_time_per_output_folder(tmp_path):
    config = load_experiment(write_config(tmp_path))
    out = tmp_path / "runs"
    out.mkdir()
    with _SweepLock(out):
        with pytest.raises(BenchError, match="another sweep is running"):
            run_sweep(config, out=out)


# --- interruption ----------------------------------------------------------------


def test_killed_sweep_resumes_and_matches_an_uninterrupted_one(small_sweep, tmp_path):
    """kill -9 the sweep after its first finished run; the next sweep resumes and ends with the same results."""
    config, reference, _, _ = small_sweep
    out = tmp_path / "runs"
    args = [str(config.path), "--out", str(out)]
    log = kill_sweep_when(args, tmp_path / "data", lambda: len(finished_runs(out)) >= 1)
    assert len(finished_runs(out)) < 6, log
    statuses = [r.status for r in plan(config, out=out)]
    assert DONE in statuses and TODO in statuses

    resumed = run_cli_sweep(*args, data=tmp_path / "data")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "to run" in resumed.stdout and "[" in resumed.stdout
    assert accuracies(out) == accuracies(reference)
    assert len(accuracies(out)) == 6 and not list(out.glob("*.partial"))


@pytest.mark.slow
def test_smoke_sweep_killed_mid_training_resumes_to_the_same_results(tmp_path):
    """The issue's acceptance test: configs/smoke.yaml, killed while a generative run is training."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    smoke = REPO / "configs" / "smoke.yaml"

    # killed once a generative run has saved a trained stage or (part of) a checkpoint: the resumed run goes
    # on from the stage, the last complete checkpoint, or from scratch when the only checkpoint was cut short
    def training_saved() -> bool:
        saved = [*out.glob("*.partial/work/*/final/stage.json"), *out.glob("*.partial/work/*/checkpoint-*/*.json")]
        return len(finished_runs(out)) >= 1 and bool(saved)

    out = tmp_path / "interrupted"
    log = kill_sweep_when([str(smoke), "--out", str(out)], tmp_path / "data-a", training_saved)
    assert list(out.glob("*.partial")), log
    resumed = run_cli_sweep(str(smoke), "--out", str(out), data=tmp_path / "data-a")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resuming the interrupted run" in resumed.stdout

    reference = tmp_path / "uninterrupted"
    straight = run_cli_sweep(str(smoke), "--out", str(reference), data=tmp_path / "data-b")
    assert straight.returncode == 0, straight.stdout + straight.stderr
    expected = accuracies(reference)
    assert len(expected) == len({r.run_dir for r in plan(load_experiment(smoke), out=reference)}) == 5
    assert accuracies(out) == expected
