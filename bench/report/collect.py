"""Find the runs of a report and group them by (label, benchmark), seeds as replicates.

Two ways in:

* an experiment config (YAML): the sweep plan ``<out>/sweep.json`` written by
  the sweep executor names every planned run's directory; without it, ``<out>``
  is scanned for finished runs of that experiment (``config.json`` field
  ``experiment``) and each is matched to a planned run by label, benchmark,
  seed, system, profile, split and resolved options, so a stale run of an
  older version of the config is never picked up;
* run directories, or folders holding them: labels come from each run's
  ``config.json``; a label ``base/option=value`` is a sweep's ablation run.

Everything is read from the run directories; nothing is recomputed from data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.compare import check_comparable
from bench.errors import BenchError, IncompleteRunError
from bench.protocols import canonical_profile, run_profile
from bench.results import CONFIG, METRICS, PARTIAL_SUFFIX, RunRecord, load_run

SWEEP_PLAN = "sweep.json"
_ABLATION_LABEL = re.compile(r"^(?P<base>[^/]+)/(?P<option>[^=]+)=(?P<value>.*)$")


@dataclass
class RunGroup:
    """Every seed of one label on one benchmark."""

    label: str
    benchmark: str
    runs: dict[int, RunRecord] = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return sorted(self.runs)

    def records(self) -> list[RunRecord]:
        return [self.runs[s] for s in self.seeds]

    @property
    def is_suite(self) -> bool:
        return any("acc_member_mean" in r.metrics for r in self.runs.values())


@dataclass(frozen=True)
class Ablation:
    """A sweep's copy of a system: which sweep, its base label and the varied setting."""

    sweep: str
    base: str
    setting: str


@dataclass
class Collection:
    """The runs of one report, grouped, with the row and column order of its tables."""

    groups: dict[tuple[str, str], RunGroup]
    labels: list[str]  # main-table systems, in order
    benchmarks: list[str]
    ablations: dict[str, Ablation]  # ablation label -> what it varies (in order)
    baseline: str | None = None
    name: str | None = None  # the experiment name, when known
    description: str = ""  # the experiment config's, when known
    deviations: tuple[str, ...] = ()  # the experiment config's departures from the published protocol
    missing: list[str] = field(default_factory=list)  # planned runs without a finished directory
    ignored: list[str] = field(default_factory=list)  # runs found but not part of the report

    def group(self, label: str, benchmark: str) -> RunGroup | None:
        return self.groups.get((label, benchmark))

    def records(self) -> list[RunRecord]:
        return [r for key in sorted(self.groups) for r in self.groups[key].records()]


def is_run_dir(path: Path) -> bool:
    return (
        path.is_dir()
        and not path.name.endswith(PARTIAL_SUFFIX)
        and (path / CONFIG).is_file()
        and (path / METRICS).is_file()
    )


def label_of(record: RunRecord) -> str:
    return str(record.config.get("label") or record.system)


def ablation_of_label(label: str, sweep: str | None = None) -> Ablation | None:
    """``angel/top_k=10`` -> Ablation(sweep or "top_k", "angel", "top_k=10")."""
    match = _ABLATION_LABEL.match(label)
    if not match:
        return None
    return Ablation(sweep or match["option"], match["base"], f"{match['option']}={match['value']}")


# --- from run directories ----------------------------------------------------


def scan(paths: Iterable[str | Path]) -> list[RunRecord]:
    """Finished runs under ``paths`` (each a run directory or a folder of them), without duplicates."""
    found: dict[Path, RunRecord] = {}
    for raw in paths:
        path = Path(raw)
        if path.name.endswith(PARTIAL_SUFFIX):
            raise IncompleteRunError(f"{path} is an unfinished run (interrupted or still running)")
        if is_run_dir(path):
            found.setdefault(path.resolve(), load_run(path))
            continue
        if not path.is_dir():
            raise BenchError(f"{path}: neither a run directory nor a folder of run directories")
        children = list(run_dirs_under(path))
        if not children:
            raise BenchError(f"{path}: holds no finished run directory (at any depth)")
        for child in children:
            found.setdefault(child.resolve(), load_run(child))
    return list(found.values())


def run_dirs_under(folder: Path):
    """Finished run directories at any depth under ``folder`` (sorted; a run's own files are not
    searched, unfinished ``.partial`` runs are skipped), so a tree of runs reads like a flat folder."""
    for child in sorted(folder.iterdir()):
        if not child.is_dir() or child.name.endswith(PARTIAL_SUFFIX) or child.name.startswith("."):
            continue
        if is_run_dir(child):
            yield child
        else:
            yield from run_dirs_under(child)


