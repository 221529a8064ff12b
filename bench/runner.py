"""Run one system on one benchmark split and store the result.

The data flow of DESIGN.md section 1 in one function: load the benchmark,
build the system from resolved options, ``fit``, ``predict``, score, write the
run directory. A run is identified by its resolved configuration and the data
checksums, so an identical request reuses the finished run and an interrupted
one resumes in its ``.partial`` directory.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from bench import distributed
from bench.benchmark import DEV, TRAIN, Benchmark, BenchmarkSuite
from bench.checksum import sha256_records
from bench.cli_types import check_run_name
from bench.code_identity import result_identity
from bench.environment import describe_environment
from bench.errors import BenchError
from bench.health import prediction_warnings
from bench.linker import Candidate, FitConfig, Linker, options_to_dict, rank
from bench.locks import exclusive
from bench.mention import Mention
from bench.metrics import (
    DEFAULT_KS,
    RULES,
    accuracy_at_k,
    hit_ranks,
    leakage_masks,
    subset_accuracy,
)
from bench.progress import append_log_line, progress_enabled, set_log_file
from bench.protocols import DEFAULT_PROFILE, PROCESSED_PROFILES, canonical_profile, profile_record
from bench.registry import BENCHMARKS, SYSTEMS
from bench.results import (
    CONFIG,
    ENVIRONMENT,
    LOG,
    METRICS,
    PREDICTIONS,
    SCHEMA_VERSION,
    RunRecord,
    commit_run,
    load_run,
    mentions_from_rows,
    partial_dir,
    prediction_row,
    predictions_from_rows,
    write_json,
    write_jsonl,
)


@dataclass(frozen=True)
class RunSpec:
    """What to run; with the data checksums it identifies a run (HELM's RunSpec)."""

    system: str
    benchmark: str
    split: str = "test"
    ks: tuple[int, ...] = DEFAULT_KS
    seed: int = 0
    settings: Mapping[str, Any] = field(default_factory=dict)
    profile: str = DEFAULT_PROFILE
    #: how an experiment names this run (e.g. "angel" or "angel/top_k=10"); recorded, not part of the run key,
    #: so the same run shared by two experiments is run once
    label: str | None = None
    experiment: str | None = None


def load_benchmark(name: str, profile: str = DEFAULT_PROFILE, data_dir: str | Path | None = None) -> Benchmark:
    loader = BENCHMARKS.get(name)
    if canonical_profile(profile) in PROCESSED_PROFILES:  # a paper's processed files, not the official ones
        from bench.benchmarks.processed import load_processed

        return load_processed(name, canonical_profile(profile), data_dir)
    return loader(data_dir=data_dir, profile=profile)


def seed_everything(seed: int) -> None:
    """Seed Python and numpy, and torch if a system has imported it."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def run_key(config: Mapping[str, Any], checksums: Mapping[str, Any]) -> str:
    blob = json.dumps({"config": config, "checksums": checksums}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:10]


def execute(
    spec: RunSpec,
    out_dir: str | Path = "runs",
    *,
    run_name: str | None = None,
    force: bool = False,
    data_dir: str | Path | None = None,
    log=print,
) -> RunRecord:
    """Run ``spec`` (or reuse its finished run) and return the record."""
    if not spec.ks or min(spec.ks) < 1:
        raise BenchError(f"k values must be positive integers, got {list(spec.ks)}")
    problem = check_run_name(run_name) if run_name is not None else None
    if problem:
        raise BenchError(problem)
    ks = tuple(sorted(set(spec.ks)))
    started = time.perf_counter()
    distributed.init()  # under `accelerate launch`: join the group now (no-op in one process)
    with distributed.main_first():  # the main process fills the prepared-data cache, the others read it
        benchmark = load_benchmark(spec.benchmark, spec.profile, data_dir)
    if isinstance(benchmark, BenchmarkSuite):
        return execute_suite(benchmark, spec, out_dir, run_name=run_name, force=force, data_dir=data_dir, log=log)
    load_s = time.perf_counter() - started
    linker_cls = SYSTEMS.get(spec.system)
    linker: Linker = linker_cls.from_settings(dict(spec.settings))
    linker.check_request(max(ks))
    config = {
        "schema_version": SCHEMA_VERSION,
        "system": spec.system,
        "options": options_to_dict(linker.options),
        "benchmark": spec.benchmark,
        **profile_record(spec.profile),
        "split": spec.split,
        "ks": list(ks),
        "seed": spec.seed,
        **result_identity(linker_cls, options_to_dict(linker.options)),
    }
    checksums = benchmark.checksums
    key = run_key(config, checksums)
    config["run_key"] = key
    config["label"] = spec.label or spec.system
    config["experiment"] = spec.experiment
    out_dir = Path(out_dir)
    final = out_dir / (run_name or f"{spec.benchmark}__{spec.system}__seed{spec.seed}__{key}")
    existing = _finished(final, key, force, log)
    if existing is not None:
        return existing
    before = _published_stamp(final)
    with exclusive(final, f"run {final.name}", log):
        if _published_stamp(final) != before:  # an identical request held the lock and has just finished
            log(f"reusing {final}, finished by another process while this one waited")
            return _finished(final, key, False, lambda _: None)
        return _execute_locked(spec, benchmark, linker, config, key, final, ks, started, load_s, log)


def _execute_locked(
    spec: RunSpec,
    benchmark: Benchmark,
    linker: Linker,
    config: dict[str, Any],
    key: str,
    final: Path,
    ks: tuple[int, ...],
    started: float,
    load_s: float,
    log=print,
) -> RunRecord:
    """Train, predict, score and publish one run; the caller holds the run's lock."""
    checksums = benchmark.checksums
    test = benchmark.split(spec.split)
    partial = partial_dir(final)
    resumed = partial.exists()
    if resumed:
        previous = json.loads((partial / "spec.json").read_text()) if (partial / "spec.json").exists() else {}
        if previous.get("run_key") != key:
            raise BenchError(f"{partial} belongs to a different config; delete it or choose another --name")
        log(f"resuming the interrupted run in {partial}")
    distributed.barrier()  # every process has looked at the partial folder before the main one creates it
    if distributed.is_main():
        partial.mkdir(parents=True, exist_ok=True)
        write_json(partial / "spec.json", config)  # lets a resumed run check it is the same run
    distributed.barrier()
    started_at = datetime.now(timezone.utc).isoformat()
    # Taken now, not at the end: the code revision that ran is the one checked out when the run began
    # (a long run may finish after the checkout has moved on).
    environment = describe_environment() | {"processes": distributed.world_size()}

    def run_log(message: str) -> None:
        """Print, and keep in the run's log.txt (published with the run)."""
        log(message)
        if distributed.is_main():
            append_log_line(partial / LOG, message)

    if distributed.is_main():
        set_log_file(partial / LOG)  # the stages' own progress lines go to log.txt too
    run_log(
        f"{'resumed' if resumed else 'started'} {spec.system} on {spec.benchmark}/{spec.split} "
        f"(profile {config.get('profile')}, seed {spec.seed}, run key {key})"
    )
    train = benchmark.split(TRAIN) if TRAIN in benchmark.splits and spec.split != TRAIN else ()
    dev = benchmark.split(DEV) if DEV in benchmark.splits and spec.split != DEV else ()
    seed_everything(spec.seed)
    t0 = time.perf_counter()
    try:
        linker.fit(
            train, dev, benchmark.kb, FitConfig(seed=spec.seed, work_dir=partial / "work", progress=progress_enabled())
        )
    finally:
        set_log_file(None)
    fit_s = time.perf_counter() - t0
    if not distributed.is_main():  # training was shared; predicting and writing are the main process's
        distributed.barrier()
        return load_run(final)

    run_log(f"fit done in {fit_s:.1f} s; predicting {len(test)} {spec.split} mentions")
    t0 = time.perf_counter()
    predictions = predict_all(linker, test, benchmark, max(ks))
    predict_s = time.perf_counter() - t0
    system_info = linker.describe()
    top_names = [predictions[m.id][0].name if predictions[m.id] else None for m in test]
    warnings = prediction_warnings(top_names) + list(system_info.get("health_warnings") or [])
    for warning in warnings:
        run_log(f"warning: {warning}")

    training = (*train, *dev)
    masks = leakage_masks(test, training)
    metrics: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_key": key,
        "system": spec.system,
        "benchmark": spec.benchmark,
        "split": spec.split,
        "n_mentions": len(test),
        "n_composite": sum(m.composite for m in test),
        "ks": list(ks),
        **score(test, predictions, masks, ks),
        "checksums": {"test": checksums["splits"][spec.split], **checksums},
        "flags": {"closed_world_kb": benchmark.kb.closed_world} | dict(benchmark.flags),
        "kb": benchmark.kb.summary(),
        "system_info": system_info,
        "health": {"warnings": warnings},
        "timings": {
            "load_s": round(load_s, 3),
            "fit_s": round(fit_s, 3),
            "predict_s": round(predict_s, 3),
            "mentions_per_s": round(len(test) / predict_s, 2) if predict_s > 0 else None,
            "total_s": round(time.perf_counter() - started, 3),
            "resumed": resumed,
        },
    }
    rows = [
        prediction_row(
            m,
            predictions[m.id],
            [predictions[p.id] for p in m.parts],
            bool(masks["mention_seen"][i]),
            bool(masks["concept_seen"][i]),
        )
        for i, m in enumerate(test)
    ]
    environment = environment | {
        "started_at": started_at,
        "finished_at": datetime.now(timezone.utc).isoformat(),
    }
    write_json(partial / CONFIG, config)
    write_json(partial / ENVIRONMENT, environment)
    write_jsonl(partial / PREDICTIONS, rows)
    acc1 = metrics["acc"]["union"].get("1", float("nan"))
    run_log(f"done: acc@1 {100 * acc1:.1f}% in {metrics['timings']['total_s']:.1f} s")
    write_json(partial / METRICS, metrics)  # written last: the run is complete only with it
    commit_run(partial, final)
    distributed.barrier()
    return load_run(final)


