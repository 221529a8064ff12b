"""``--executor slurm``: the same runs as a Slurm job array through submitit, against a real (single-node) Slurm.

The cluster tests bring one up with ``.ci/slurm.sh up`` (root, Debian packages, no systemd) and are skipped
with the reason when that cannot work here. ``BIOEL_SLURM_CLUSTER=1`` says a cluster is already up (its
``sinfo``/``sbatch``/``sacct`` on PATH, ``BIOEL_SLURM_PARTITION`` optional): the tests then submit to it.
``BIOEL_SLURM_REQUIRED=1`` turns "cannot start Slurm" into a failure instead of a skip (for CI).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.experiments.config import load_experiment, parse_experiment
from bench.experiments.slurm import executor_parameters, run_on_slurm
from bench.experiments.sweep import DONE, SweepError, plan, run_sweep
from bench.results import METRICS

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / ".ci" / "slurm.sh"
SACCT = REPO / ".ci" / "sacct"


def demo_config(folder: Path, systems: dict, slurm: dict | None = None, seeds=(0,)):
    return parse_experiment(
        {
            "name": "slurm-test",
            "ks": [1, 5],
            "seeds": list(seeds),
            "benchmarks": ["demo"],
            "systems": systems,
            "slurm": slurm or {},
        },
        folder / "slurm-test.yaml",
    )


def accuracies(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text())["acc"] for p in sorted(out.glob(f"*/{METRICS}"))}


# --- without a cluster ------------------------------------------------------------


def test_config_resources_become_submitit_parameters():
    config = load_experiment(REPO / "configs" / "smoke.yaml")
    assert executor_parameters(config.slurm, "smoke") == {
        "name": "smoke",
        "tasks_per_node": 1,
        "timeout_min": 20,
        "cpus_per_task": 1,
        "mem_gb": 4,
    }
    full = executor_parameters(
        {
            "partition": "gpu",
            "time_min": 240,
            "gpus_per_node": 4,
            "account": "lab",
            "qos": "high",
            "constraint": "a100",
            "nodes": 1,
            "array_parallelism": 8,
            "setup": "module load cuda",
            "additional_parameters": {"mail-type": "END"},
        }
    )
    assert full["slurm_partition"] == "gpu" and full["timeout_min"] == 240 and full["gpus_per_node"] == 4
    assert full["slurm_account"] == "lab" and full["slurm_qos"] == "high" and full["slurm_constraint"] == "a100"
    assert full["slurm_array_parallelism"] == 8 and full["slurm_setup"] == ["module load cuda"]
    assert full["slurm_additional_parameters"] == {"mail-type": "END"}
    with pytest.raises(BenchError, match="slurm.gpus"):
        executor_parameters({"gpus": 1})


def test_slurm_executor_without_sbatch_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("submitit")
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch anywhere
    config = demo_config(tmp_path, {"exact": {"system": "exact"}})
    with pytest.raises(BenchError, match="needs Slurm's sbatch"):
        run_sweep(config, executor="slurm", out=tmp_path / "runs", log=lambda line: None)


def test_the_submitit_path_on_its_local_cluster(tmp_path):
    """The job-array code path (submit, wait, collect) with submitit's local stand-in for Slurm."""
    pytest.importorskip("submitit")
    config = demo_config(tmp_path, {"exact": {"system": "exact"}}, seeds=(0, 1))
    out = tmp_path / "runs"
    pending = plan(config, out=out)
    lines: list[str] = []
    assert run_on_slurm(pending, out, None, {"time_min": 5}, lines.append, cluster="local") == []
    assert {r.status for r in plan(config, out=out)} == {DONE}
    assert any("submitted 2 run(s)" in line for line in lines)
    assert list((out / "submitit").iterdir())  # scripts and logs in a fresh folder per sweep


# --- on a real Slurm --------------------------------------------------------------


