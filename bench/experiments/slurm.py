"""The Slurm executor of sweeps: the runs to do as one job array, through submitit.

Each array task calls :func:`bench.runner.execute` on one run, so a task that
is preempted, times out or is cancelled leaves its ``NAME.partial/`` folder and
the next sweep resumes it; finished runs are skipped before submitting. The
resources come from the config's ``slurm`` section:

    slurm:
      partition: gpu               # slurm_partition
      time_min: 240                # timeout_min
      cpus_per_task: 8
      mem_gb: 64
      gpus_per_node: 1             # a run sees these GPUs (CUDA_VISIBLE_DEVICES set by Slurm)
      nodes: 1
      account: my-project          # slurm_account
      qos: normal                  # slurm_qos
      constraint: a100             # slurm_constraint
      array_parallelism: 16        # at most this many runs at once
      setup: ["module load cuda/12.1", "source ~/bioel/.venv/bin/activate"]  # lines run before the task
      additional_parameters: {mail-type: END}                               # any other sbatch option

The run directories must be on a file system that the compute nodes share with
the machine that submits (``--out``); the sweep waits for the jobs, prints each
result, and cancels the jobs still queued or running if it is interrupted.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import BenchError
from bench.results import load_run
from bench.runner import RunSpec, execute

if TYPE_CHECKING:
    from .sweep import Log, SweepRun

#: config key -> submitit AutoExecutor parameter
PARAMETERS = {
    "partition": "slurm_partition",
    "time_min": "timeout_min",
    "cpus_per_task": "cpus_per_task",
    "mem_gb": "mem_gb",
    "gpus_per_node": "gpus_per_node",
    "nodes": "nodes",
    "account": "slurm_account",
    "qos": "slurm_qos",
    "constraint": "slurm_constraint",
    "array_parallelism": "slurm_array_parallelism",
    "setup": "slurm_setup",
    "additional_parameters": "slurm_additional_parameters",
}
POLL_S = 2.0


def executor_parameters(slurm: Mapping[str, Any], name: str = "bioel-bench") -> dict[str, Any]:
    """``AutoExecutor.update_parameters`` keyword arguments from a config's ``slurm`` section."""
    parameters: dict[str, Any] = {"name": name, "tasks_per_node": 1}
    for key, value in slurm.items():
        if key not in PARAMETERS:
            raise BenchError(f"slurm.{key}: not a known Slurm setting ({', '.join(PARAMETERS)})")
        if key == "setup" and isinstance(value, str):
            value = [value]
        parameters[PARAMETERS[key]] = dict(value) if key == "additional_parameters" else value
    return parameters


def make_executor(folder: Path, slurm: Mapping[str, Any], name: str = "bioel-bench", cluster: str = "slurm"):
    """A submitit executor writing its scripts and logs to ``folder``; ``cluster="local"`` for tests."""
    try:
        import submitit
    except ImportError:
        raise BenchError("--executor slurm needs submitit: pip install submitit") from None
    if cluster == "slurm" and shutil.which("sbatch") is None:
        raise BenchError("--executor slurm needs Slurm's sbatch on PATH (run the sweep on a login node)")
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    parameters = executor_parameters(slurm, name)
    if cluster != "slurm":
        parameters = {k: v for k, v in parameters.items() if not k.startswith("slurm_")}
    executor.update_parameters(**parameters)
    return executor


def run_task(spec: RunSpec, out: str, data_dir: str | None) -> str:
    """One array task: run (or resume) ``spec``; its log goes to the task's submitit stdout."""
    os.environ.setdefault("BIOEL_BENCH_PROGRESS", "0")
    tag = f"[{spec.label or spec.system} {spec.benchmark} seed{spec.seed}]"
    record = execute(spec, out, data_dir=data_dir, log=lambda message: print(f"{tag} {message}", flush=True))
    return str(record.path)


def run_on_slurm(
    pending: Sequence[SweepRun],
    out: Path,
    data_dir: str | Path | None,
    slurm: Mapping[str, Any],
    log: Log,
    *,
    cluster: str = "slurm",
) -> list[tuple[SweepRun, str]]:
    """Submit ``pending`` as one job array, wait for every task, return the failures (run, error)."""
    if not pending:
        return []
    out = out.resolve()  # the tasks may start in another working directory
    data = None if data_dir is None else str(Path(data_dir).resolve())
    # a fresh folder per sweep: job ids restart when a cluster's state is wiped, and submitit
    # names its files by job id
    folder = out / "submitit" / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    executor = make_executor(folder, slurm, name=f"bioel-{out.name}", cluster=cluster)
    specs = [run.spec for run in pending]
    jobs = executor.map_array(run_task, specs, [str(out)] * len(specs), [data] * len(specs))
    ids = sorted({str(job.job_id).split("_")[0] for job in jobs})
    log(f"[sweep] submitted {len(jobs)} run(s) as job(s) {', '.join(ids)}; scripts and logs in {folder}")
    failures: list[tuple[SweepRun, str]] = []
    waiting = dict(zip(jobs, pending))
    total, finished = len(jobs), 0
    try:
        while waiting:
            for job in [j for j in waiting if j.done()]:
                run = waiting.pop(job)
                finished += 1
                try:
                    path = job.result()
                except Exception as error:  # FailedJobError (the remote traceback), UncompletedJobError (killed)
                    message = f"{type(error).__name__}: {error}".strip()
                    failures.append((run, message.splitlines()[0] + f" (job {job.job_id}, log {job.paths.stdout})"))
                    log(f"[{finished}/{total}] FAILED {run.describe} (job {job.job_id}): {message}")
                    continue
                record = load_run(path)
                acc = record.metrics["acc"]["union"]
                first = min(acc, key=int)
                log(f"[{finished}/{total}] done {run.describe} (job {job.job_id}): acc@{first} {acc[first]:.4f}")
            if waiting:
                time.sleep(POLL_S)
    except KeyboardInterrupt:
        log(f"[sweep] interrupted: cancelling {len(waiting)} job(s); unfinished runs resume on the next sweep")
        for job in waiting:
            try:
                job.cancel(check=False)
            except Exception:  # noqa: BLE001 - best effort while stopping
                pass
        raise
    return failures