def _published_stamp(final: Path) -> int | None:
    """When ``final``'s metrics were written (ns), None before it is published: tells a run that waited
    for the lock whether the other process published this run meanwhile (seen the same on every rank)."""
    try:
        return (final / METRICS).stat().st_mtime_ns
    except OSError:
        return None


def _finished(final: Path, key: str, force: bool, log) -> RunRecord | None:
    """The finished run at ``final`` if it is this very run (same key); None when there is none to reuse."""
    if not final.exists() or force:
        return None
    existing = load_run(final)
    if existing.config.get("run_key") == key:
        log(f"reusing finished run {final} (same config and data; --force to rerun)")
        return existing
    raise BenchError(f"{final} holds a run with a different config or data; choose another --name or --force")


def predict_all(
    linker: Linker, mentions: Sequence[Mention], benchmark: Benchmark, k: int
) -> dict[str, list[Candidate]]:
    """Predictions for mentions and their composite parts, validated and ranked."""
    queries = [*mentions, *(p for m in mentions for p in m.parts)]
    output = linker.predict(queries, benchmark.kb, k)
    if not isinstance(output, list) or len(output) != len(queries):
        got = len(output) if isinstance(output, list) else type(output).__name__
        raise BenchError(f"system {linker.name!r} returned {got} predictions for {len(queries)} mentions")
    predictions: dict[str, list[Candidate]] = {}
    for mention, candidates in zip(queries, output):
        bad = [c for c in candidates if not isinstance(c, Candidate)]
        if bad:
            raise BenchError(f"system {linker.name!r} returned {type(bad[0]).__name__} instead of Candidate")
        try:
            predictions[mention.id] = rank(candidates, k)
        except ValueError as error:
            raise BenchError(f"system {linker.name!r}, mention {mention.id}: {error}") from None
    return predictions