def _cannot(reason: str):
    if os.environ.get("BIOEL_SLURM_REQUIRED") == "1":
        pytest.fail(f"Slurm is required here (BIOEL_SLURM_REQUIRED=1) but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """A Slurm to submit to: {'partition': ...}; brought up (and down) by .ci/slurm.sh unless one is up."""
    pytest.importorskip("submitit")
    if os.environ.get("BIOEL_SLURM_CLUSTER") == "1":
        if shutil.which("sbatch") is None:
            _cannot("BIOEL_SLURM_CLUSTER=1 but no sbatch on PATH")
        yield {"partition": os.environ.get("BIOEL_SLURM_PARTITION")}
        return
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        _cannot("starting a single-node Slurm with .ci/slurm.sh needs root on Linux (BIOEL_SLURM_CLUSTER=1 uses one)")
    if Path("/etc/slurm/slurm.conf").exists() and shutil.which("sbatch"):
        _cannot("this machine has a Slurm of its own (/etc/slurm/slurm.conf): set BIOEL_SLURM_CLUSTER=1 to use it")
    was_up = subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True).returncode == 0
    up = subprocess.run(["bash", str(SCRIPT), "up"], capture_output=True, text=True, timeout=900)
    if up.returncode != 0:
        _cannot(f".ci/slurm.sh up failed: {' '.join(up.stderr.strip().splitlines()[-3:])}")
    conf = re.search(r"export SLURM_CONF=(\S+)", up.stdout).group(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLURM_CONF", conf)
        check = subprocess.run(["sacct", "-o", "JobID", "--parsable2", "-j", "1"], capture_output=True)
        if check.returncode != 0:  # no accounting: answer submitit's sacct calls from squeue
            bin_dir = tmp_path_factory.mktemp("sacct-bin")
            (bin_dir / "sacct").symlink_to(SACCT)
            patch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        try:
            yield {"partition": None}
        finally:
            if not was_up:
                subprocess.run(["bash", str(SCRIPT), "down"], capture_output=True, timeout=120)


def test_a_job_array_on_slurm_gives_the_local_results(slurm_cluster, tmp_path):
    resources = {"time_min": 10, "cpus_per_task": 1, "mem_gb": 1}
    if slurm_cluster["partition"]:
        resources["partition"] = slurm_cluster["partition"]
    config = demo_config(tmp_path, {"exact": {"system": "exact"}, "tfidf": {"system": "tfidf"}}, resources)
    lines: list[str] = []
    records = run_sweep(config, executor="slurm", out=tmp_path / "slurm", log=lines.append)
    assert [r.system for r in records] == ["exact", "tfidf"]
    assert any(re.search(r"submitted 2 run\(s\) as job\(s\) \d+", line) for line in lines), lines
    folders = list((tmp_path / "slurm" / "submitit").iterdir())
    assert len(folders) == 1 and list(folders[0].glob("*_0_log.out"))  # one array, its logs kept
    run_sweep(config, executor="local", workers=2, out=tmp_path / "local", log=lambda line: None)
    assert accuracies(tmp_path / "slurm") == accuracies(tmp_path / "local")
    assert len(accuracies(tmp_path / "local")) == 2
    # nothing is submitted again once done
    again: list[str] = []
    run_sweep(config, executor="slurm", out=tmp_path / "slurm", log=again.append)
    assert not any("submitted" in line for line in again)


def test_a_job_killed_before_its_result_fails_the_run_instead_of_hanging(slurm_cluster, tmp_path):
    resources = {"time_min": 10, "cpus_per_task": 1, "mem_gb": 1}
    if slurm_cluster["partition"]:
        resources["partition"] = slurm_cluster["partition"]
    config = demo_config(tmp_path, {"tfidf": {"system": "tfidf"}}, resources)
    lines: list[str] = []
    outcome: dict = {}

    def sweep():
        try:
            run_sweep(config, executor="slurm", out=tmp_path / "runs", log=lines.append)
        except Exception as error:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = error

    thread = threading.Thread(target=sweep, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not any("submitted" in line for line in lines):
        assert time.monotonic() < deadline and thread.is_alive(), lines
        time.sleep(0.1)
    job = re.search(r"job\(s\) (\d+)", next(line for line in lines if "submitted" in line)).group(1)
    subprocess.run(["scancel", job], check=True)
    thread.join(timeout=180)
    assert not thread.is_alive(), f"the sweep still waits on cancelled job {job}: {lines}"
    assert isinstance(outcome.get("error"), SweepError), outcome
    assert "tfidf" in str(outcome["error"]) and job in str(outcome["error"])
