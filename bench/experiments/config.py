"""Experiment configs: a YAML file that expands into a list of runs.

One file describes a paper table or an ablation sweep (HELM's run-spec
descriptions, lm-eval's YAML tasks): systems with their settings, benchmarks,
seeds, per-benchmark hyperparameters, and sweep axes over any system option.
Validation is strict and says where the problem is, because a typo in a key
would otherwise silently run the default.

    name: cpu
    out: runs/cpu                  # where run directories go (relative to the config file's folder's parent)
    ks: [1, 5, 10]
    profile: genbioel
    seeds: [0]
    benchmark_seeds:               # per benchmark, seeds that replace ``seeds`` (three on the small ones)
      ncbi-disease: [0, 1, 2]
    benchmarks: [ncbi-disease, aap-fold0]
    baseline: genbioel             # significance markers in the main table compare with this system label
    executor: {kind: local, workers: 1}
    slurm: {partition: gpu, time_min: 240, cpus_per_task: 8, mem_gb: 64, gpus_per_node: 1}
    systems:
      tfidf: {system: tfidf}
      genbioel: {system: genbioel, settings: {finetune_steps: 2000}}
      angel: {system: angel, settings: {...}}
    benchmark_settings:            # per benchmark, per system label: settings that override
      ncbi-disease: {angel: {dpo_lr: 1.0e-5}}
    sweeps:                        # ablations: copies of a system with one option varied
      top_k: {base: angel, option: top_k, values: [5, 10]}
      mining: {base: angel, option: mining, values: [crossfit], benchmarks: [ncbi-disease], seeds: [0]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.errors import BenchError, DataFormatError
from bench.metrics import DEFAULT_KS
from bench.protocols import DEFAULT_PROFILE
from bench.runner import RunSpec

TOP_KEYS = {
    "name",
    "description",
    "deviations",
    "out",
    "ks",
    "profile",
    "seeds",
    "benchmark_seeds",
    "benchmarks",
    "baseline",
    "executor",
    "slurm",
    "systems",
    "benchmark_settings",
    "sweeps",
    "split",
}
SYSTEM_KEYS = {"system", "settings", "benchmarks"}
#: a sweep may run on fewer benchmarks and seeds than its base (an expensive ablation on the small benchmarks)
SWEEP_KEYS = {"base", "option", "values", "benchmarks", "seeds"}
EXECUTOR_KEYS = {"kind", "workers"}
SLURM_KEYS = {
    "partition",
    "time_min",
    "cpus_per_task",
    "mem_gb",
    "gpus_per_node",
    "nodes",
    "account",
    "qos",
    "constraint",
    "array_parallelism",
    "setup",
    "additional_parameters",
}


@dataclass(frozen=True)
class PlannedRun:
    """One run of an experiment: its spec and the label it has in tables."""

    label: str
    spec: RunSpec
    ablation: str | None = None  # the sweep it belongs to, if any


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    path: Path | None
    out: Path
    ks: tuple[int, ...]
    profile: str
    split: str
    seeds: tuple[int, ...]
    benchmarks: tuple[str, ...]
    baseline: str | None
    systems: Mapping[str, Mapping[str, Any]]
    benchmark_settings: Mapping[str, Mapping[str, Mapping[str, Any]]]
    sweeps: Mapping[str, Mapping[str, Any]]
    executor: Mapping[str, Any] = field(default_factory=lambda: {"kind": "local", "workers": 1})
    slurm: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    #: how this experiment departs from the published protocol; reports print them
    deviations: tuple[str, ...] = ()
    #: benchmark -> seeds that replace ``seeds`` there (more seeds where runs are cheap)
    benchmark_seeds: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def seeds_for(self, benchmark: str) -> tuple[int, ...]:
        return tuple(self.benchmark_seeds.get(benchmark, self.seeds))

    def runs(self) -> list[PlannedRun]:
        """Every run, in a stable order: by seed rank (every benchmark's first seed first), main systems
        before sweeps, then benchmarks and systems in config order.

        The first seed of every table comes first, so a sweep cut short still leaves
        comparable results (both arms of a comparison on every benchmark, then the
        ablations) before the extra seeds; within a rank the order is benchmark-major,
        which finishes whole table columns first.
        """
        ranked: list[tuple[tuple[int, int], PlannedRun]] = []
        benchmarks = list(
            dict.fromkeys([*self.benchmarks, *(b for e in self.systems.values() for b in e.get("benchmarks") or [])])
        )
        for benchmark in benchmarks:
            for label, entry in self.systems.items():
                if benchmark not in (entry.get("benchmarks") or self.benchmarks):
                    continue
                for rank, seed in enumerate(self.seeds_for(benchmark)):
                    ranked.append(((rank, 0), PlannedRun(label, self._spec(label, entry, benchmark, seed, {}))))
        for sweep_name, sweep in self.sweeps.items():
            base = self.systems[sweep["base"]]
            for value in sweep["values"]:
                label = f"{sweep['base']}/{sweep['option']}={value}"
                for benchmark in sweep.get("benchmarks") or base.get("benchmarks") or self.benchmarks:
                    for rank, seed in enumerate(sweep.get("seeds") or self.seeds_for(benchmark)):
                        spec = self._spec(sweep["base"], base, benchmark, seed, {sweep["option"]: value}, label)
                        ranked.append(((rank, 1), PlannedRun(label, spec, ablation=sweep_name)))
        return [run for _, run in sorted(ranked, key=lambda item: item[0])]  # stable: config order within a rank

    def _spec(
        self,
        label: str,
        entry: Mapping[str, Any],
        benchmark: str,
        seed: int,
        extra: Mapping[str, Any],
        run_label: str | None = None,
    ) -> RunSpec:
        settings = {
            **(entry.get("settings") or {}),
            **(self.benchmark_settings.get(benchmark, {}).get(label) or {}),
            **extra,
        }
        return RunSpec(
            system=entry["system"],
            benchmark=benchmark,
            split=self.split,
            ks=self.ks,
            seed=seed,
            settings=settings,
            profile=self.profile,
            label=run_label or label,
            experiment=self.name,
        )


def load_experiment(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment YAML file (errors name the file and the key)."""
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"{path}: no such experiment config")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise DataFormatError(path, None if mark is None else mark.line + 1, f"invalid YAML: {error}") from None
    return parse_experiment(data, path, key_lines(path.read_text(encoding="utf-8")))