def score(
    test: Sequence[Mention],
    predictions: Mapping[str, Sequence[Candidate]],
    masks: Mapping[str, np.ndarray],
    ks: Sequence[int],
) -> dict[str, Any]:
    """acc@k under every rule, composite mode, and on the leakage subsets (default rule)."""
    accuracy = {}
    for rule in RULES:
        ranks = hit_ranks(test, predictions, rule)
        accuracy[rule] = {str(k): v for k, v in accuracy_at_k(ranks, ks).items()}
    composite = hit_ranks(test, predictions, "union", composite=True)
    default = hit_ranks(test, predictions, "union")
    leakage = {
        name: {"n": s["n"], "acc": {str(k): v for k, v in s["acc"].items()}}
        for name, s in subset_accuracy(default, masks, ks).items()
    }
    return {
        "default_rule": "union",
        "acc": accuracy,
        "acc_composite": {str(k): v for k, v in accuracy_at_k(composite, ks).items()},
        "leakage": leakage,
    }


def execute_suite(
    suite: BenchmarkSuite,
    spec: RunSpec,
    out_dir: str | Path,
    *,
    run_name: str | None,
    force: bool,
    data_dir: str | Path | None,
    log=print,
) -> RunRecord:
    """Run every member of a suite, then write one pooled run.

    The pooled run's predictions are the members' rows with ids prefixed by the
    member name, so paired tests use the pooled per-mention outcomes; its
    metrics also hold the mean over members (how AskAPatient is reported).
    """
    out_dir = Path(out_dir)
    members = []
    for member in suite.members:
        log(f"[{suite.name}] running {member}")
        member_spec = RunSpec(
            spec.system,
            member,
            spec.split,
            spec.ks,
            spec.seed,
            spec.settings,
            spec.profile,
            spec.label,
            spec.experiment,
        )
        members.append(execute(member_spec, out_dir, force=force, data_dir=data_dir, log=log))
    ks = tuple(sorted(set(spec.ks)))
    config = {
        "schema_version": SCHEMA_VERSION,
        "system": spec.system,
        "options": members[0].config["options"],
        "benchmark": suite.name,
        **profile_record(spec.profile),
        "split": spec.split,
        "ks": list(ks),
        "seed": spec.seed,
        "members": {m.benchmark: m.name for m in members},
        **result_identity(SYSTEMS.get(spec.system), members[0].config["options"]),
    }
    member_checksums = {m.benchmark: m.metrics["checksums"] for m in members}
    key = run_key(config, member_checksums)
    config["run_key"] = key
    config["label"] = spec.label or spec.system
    config["experiment"] = spec.experiment
    final = out_dir / (run_name or f"{suite.name}__{spec.system}__seed{spec.seed}__{key}")
    existing = _finished(final, key, force, log)
    if existing is not None:
        return existing

    rows = []
    for record in members:
        for row in record.rows:
            prefixed = dict(row, id=f"{record.benchmark}/{row['id']}")
            prefixed["parts"] = [dict(p, id=f"{record.benchmark}/{p['id']}") for p in row.get("parts", [])]
            rows.append(prefixed)
    mentions, predictions = mentions_from_rows(rows), predictions_from_rows(rows)
    masks = {
        "mention_seen": np.array([r["mention_seen"] for r in rows], dtype=bool),
        "concept_seen": np.array([r["concept_seen"] for r in rows], dtype=bool),
    }
    masks |= {"mention_unseen": ~masks["mention_seen"], "concept_unseen": ~masks["concept_seen"]}
    masks = {name: masks[name] for name in ("mention_seen", "mention_unseen", "concept_seen", "concept_unseen")}
    scored = score(mentions, predictions, masks, ks)
    fold_mean = {
        rule: {str(k): float(np.mean([m.metrics["acc"][rule][str(k)] for m in members])) for k in ks} for rule in RULES
    }
    metrics: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_key": key,
        "system": spec.system,
        "benchmark": suite.name,
        "split": spec.split,
        "n_mentions": len(mentions),
        "n_composite": sum(m.composite for m in mentions),
        "ks": list(ks),
        **scored,
        "acc_member_mean": fold_mean,
        "members": {
            m.benchmark: {"run": m.name, "n": m.metrics["n_mentions"], "acc": m.metrics["acc"]} for m in members
        },
        "checksums": {
            "test": sha256_records([[n, c["test"]] for n, c in member_checksums.items()]),
            "kb": sha256_records([[n, c["kb"]] for n, c in member_checksums.items()]),
            "members": member_checksums,
        },
        "flags": {k: v for m in members for k, v in m.metrics.get("flags", {}).items()},
        "timings": {
            "fit_s": round(sum(m.metrics["timings"]["fit_s"] for m in members), 3),
            "predict_s": round(sum(m.metrics["timings"]["predict_s"] for m in members), 3),
        },
    }
    before = _published_stamp(final)
    with exclusive(final, f"run {final.name}", log):
        if _published_stamp(final) != before:
            log(f"reusing {final}, finished by another process while this one waited")
            return _finished(final, key, False, lambda _: None)
        partial = partial_dir(final)
        partial.mkdir(parents=True, exist_ok=True)
        write_json(partial / CONFIG, config)
        write_json(partial / ENVIRONMENT, describe_environment())
        write_jsonl(partial / PREDICTIONS, rows)
        write_json(partial / METRICS, metrics)
        commit_run(partial, final)
    return load_run(final)