def drop_suite_members(records: Sequence[RunRecord]) -> tuple[list[RunRecord], list[RunRecord]]:
    """Split off the member runs of pooled suite runs (reported through the pooled run)."""
    member_names = {name for r in records for name in (r.config.get("members") or {}).values()}
    kept = [r for r in records if r.name not in member_names]
    dropped = [r for r in records if r.name in member_names]
    return kept, dropped


def from_runs(paths: Sequence[str | Path], baseline: str | None = None) -> Collection:
    """Group runs given on the command line; labels from ``config.json``, order alphabetical."""
    records, _ = drop_suite_members(scan(paths))
    planned = [(label_of(r), ablation_of_label(label_of(r)), r) for r in records]
    labels = sorted({label for label, ablation, _ in planned if ablation is None})
    benchmarks = sorted({r.benchmark for r in records})
    ablations = {label: ablation for label, ablation, _ in sorted(planned, key=lambda p: p[0]) if ablation}
    experiments = {r.config.get("experiment") for r in records} - {None}
    collection = Collection(
        groups={},
        labels=labels,
        benchmarks=benchmarks,
        ablations=ablations,
        baseline=baseline,
        name=experiments.pop() if len(experiments) == 1 else None,
    )
    for label, _, record in planned:
        _add(collection, label, record)
    return _checked(collection)


# --- from an experiment config -----------------------------------------------


def resolve_out(config: Any) -> Path:
    """The experiment's run folder: ``out`` relative to the config folder's parent, else to the cwd."""
    out = Path(config.out)
    if out.is_absolute():
        return out
    if config.path is not None:
        beside = Path(config.path).resolve().parent.parent / out
        if beside.is_dir() or not out.is_dir():
            return beside
    return out


def from_config(path: str | Path, baseline: str | None = None, runs_dir: str | Path | None = None) -> Collection:
    """The runs of an experiment config, from ``runs_dir`` (default: the config's ``out``)."""
    from bench.experiments.config import load_experiment

    config = load_experiment(path)
    out = Path(runs_dir) if runs_dir is not None else resolve_out(config)
    planned = config.runs()
    labels: list[str] = []
    benchmarks: list[str] = []
    ablations: dict[str, Ablation] = {}
    for run in planned:
        if run.ablation is None and run.label not in labels:
            labels.append(run.label)
        if run.ablation is not None and run.label not in ablations:
            ablations[run.label] = ablation_of_label(run.label, run.ablation) or Ablation(
                run.ablation, run.label, run.label
            )
        if run.spec.benchmark not in benchmarks:
            benchmarks.append(run.spec.benchmark)
    collection = Collection(
        groups={},
        labels=labels,
        benchmarks=benchmarks,
        ablations=ablations,
        baseline=baseline or config.baseline,
        name=config.name,
        description=config.description,
        deviations=config.deviations,
    )
    entries = read_plan(out / SWEEP_PLAN, config.name)
    if entries is not None:
        _from_plan(collection, entries, out / SWEEP_PLAN)
    else:
        _from_scan(collection, planned, out, config.name)
    return _checked(collection)


