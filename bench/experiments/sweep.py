"""Sweeps: run every run of an experiment config, skipping finished ones and resuming interrupted ones.

``bioel-bench sweep CONFIG`` expands the config (:mod:`bench.experiments.config`)
into runs, finds each run's directory and status without running anything
(*done*: a finished run with the same resolved config and data checksums;
*partial*: an interrupted run that resumes from its ``NAME.partial/`` folder;
*todo*), writes the expanded plan to ``<out>/sweep.json`` and runs what is not
done: in parallel local processes (default), or as one Slurm job array through
submitit (``--executor slurm``, :mod:`bench.experiments.slurm`).

A failed run is reported with its error and the sweep goes on; the command
exits non-zero at the end. Interrupting a sweep (Ctrl-C, or even ``kill -9``)
loses at most the unsaved progress of the runs in flight: the next sweep skips
what finished and resumes the rest.

    python -m bench.experiments.sweep configs/smoke.yaml --dry-run
    python -m bench.experiments.sweep configs/smoke.yaml --workers 2 --out runs/smoke
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import dataclasses
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.benchmark import BenchmarkSuite
from bench.cli_types import positive_int
from bench.code_identity import result_identity
from bench.errors import BenchError
from bench.linker import options_to_dict
from bench.protocols import profile_record
from bench.registry import SYSTEMS
from bench.results import CONFIG, SCHEMA_VERSION, RunRecord, load_run, partial_dir, write_json
from bench.runner import RunSpec, execute, load_benchmark, run_key

from .config import ExperimentConfig, PlannedRun, load_experiment

DONE, PARTIAL, TODO = "done", "partial", "todo"
PLAN_FILE = "sweep.json"
PLAN_SCHEMA_VERSION = 1

Log = Callable[[str], None]


@dataclass(frozen=True)
class SweepRun:
    """A planned run with where it lives and how far it got."""

    label: str
    spec: RunSpec
    ablation: str | None
    run_dir: Path  # the final directory (``execute`` writes it, ``report`` reads it)
    run_key: str
    status: str  # done | partial | todo

    @property
    def describe(self) -> str:
        return f"{self.label} on {self.spec.benchmark}, seed {self.spec.seed}"


class SweepError(BenchError):
    """Some runs of a sweep failed; the others finished (``records``)."""

    def __init__(self, failures: Sequence[tuple[SweepRun, str]], records: Sequence[RunRecord]):
        self.failures = list(failures)
        self.records = list(records)
        lines = [f"{len(self.failures)} run(s) failed:"]
        lines += [f"  {run.describe} ({run.run_dir.name}): {error}" for run, error in self.failures]
        super().__init__("\n".join(lines))


# --- planning ------------------------------------------------------------------


class _Resolver:
    """Run directories and keys the way :func:`bench.runner.execute` computes them, without fitting.

    The key hashes the resolved system options and the data checksums, so the
    benchmark is loaded (parsed benchmarks are cached on disk) once per
    (benchmark, profile) and shared across the plan.
    """

    def __init__(self, out: Path, data_dir: str | Path | None):
        self.out = out
        self.data_dir = data_dir
        self._benchmarks: dict[tuple[str, str], Any] = {}
        self._options: dict[tuple[str, str], dict[str, Any]] = {}

    def benchmark(self, name: str, profile: str):
        if (name, profile) not in self._benchmarks:
            self._benchmarks[(name, profile)] = load_benchmark(name, profile, self.data_dir)
        return self._benchmarks[(name, profile)]

    def options(self, spec: RunSpec) -> dict[str, Any]:
        cache_key = (spec.system, json.dumps(dict(spec.settings), sort_keys=True, default=str))
        if cache_key not in self._options:
            linker = SYSTEMS.get(spec.system).from_settings(dict(spec.settings))
            self._options[cache_key] = options_to_dict(linker.options)
        return self._options[cache_key]

    def resolve(self, spec: RunSpec) -> tuple[Path, str, str]:
        """(final run directory, run key, status) of ``spec``; mirrors ``execute``/``execute_suite``."""
        ks = sorted(set(spec.ks))
        benchmark = self.benchmark(spec.benchmark, spec.profile)
        config: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "system": spec.system,
            "options": self.options(spec),
            "benchmark": spec.benchmark,
            **profile_record(spec.profile),
            "split": spec.split,
            "ks": ks,
            "seed": spec.seed,
            **result_identity(SYSTEMS.get(spec.system), self.options(spec)),
        }
        if isinstance(benchmark, BenchmarkSuite):
            members = [self.resolve(dataclasses.replace(spec, benchmark=m)) for m in benchmark.members]
            config["members"] = {m: path.name for m, (path, _, _) in zip(benchmark.members, members)}
            member_checksums = {}
            for member in benchmark.members:
                checksums = self.benchmark(member, spec.profile).checksums
                member_checksums[member] = {"test": checksums["splits"][spec.split], **checksums}
            key = run_key(config, member_checksums)
            final = self.out / f"{spec.benchmark}__{spec.system}__seed{spec.seed}__{key}"
            status = _status(final, key)
            if status == TODO and any(s != TODO for _, _, s in members):
                status = PARTIAL
            return final, key, status
        key = run_key(config, benchmark.checksums)
        final = self.out / f"{spec.benchmark}__{spec.system}__seed{spec.seed}__{key}"
        return final, key, _status(final, key)


def _status(final: Path, key: str) -> str:
    if (final / CONFIG).is_file():
        try:
            if json.loads((final / CONFIG).read_text(encoding="utf-8")).get("run_key") == key:
                return DONE
        except (OSError, json.JSONDecodeError):
            pass
        return TODO  # a different run under this name: ``execute`` will say so
    return PARTIAL if partial_dir(final).is_dir() else TODO


def plan(
    config: ExperimentConfig, *, out: str | Path | None = None, data_dir: str | Path | None = None
) -> list[SweepRun]:
    """Every run of ``config`` with its run directory and status (done / partial / todo); runs nothing."""
    out_dir = Path(out) if out is not None else config.out
    resolver = _Resolver(out_dir, data_dir)
    planned: list[SweepRun] = []
    for run in config.runs():
        final, key, status = resolver.resolve(run.spec)
        planned.append(SweepRun(run.label, run.spec, run.ablation, final, key, status))
    return planned


def planned_runs(runs: Sequence[SweepRun]) -> list[PlannedRun]:
    """The :class:`PlannedRun` view of a plan (what ``ExperimentConfig.runs`` returns)."""
    return [PlannedRun(r.label, r.spec, r.ablation) for r in runs]


def write_plan(config: ExperimentConfig, runs: Sequence[SweepRun], out: Path) -> Path:
    """``<out>/sweep.json``: the expanded plan, so a report rebuilds its tables from it and the run directories."""
    path = out / PLAN_FILE
    write_json(
        path,
        {
            "schema_version": PLAN_SCHEMA_VERSION,
            "experiment": config.name,
            "config": str(config.path) if config.path else None,
            "baseline": config.baseline,
            "ks": list(config.ks),
            "written_at": datetime.now(timezone.utc).isoformat(),
            "runs": [
                {
                    "label": r.label,
                    "ablation": r.ablation,
                    "system": r.spec.system,
                    "benchmark": r.spec.benchmark,
                    "seed": r.spec.seed,
                    "spec": _spec_dict(r.spec),
                    "run_key": r.run_key,
                    "run": r.run_dir.name,  # relative to the folder of sweep.json
                }
                for r in runs
            ],
        },
    )
    return path


def read_plan(out: str | Path) -> list[dict[str, Any]]:
    """The runs of ``<out>/sweep.json``, each with ``path`` (its run directory) added."""
    out = Path(out)
    data = json.loads((out / PLAN_FILE).read_text(encoding="utf-8"))
    return [dict(r, path=out / r["run"]) for r in data["runs"]]


def _spec_dict(spec: RunSpec) -> dict[str, Any]:
    data = dataclasses.asdict(spec)
    data["ks"] = list(spec.ks)
    data["settings"] = dict(spec.settings)
    return data


def format_plan(runs: Sequence[SweepRun]) -> str:
    from tabulate import tabulate

    rows = [[r.status, r.label, r.spec.benchmark, r.spec.seed, r.run_dir.name] for r in runs]
    return tabulate(rows, headers=["status", "label", "benchmark", "seed", "run directory"], tablefmt="plain")


# --- running -------------------------------------------------------------------


def run_sweep(
    config: ExperimentConfig,
    executor: str | None = None,
    workers: int | None = None,
    dry_run: bool = False,
    data_dir: str | Path | None = None,
    log: Log = print,
    *,
    out: str | Path | None = None,
) -> list[RunRecord]:
    """Run what is not done yet; return the finished runs in plan order (one per run directory).

    ``executor`` and ``workers`` default to the config's ``executor``. Raises
    :class:`SweepError` after all runs were tried if some failed.
    """
    executor = executor or config.executor.get("kind", "local")
    if executor not in ("local", "slurm"):
        raise BenchError(f"unknown executor {executor!r}: choose local or slurm")
    workers = workers if workers is not None else int(config.executor.get("workers") or 1)
    if workers < 1:
        raise BenchError(f"workers must be at least 1, got {workers}")
    out_dir = Path(out) if out is not None else config.out
    runs = plan(config, out=out_dir, data_dir=data_dir)
    # Two labels can resolve to the same run (a sweep value equal to the default): run it once.
    unique: dict[Path, SweepRun] = {}
    for run in runs:
        unique.setdefault(run.run_dir, run)
    counts = {s: sum(r.status == s for r in unique.values()) for s in (DONE, PARTIAL, TODO)}
    where = f"{workers} local worker(s)" if executor == "local" else "Slurm"
    distinct = "" if len(unique) == len(runs) else f" ({len(unique)} distinct)"
    log(
        f"sweep {config.name}: {len(runs)} runs{distinct} in {out_dir}: {counts[DONE]} done, "
        f"{counts[PARTIAL]} to resume, {counts[TODO]} to run" + ("" if dry_run else f", on {where}")
    )
    if dry_run:
        log(format_plan(runs))
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    with _SweepLock(out_dir):
        write_plan(config, runs, out_dir)
        pending = [r for r in unique.values() if r.status != DONE]
        if executor == "local":
            failures = _run_local(pending, out_dir, data_dir, workers, log)
        else:
            from .slurm import run_on_slurm

            failures = run_on_slurm(pending, out_dir, data_dir, config.slurm, log)
    records = []
    failed = {run.run_dir for run, _ in failures}
    for run in unique.values():
        if run.run_dir not in failed:
            records.append(load_run(run.run_dir))
    log(
        f"sweep {config.name}: {len(records)} of {len(unique)} runs finished"
        + (f", {len(failures)} failed" if failures else "")
    )
    if failures:
        raise SweepError(failures, records)
    return records


def stage_group(run: SweepRun) -> tuple[str, int]:
    """Runs in one group may share cached training stages, so they never run at the same time.

    Both generative arms on a benchmark reuse one positive-only stage (trained by
    whichever runs first, see ``GenerativeLinker.shared_stage``); running them side
    by side would train that stage twice. Runs on other benchmarks or seeds are free
    to go in parallel.
    """
    return run.spec.benchmark, run.spec.seed


def schedule_order(pending: Sequence[SweepRun], busy: set[tuple[str, int]]) -> SweepRun | None:
    """The first pending run (plan order) whose stage group has nothing in flight, or None."""
    for run in pending:
        if stage_group(run) not in busy:
            return run
    return None


def _run_local(
    pending: Sequence[SweepRun], out: Path, data_dir: str | Path | None, workers: int, log: Log
) -> list[tuple[SweepRun, str]]:
    """Each run in a fresh spawned process (isolated memory, threads and seeds), ``workers`` at a time.

    Runs are started in plan order, except that a run waits while another run of its
    stage group (:func:`stage_group`) is in flight and a later run of another group
    takes the free worker.
    """
    if not pending:
        return []
    failures: list[tuple[SweepRun, str]] = []
    groups = {stage_group(r) for r in pending}
    slots = min(workers, len(pending), len(groups))
    threads = max(1, (os.cpu_count() or 1) // slots)
    extra: dict[str, Any] = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
    pool = futures.ProcessPoolExecutor(
        max_workers=slots,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(os.getpid(), threads, workers > 1),
        **extra,
    )
    total = len(pending)
    waiting = list(pending)
    in_flight: dict[futures.Future, SweepRun] = {}
    busy: set[tuple[str, int]] = set()
    finished = 0
    try:
        while waiting or in_flight:
            while len(in_flight) < slots and (run := schedule_order(waiting, busy)) is not None:
                waiting.remove(run)
                busy.add(stage_group(run))
                future = pool.submit(_execute_one, run.spec, str(out), None if data_dir is None else str(data_dir))
                in_flight[future] = run
                verb = "resuming" if run.status == PARTIAL else "starting"
                log(f"[sweep] {verb} {run.describe} -> {run.run_dir.name}")
            done, _ = futures.wait(in_flight, return_when=futures.FIRST_COMPLETED)
            for future in done:
                run = in_flight.pop(future)
                busy.discard(stage_group(run))
                finished += 1
                try:
                    path = future.result()
                except Exception as error:  # a run's failure is reported, the sweep goes on
                    failures.append((run, _describe_error(error)))
                    log(f"[{finished}/{total}] FAILED {run.describe}: {_describe_error(error, full=True)}")
                    continue
                record = load_run(path)
                acc = record.metrics["acc"]["union"]
                first = min(acc, key=int)
                log(
                    f"[{finished}/{total}] done {run.describe}: acc@{first} {100 * acc[first]:.1f}% "
                    f"({record.metrics['timings'].get('total_s', 0):.1f} s) -> {record.path}"
                )
    except KeyboardInterrupt:
        log("[sweep] interrupted: stopping the workers; unfinished runs resume on the next sweep")
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    return failures


def _describe_error(error: BaseException, full: bool = False) -> str:
    line = str(error) if isinstance(error, BenchError) else f"{type(error).__name__}: {error}"
    if full and not isinstance(error, BenchError):
        remote = getattr(error.__cause__, "tb", None)  # the worker's traceback (concurrent.futures)
        if remote:
            line += "\n" + remote.rstrip()
    return line


def _stop_pool(pool: futures.ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)


def _worker_init(parent_pid: int, threads: int, quiet: bool) -> None:
    """In each worker: die with the sweep (even on ``kill -9``), share the CPUs, no interleaved bars."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("MKL_NUM_THREADS", str(threads))
    if quiet:
        os.environ.setdefault("BIOEL_BENCH_PROGRESS", "0")
    if sys.platform.startswith("linux"):
        try:  # the kernel kills us when the sweep's main thread dies
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:  # portable fallback: poll the parent
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="sweep-parent-watch", daemon=True).start()