def key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Line (1-based) of every key path in a YAML document: ("systems", "angel", "settings") -> 17.

    PyYAML's loaded data keeps no positions, so errors about a key would name the
    file only; its node tree does, and this walks it once (aliases included).
    """
    lines: dict[tuple[Any, ...], int] = {}

    def walk(node: yaml.Node, at: tuple[Any, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = (*at, key.value)
                lines.setdefault(here, key.start_mark.line + 1)
                walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines.setdefault((*at, index), item.start_mark.line + 1)
                walk(item, (*at, index))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def parse_experiment(
    data: Any, path: Path | None = None, lines: Mapping[tuple[Any, ...], int] | None = None
) -> ExperimentConfig:
    """Validate loaded config data; ``lines`` (from :func:`key_lines`) lets errors name the line."""
    where = str(path) if path else "<config>"
    lines = lines or {}

    def fail(problem: str, *at: Any) -> None:
        line = None
        for depth in range(len(at), 0, -1):  # the deepest key of ``at`` that the file has
            line = lines.get(tuple(at[:depth]))
            if line is not None:
                break
        raise DataFormatError(where, line, problem)

    if not isinstance(data, dict):
        fail("an experiment config must be a mapping")
    _check_keys(data, TOP_KEYS, "top level", fail, ())
    for required in ("name", "systems", "benchmarks"):
        if required not in data:
            fail(f"missing required key '{required}'")
    systems = data["systems"]
    if not isinstance(systems, dict) or not systems:
        fail("'systems' must be a non-empty mapping of label -> {system, settings}", "systems")
    from bench.registry import BENCHMARKS, SYSTEMS

    for label, entry in systems.items():
        if not isinstance(entry, dict) or "system" not in entry:
            fail(f"systems.{label}: needs a 'system' name", "systems", label)
        _check_keys(entry, SYSTEM_KEYS, f"systems.{label}", fail, ("systems", label))
        if entry["system"] not in SYSTEMS:
            fail(f"systems.{label}: {SYSTEMS.unknown_message(str(entry['system']))}", "systems", label, "system")
        if not isinstance(entry.get("settings") or {}, dict):
            fail(f"systems.{label}.settings must be a mapping", "systems", label, "settings")
    benchmarks = data["benchmarks"]
    if not isinstance(benchmarks, list) or not benchmarks:
        fail("'benchmarks' must be a non-empty list", "benchmarks")
    where_listed = [(("benchmarks", i), b) for i, b in enumerate(benchmarks)] + [
        (("systems", label, "benchmarks", i), b)
        for label, e in systems.items()
        for i, b in enumerate(e.get("benchmarks") or [])
    ]
    for at, benchmark in where_listed:
        if benchmark not in BENCHMARKS:
            fail(BENCHMARKS.unknown_message(str(benchmark)), *at)
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        fail("'seeds' must be a non-empty list of integers", "seeds")
    benchmark_seeds = data.get("benchmark_seeds") or {}
    if not isinstance(benchmark_seeds, dict):
        fail("'benchmark_seeds' must map benchmarks to lists of seeds", "benchmark_seeds")
    for benchmark, listed in benchmark_seeds.items():
        if not isinstance(listed, list) or not listed or not all(isinstance(s, int) for s in listed):
            fail(f"benchmark_seeds.{benchmark} must be a non-empty list of integers", "benchmark_seeds", benchmark)
    ks = data.get("ks", list(DEFAULT_KS))
    if not isinstance(ks, list) or not ks or not all(isinstance(k, int) and k > 0 for k in ks):
        fail("'ks' must be a list of positive integers", "ks")
    benchmark_settings = data.get("benchmark_settings") or {}
    for benchmark, per_system in benchmark_settings.items():
        if not isinstance(per_system, dict):
            fail(f"benchmark_settings.{benchmark} must map system labels to settings", "benchmark_settings", benchmark)
        for label in per_system:
            if label not in systems:
                fail(
                    f"benchmark_settings.{benchmark}: unknown system label {label!r}",
                    "benchmark_settings",
                    benchmark,
                    label,
                )
    sweeps = data.get("sweeps") or {}
    for name, sweep in sweeps.items():
        if not isinstance(sweep, dict):
            fail(f"sweeps.{name} must be a mapping with base, option, values", "sweeps", name)
        _check_keys(sweep, SWEEP_KEYS, f"sweeps.{name}", fail, ("sweeps", name))
        if sweep.get("base") not in systems:
            fail(f"sweeps.{name}.base must be one of the system labels {sorted(systems)}", "sweeps", name, "base")
        if not isinstance(sweep.get("values"), list) or not sweep["values"]:
            fail(f"sweeps.{name}.values must be a non-empty list", "sweeps", name, "values")
        listed = sweep.get("seeds")
        if listed is not None and not (isinstance(listed, list) and listed and all(isinstance(s, int) for s in listed)):
            fail(f"sweeps.{name}.seeds must be a non-empty list of integers", "sweeps", name, "seeds")
        for i, benchmark in enumerate(sweep.get("benchmarks") or []):
            if benchmark not in BENCHMARKS:
                fail(BENCHMARKS.unknown_message(str(benchmark)), "sweeps", name, "benchmarks", i)
    executor = {"kind": "local", "workers": 1, **(data.get("executor") or {})}
    _check_keys(executor, EXECUTOR_KEYS, "executor", fail, ("executor",))
    if executor["kind"] not in {"local", "slurm"}:
        fail("executor.kind must be 'local' or 'slurm'", "executor", "kind")
    slurm = data.get("slurm") or {}
    _check_keys(slurm, SLURM_KEYS, "slurm", fail, ("slurm",))
    baseline = data.get("baseline")
    if baseline is not None and baseline not in systems:
        fail(f"baseline {baseline!r} is not one of the system labels {sorted(systems)}", "baseline")
    deviations = data.get("deviations") or []
    if not isinstance(deviations, list) or not all(isinstance(d, str) and d.strip() for d in deviations):
        fail("'deviations' must be a list of non-empty strings", "deviations")
    out = Path(data.get("out", f"runs/{data['name']}"))
    config = ExperimentConfig(
        name=str(data["name"]),
        path=path,
        out=out,
        ks=tuple(ks),
        profile=data.get("profile", DEFAULT_PROFILE),
        split=data.get("split", "test"),
        seeds=tuple(seeds),
        benchmarks=tuple(benchmarks),
        baseline=baseline,
        systems=systems,
        benchmark_settings=benchmark_settings,
        sweeps=sweeps,
        executor=executor,
        slurm=slurm,
        description=data.get("description", ""),
        deviations=tuple(d.strip() for d in deviations),
        benchmark_seeds={b: tuple(v) for b, v in benchmark_seeds.items()},
    )
    # Resolve every run's options now, so a bad --set style value fails before anything runs.
    for planned in config.runs():
        try:
            SYSTEMS.get(planned.spec.system).from_settings(dict(planned.spec.settings)).check_request(max(config.ks))
        except BenchError as error:
            base = planned.label.split("/")[0]
            fail(f"run {planned.label} on {planned.spec.benchmark}: {error}", "systems", base, "settings")
    return config


def _check_keys(mapping: Mapping[str, Any], allowed: set[str], where: str, fail, at: tuple[Any, ...]) -> None:
    import difflib

    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            fail(f"{where}: unknown key '{key}'{hint}; allowed: {', '.join(sorted(allowed))}", *at, key)