def read_plan(plan_file: Path, experiment: str) -> list[dict[str, Any]] | None:
    """The planned runs of ``sweep.json`` (None when absent or written for another experiment).

    Accepts the sweep executor's file (``{"experiment", "runs": [{label, ablation, spec, run, ...}]}``,
    ``run`` relative to the file's folder) and a bare list of ``{label, ablation, run_dir, spec}``.
    """
    if not plan_file.is_file():
        return None
    try:
        data = json.loads(plan_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise BenchError(f"{plan_file}:{error.lineno}: not valid JSON ({error.msg})") from None
    if isinstance(data, dict):
        if data.get("experiment") not in (None, experiment):
            return None
        data = data.get("runs")
    if not isinstance(data, list):
        raise BenchError(f"{plan_file}: expected a list of planned runs (or an object with 'runs')")
    for number, entry in enumerate(data, start=1):
        if not isinstance(entry, dict) or "label" not in entry or not any(k in entry for k in ("run", "run_dir")):
            raise BenchError(f"{plan_file}: planned run {number} needs 'label' and 'run' (or 'run_dir')")
    return data


def _from_plan(collection: Collection, entries: Sequence[dict[str, Any]], plan_file: Path) -> None:
    folder = plan_file.parent
    for entry in entries:
        label = entry["label"]
        if label not in collection.labels and label not in collection.ablations:
            ablation = ablation_of_label(label, entry.get("ablation"))
            if entry.get("ablation") is None or ablation is None:
                collection.labels.append(label)
            else:
                collection.ablations[label] = ablation
        run_dir = Path(entry.get("run") or entry["run_dir"])
        candidates = [run_dir] if run_dir.is_absolute() else [folder / run_dir, run_dir, folder / run_dir.name]
        found = next((c for c in candidates if is_run_dir(c)), None)
        if found is None:
            spec = entry.get("spec") or {}
            benchmark = entry.get("benchmark", spec.get("benchmark", "?"))
            seed = entry.get("seed", spec.get("seed", "?"))
            collection.missing.append(f"{label} on {benchmark} seed {seed} ({run_dir.name}: not finished)")
            continue
        record = load_run(found)
        if record.benchmark not in collection.benchmarks:
            collection.benchmarks.append(record.benchmark)
        _add(collection, label, record)


def _from_scan(collection: Collection, planned: Sequence[Any], out: Path, name: str) -> None:
    from bench.linker import options_to_dict
    from bench.registry import SYSTEMS

    found = scan([out]) if out.is_dir() and any(is_run_dir(c) for c in out.iterdir()) else []
    found = [r for r in found if r.config.get("experiment") == name]
    kept, _ = drop_suite_members(found)
    used: set[str] = set()
    for run in planned:
        spec = run.spec
        options = options_to_dict(SYSTEMS.get(spec.system).from_settings(dict(spec.settings)).options)
        want = {
            "label": run.label,
            "system": spec.system,
            "benchmark": spec.benchmark,
            "seed": spec.seed,
            "profile": canonical_profile(spec.profile),
            "split": spec.split,
            "options": _canonical(options),
        }
        # a suite's member runs are matched too: a config may plan aap-fold0 beside the pooled aap,
        # and the suite then reuses that very run as its fold 0
        matches = [r for r in found if _identity(r) == want]
        if not matches:
            collection.missing.append(f"{run.label} on {spec.benchmark} seed {spec.seed}")
            continue
        if len(matches) > 1:
            names = ", ".join(sorted(r.name for r in matches))
            raise BenchError(
                f"{out}: several finished runs match {run.label} on {spec.benchmark} seed {spec.seed} "
                f"({names}); remove the stale ones or list the run directories explicitly"
            )
        used.add(matches[0].name)
        _add(collection, run.label, matches[0])
    collection.ignored = sorted(r.name for r in kept if r.name not in used)


def _identity(record: RunRecord) -> dict[str, Any]:
    from bench.registry import SYSTEMS

    c = record.config
    options = c.get("options") or {}
    if c.get("system") in SYSTEMS:  # what the run ran with, options added since included
        options = SYSTEMS.get(c["system"]).recorded_options(options, c.get("ks") or [])
    return {
        "label": label_of(record),
        "system": c.get("system"),
        "benchmark": c.get("benchmark"),
        "seed": c.get("seed"),
        "profile": run_profile(c),  # runs from before profile versions that say "angel" used the official files
        "split": c.get("split"),
        "options": _canonical(options),
    }


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# --- shared ------------------------------------------------------------------


def _add(collection: Collection, label: str, record: RunRecord) -> None:
    key = (label, record.benchmark)
    group = collection.groups.setdefault(key, RunGroup(label, record.benchmark))
    seed = int(record.config.get("seed", 0))
    if seed in group.runs and group.runs[seed].path.resolve() != record.path.resolve():
        raise BenchError(
            f"two runs of {label} on {record.benchmark} with seed {seed}: {group.runs[seed].path} and "
            f"{record.path}; give only one of them"
        )
    group.runs[seed] = record


def _checked(collection: Collection) -> Collection:
    """Refuse a report that would put runs on different test data or KBs side by side."""
    if not collection.groups:
        raise BenchError(
            "no finished run to report" + (f" ({len(collection.missing)} missing)" if collection.missing else "")
        )
    for benchmark in collection.benchmarks:
        records = [
            r for (label, b), group in sorted(collection.groups.items()) if b == benchmark for r in group.records()
        ]
        for other in records[1:]:
            check_comparable(records[0], other)
    present = {b for _, b in collection.groups}
    collection.benchmarks = [b for b in collection.benchmarks if b in present]
    labels = {label for label, _ in collection.groups}
    collection.labels = [label for label in collection.labels if label in labels]
    collection.ablations = {label: a for label, a in collection.ablations.items() if label in labels}
    if collection.baseline is not None and collection.baseline not in labels:
        raise BenchError(f"baseline {collection.baseline!r} has no finished run (labels: {', '.join(sorted(labels))})")
    return collection