def _execute_one(spec: RunSpec, out: str, data_dir: str | None) -> str:
    """Worker entry point: one run; returns its directory (records are read back by the parent)."""
    from bench.progress import set_line_prefix

    tag = f"[{spec.label or spec.system} {spec.benchmark} seed{spec.seed}]"
    set_line_prefix(tag + " ")  # the stages' own progress lines carry the run's tag too
    record = execute(spec, out, data_dir=data_dir, log=lambda message: print(f"{tag} {message}", flush=True))
    return str(record.path)


class _SweepLock:
    """One sweep at a time per output folder (an advisory lock, released even when the process is killed)."""

    def __init__(self, out: Path):
        self.path = out / ".sweep.lock"
        self.handle = None

    def __enter__(self) -> _SweepLock:
        try:
            import fcntl
        except ImportError:  # Windows: no lock
            return self
        self.handle = open(self.path, "w")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.handle.close()
            raise BenchError(f"another sweep is running on {self.path.parent} (lock {self.path})") from None
        self.handle.write(f"{os.getpid()}\n")
        self.handle.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()  # closing releases the lock


# --- command line --------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="an experiment config (YAML), e.g. configs/smoke.yaml")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and their status; run nothing")
    parser.add_argument(
        "--executor",
        choices=["local", "slurm"],
        default=None,
        help="local processes or a Slurm job array via submitit (default: the config's executor.kind)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="parallel local processes (default: the config's executor.workers)",
    )
    parser.add_argument("--out", default=None, help="folder of the run directories (default: the config's out)")
    parser.add_argument(
        "--data-dir", default=None, help="prepared-data folder (default: $BIOEL_BENCH_DATA or the user cache)"
    )


def cmd_sweep(args: argparse.Namespace) -> int:
    """The ``sweep`` verb: 0 when every run finished, 1 when some failed (each is reported)."""
    config = load_experiment(args.config)
    if threading.current_thread() is threading.main_thread():
        # a scheduler's SIGTERM stops the sweep like Ctrl-C (the runs in flight resume next time)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run_sweep(
            config,
            executor=args.executor,
            workers=args.workers,
            dry_run=args.dry_run,
            data_dir=args.data_dir,
            out=args.out,
        )
    except SweepError as error:
        print(f"bioel-bench sweep: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bioel-bench sweep",
        description="Run every run of an experiment config: skip finished runs, resume interrupted ones, "
        "in parallel local processes or as a Slurm job array.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cmd_sweep(args)
    except BenchError as error:
        print(f"bioel-bench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bioel-bench: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
