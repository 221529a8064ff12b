"""``bioel-bench report``: every table, test and figure of a report, from run directories alone.

The tables (Markdown and LaTeX) and ``significance.json`` are deterministic:
rows and columns in a fixed order, numbers formatted with fixed decimals, run
directories named by their folder name (never an absolute path), no
timestamps; rebuilding from the same runs gives the same bytes. Figures are
redrawn (their bytes may change with the matplotlib version).
"""

from __future__ import annotations

import importlib.util
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.report import tables as build
from bench.report.collect import Collection, from_config, from_runs, is_run_dir, resolve_out
from bench.report.convergence import convergence_table
from bench.report.memorisation import floor_labels, memorisation_table
from bench.report.render import Table, render_latex, render_markdown
from bench.report.significance import (
    ALPHA,
    METHOD,
    Outcomes,
    accuracy_interval,
    adjust,
    compare_groups,
    reported_accuracy,
)
from bench.report.timings import run_times, timings_table
from bench.results import atomic_write_text

TOPK = (1, 5, 10)
FILES = {
    "main": "main results: rows systems, columns benchmarks and their average; acc@1 mean ± sd over seeds, "
    "† where the difference to the baseline is significant after Holm correction",
    "topk": "acc@1, 5 and 10 per benchmark and system",
    "ablation": "each sweep's runs against their base system, with the difference",
    "leakage": "acc@1 on mentions and concepts seen and unseen in train+dev",
    "angel_chunks": "ANGEL's negative-aware stage per chunk (dev acc@1, pairs, mining margin, DPO statistics)",
    "memorisation": "acc@1 on seen mentions against the memorisation floor (exact on train+dev strings; and on "
    "train only, the bar for a linker that never trains on dev, where the config has that floor)",
    "timings": "each run's wall time and where it went (training steps/s, cross-fitted miners, negative stage, "
    "decoding), read from its log.txt",
    "convergence": "each seed's final training losses beside the other seeds' with the same budget, a seed far "
    "above them flagged (read from the runs' log.txt)",
}
FIGURES = {
    "acc_at_k": "acc@k against k, one panel per benchmark",
    "acc1_bars": "acc@1 per benchmark and system with 95% bootstrap intervals over test mentions",
    "leakage": "acc@1 on the seen/unseen subsets, one panel per benchmark",
    "angel_chunks": "ANGEL's per-chunk training curves (dev acc@1, pairs, DPO reward margin and accuracy)",
}


@dataclass
class Report:
    out: Path
    collection: Collection
    tables: dict[str, Table]
    significance: dict[str, Any]
    files: list[str] = field(default_factory=list)  # written, relative to ``out``
    figures_skipped: str | None = None


def is_config(path: Path) -> bool:
    return path.is_file() and path.suffix in {".yaml", ".yml"}


def collect(
    inputs: Sequence[str | Path], baseline: str | None = None, runs_dir: str | Path | None = None
) -> tuple[Collection, Path]:
    """The runs of ``inputs`` (one config, or run directories and folders) and the default output folder."""
    paths = [Path(p) for p in inputs]
    if not paths:
        raise BenchError("report: give an experiment config or run directories")
    if any(is_config(p) for p in paths):
        if len(paths) > 1:
            raise BenchError("report: give either one experiment config or run directories, not both")
        collection = from_config(paths[0], baseline, runs_dir)
        from bench.experiments.config import load_experiment

        folder = Path(runs_dir) if runs_dir is not None else resolve_out(load_experiment(paths[0]))
        return collection, folder / "report"
    if runs_dir is not None:
        raise BenchError("report: --runs goes with an experiment config")
    collection = from_runs(paths, baseline)
    first = paths[0]
    return collection, (first.parent if is_run_dir(first) else first) / "report"


def command_line(
    inputs: Sequence[str | Path],
    out: str | Path | None,
    baseline: str | None,
    figures: bool,
    runs_dir: str | Path | None = None,
    html: bool = False,
) -> str:
    argv = ["bioel-bench", "report", *[str(p) for p in inputs]]
    if runs_dir is not None:
        argv += ["--runs", str(runs_dir)]
    if out is not None:
        argv += ["--out", str(out)]
    if baseline is not None:
        argv += ["--baseline", baseline]
    if not figures:
        argv.append("--no-figures")
    if not html:  # the page is written by default
        argv.append("--no-html")
    return shlex.join(argv)


def benchmark_flags(collection: Collection) -> dict[str, str]:
    """Benchmark -> what its flags say (closed-world KB and any other protocol flag)."""
    flags = {}
    for benchmark in collection.benchmarks:
        records = [r for (_, b), g in sorted(collection.groups.items()) if b == benchmark for r in g.records()]
        raised = {}
        for record in records:
            for name, value in (record.metrics.get("flags") or {}).items():
                if value and name not in raised:
                    raised[name] = value
        parts = []
        for name in sorted(raised):
            value = raised[name]
            title = "closed-world KB, not comparable with published numbers" if name == "closed_world_kb" else name
            parts.append(title if value is True else f"{title} ({value})")
        if parts:
            flags[benchmark] = "; ".join(parts)
    return flags


def build_report(
    inputs: Sequence[str | Path],
    out: str | Path | None = None,
    *,
    baseline: str | None = None,
    runs_dir: str | Path | None = None,
    figures: bool = True,
    k: int = 1,
    command: str | None = None,
    html: bool = False,
) -> Report:
    """Collect the runs, run the tests, write the tables, figures, significance.json and README.md.

    ``inputs``: one experiment config (its runs found through ``<out>/sweep.json``, else by scanning
    ``<out>``; ``runs_dir`` overrides ``<out>``), or run directories and folders of them.
    """
    collection, default_out = collect(inputs, baseline, runs_dir)
    out_dir = Path(out) if out is not None else default_out
    command = command or command_line(inputs, out, baseline, figures, runs_dir, html)
    outcomes = Outcomes()
    labels, benchmarks = collection.labels, collection.benchmarks
    all_labels = [*labels, *collection.ablations]
    groups = collection.groups

    ks_run = sorted({int(x) for g in groups.values() for r in g.records() for x in r.metrics.get("ks", [])})
    topk = [x for x in TOPK if x in ks_run] or ks_run[:3]
    acc = {key: [reported_accuracy(r, k) for r in g.records()] for key, g in groups.items()}
    per_k = {key: {x: [reported_accuracy(r, x) for r in g.records()] for x in ks_run} for key, g in groups.items()}
    leakage = {key: {s: [_leakage(r, s, k) for r in g.records()] for s in build.SUBSETS} for key, g in groups.items()}
    sizes = {}
    for benchmark in benchmarks:
        first = next(g for (_, b), g in sorted(groups.items()) if b == benchmark).records()[0]
        sizes[benchmark] = {s: int(first.metrics.get("leakage", {}).get(s, {}).get("n", 0)) for s in build.SUBSETS}
    flags = benchmark_flags(collection)
    suites = [b for b in benchmarks if any(g.is_suite for (_, bb), g in groups.items() if bb == b)]
    seeds = {label: sorted({s for (lb, _), g in groups.items() if lb == label for s in g.seeds}) for label in labels}

    main_tests: list[dict[str, Any]] = []
    if collection.baseline is not None:
        for label in labels:
            for benchmark in benchmarks:
                group, base = groups.get((label, benchmark)), groups.get((collection.baseline, benchmark))
                if label != collection.baseline and group and base:
                    main_tests.append(compare_groups(outcomes, group, base, k))
    adjust(main_tests)
    ablation_tests: list[dict[str, Any]] = []
    for label, ablation in collection.ablations.items():
        for benchmark in benchmarks:
            group, base = groups.get((label, benchmark)), groups.get((ablation.base, benchmark))
            if group and base:
                ablation_tests.append(compare_groups(outcomes, group, base, k))
    adjust(ablation_tests)
    intervals = {
        (label, benchmark): accuracy_interval(outcomes, groups[(label, benchmark)], k)
        for label in labels
        for benchmark in benchmarks
        if (label, benchmark) in groups
    }
    histories = [
        (label, benchmark, seed, group.runs[seed].metrics.get("system_info", {}).get("negative_stage"))
        for label in all_labels
        for benchmark in benchmarks
        if (group := groups.get((label, benchmark)))
        for seed in group.seeds
    ]
    histories = [h for h in histories if h[3]]

    # the avg column covers the benchmarks every row has (extra columns, such as AskAPatient's ten folds
    # for the cheap systems only, would otherwise leave the other rows without an average)
    shared = [b for b in benchmarks if all((label, b) in groups for label in labels)] or list(benchmarks)
    tables = {
        "main": build.main_table(
            acc,
            labels,
            benchmarks,
            baseline=collection.baseline,
            pvalues={(t["system"], t["benchmark"]): t["p"] for t in main_tests},
            flags=flags,
            suites=suites,
            seeds=seeds,
            k=k,
            average_over=shared if len(shared) < len(benchmarks) else None,
            seed_pvalues={
                (t["system"], t["benchmark"]): t["seed_level_p_holm"]
                for t in main_tests
                if t.get("seed_level_p_holm") is not None
            },
        ),
        "topk": build.topk_table(per_k, labels, benchmarks, topk, flags=flags, suites=suites),
        "leakage": build.leakage_table(leakage, sizes, labels, benchmarks, flags=flags, suites=suites, k=k),
    }
    if collection.ablations:
        tables["ablation"] = build.ablation_table(
            {key: dict(zip(g.seeds, acc[key])) for key, g in groups.items()},  # acc is in seed order
            collection.ablations,
            benchmarks,
            pvalues={(t["system"], t["benchmark"]): t["p"] for t in ablation_tests},
            flags=flags,
            k=k,
        )
    if histories:
        tables["angel_chunks"] = build.angel_table(histories)
    floors = floor_labels(collection)
    floor = floors.get("train+dev") or floors.get("train")
    train_floor = floors.get("train") if floor != floors.get("train") else None
    if floor is not None:
        seen = {key: values["mention_seen"] for key, values in leakage.items()}
        seen_sizes = {b: sizes[b]["mention_seen"] for b in benchmarks}
        tables["memorisation"] = memorisation_table(
            seen, seen_sizes, all_labels, benchmarks, floor, train_floor=train_floor, flags=flags, k=k
        )
    first_seeds: dict[str, int] = {}
    for (_, benchmark), group in sorted(groups.items()):
        if group.seeds:
            first_seeds[benchmark] = min(group.seeds[0], first_seeds.get(benchmark, group.seeds[0]))
    accounts = [
        (label, benchmark, seed, group.runs[seed], run_times(group.runs[seed].path))
        for label in all_labels
        for benchmark in benchmarks
        if (group := groups.get((label, benchmark)))
        for seed in group.seeds
    ]
    tables["timings"] = timings_table(
        [(label, b, seed, record.metrics.get("timings") or {}, times) for label, b, seed, record, times in accounts],
        first_seeds,
        ablations=list(collection.ablations),
    )
    convergence = convergence_table(
        [(label, b, seed, record.config.get("options") or {}, times) for label, b, seed, record, times in accounts]
    )
    if convergence is not None:
        tables["convergence"] = convergence

    significance = {
        "method": METHOD,
        "alpha": ALPHA,
        "k": k,
        "rule": "union",
        "baseline": collection.baseline,
        "main": main_tests,
        "ablation": ablation_tests,
        "intervals": [
            {"system": label, "benchmark": benchmark, **interval, "n_resamples": 1000, "seed": 0}
            for (label, benchmark), interval in intervals.items()
        ],
    }
    report = Report(out_dir, collection, tables, significance)
    for name in FILES:
        if name in tables:
            _write(report, f"{name}.md", render_markdown(tables[name]))
            _write(report, f"{name}.tex", render_latex(tables[name], label=name.replace("_", "-")))
        else:  # a table these runs do not give (no ablation, no ANGEL run): none from an earlier build stays
            for suffix in (".md", ".tex"):
                (out_dir / f"{name}{suffix}").unlink(missing_ok=True)
    _write(report, "significance.json", json.dumps(significance, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    if figures and importlib.util.find_spec("matplotlib") is None:
        report.figures_skipped = "matplotlib is not installed (pip install matplotlib)"
    elif figures:
        from bench.report import figures as draw

        folder = out_dir / "figures"
        means = {key: {x: build.mean_of(v) for x, v in values.items()} for key, values in per_k.items()}
        drawn = draw.acc_at_k_curves(folder, means, labels, benchmarks)
        drawn += draw.accuracy_bars(folder, intervals, labels, benchmarks)
        subset_means = {key: {s: build.mean_of(v) for s, v in subsets.items()} for key, subsets in leakage.items()}
        drawn += draw.leakage_bars(folder, subset_means, labels, benchmarks, build.SUBSETS)
        if histories:
            drawn += draw.angel_chunks(folder, histories)
        report.files += [f"figures/{name}" for name in drawn]
    else:
        report.figures_skipped = "--no-figures"
    if html:
        from bench.report.html import write_html

        report.files.append(write_html(report))
    else:  # no page from an earlier build stays beside tables it no longer matches
        (out_dir / "index.html").unlink(missing_ok=True)
    _write(report, "README.md", readme(report, command))
    return report


def _leakage(record: Any, subset: str, k: int) -> float | None:
    value = record.metrics.get("leakage", {}).get(subset, {}).get("acc", {}).get(str(k))
    return None if value is None else float(value)


def _write(report: Report, name: str, text: str) -> None:
    atomic_write_text(report.out / name, text)
    report.files.append(name)


def _revision(record: Any) -> str:
    git = (record.environment or {}).get("git") or {}
    revision = git.get("revision")
    if not revision:
        return "unknown"
    return revision[:12] + ("+dirty" if git.get("dirty") else "")


def _run_time(record: Any) -> str:
    timings = record.metrics.get("timings") or {}
    seconds = timings.get("total_s")
    if not isinstance(seconds, (int, float)):
        return "-"
    shown = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
    return shown + ("*" if timings.get("resumed") else "")


def readme(report: Report, command: str) -> str:
    collection = report.collection
    title = f"Report: {collection.name}" if collection.name else "Report"
    lines = [
        f"# {title}",
        "",
        "Generated by `bioel-bench report` from the run directories alone; do not edit. Rebuild with:",
        "",
        "```bash",
        command,
        "```",
        "",
        "The tables and `significance.json` are deterministic: rebuilding from the same runs gives the same bytes. "
        "Figures are redrawn.",
    ]
    if collection.description:
        lines += ["", f"Experiment `{collection.name}`: {collection.description}"]
    if collection.deviations:
        lines += ["", "## Deviations from the published protocol", ""]
        lines += [f"- {deviation}" for deviation in collection.deviations]
    lines += [
        "",
        "## Files",
        "",
        "| file | content |",
        "|---|---|",
    ]
    for name, text in FILES.items():
        if name in report.tables:
            lines.append(f"| `{name}.md`, `{name}.tex` | {text} |")
    lines.append(
        "| `significance.json` | every test: per seed pair McNemar counts and p, the combined p, the Holm-adjusted p, "
        "the seed-level t-test, and the accuracy intervals of the bar chart |"
    )
    if "index.html" in report.files:
        lines.append(
            "| `index.html` | one self-contained page (open it in a browser, nothing is fetched): the leaderboard "
            "with significance markers, per-benchmark detail with flags and health warnings, two runs side by "
            "side mention by mention |"
        )
    for stem, text in FIGURES.items():
        if f"figures/{stem}.png" in report.files:
            lines.append(f"| `figures/{stem}.png`, `.pdf` | {text} |")
    if report.figures_skipped:
        lines += ["", f"Figures were not drawn: {report.figures_skipped}."]
    lines += ["", "## Significance", "", METHOD]
    if collection.baseline is None:
        lines += ["", "No baseline was chosen, so the main table has no markers."]
    else:
        lines += ["", f"Baseline: `{collection.baseline}`."]
    lines += [
        "",
        "## Runs",
        "",
        "Time: the run's `timings.total_s` (load, fit, predict) in its last sitting; a resumed run (*) counts "
        "only that sitting, and a run that reused a shared training stage does not count that stage.",
        "",
        "| system | benchmark | seed | run directory | code revision | time |",
        "|---|---|---|---|---|---:|",
    ]
    revisions: dict[str, int] = {}
    for label in [*collection.labels, *collection.ablations]:
        for benchmark in collection.benchmarks:
            group = collection.group(label, benchmark)
            if group is None:
                continue
            for seed in group.seeds:
                record = group.runs[seed]
                revision = _revision(record)
                revisions[revision] = revisions.get(revision, 0) + 1
                lines.append(
                    f"| {label} | {benchmark} | {seed} | `{record.name}` | `{revision}` | {_run_time(record)} |"
                )
    lines += ["", "## Code revisions recorded in the runs", ""]
    lines += [f"- `{revision}`: {n} run(s)" for revision, n in sorted(revisions.items())]
    if any(r.endswith("+dirty") for r in revisions):
        lines.append("- `+dirty`: the checkout had uncommitted edits when the run was made.")
    if collection.missing:
        lines += ["", "## Missing runs (planned, not finished; shown as '-')", ""]
        lines += [f"- {m}" for m in collection.missing]
    if collection.ignored:
        lines += ["", "## Runs of this experiment not used (not in the current plan)", ""]
        lines += [f"- `{name}`" for name in collection.ignored]
    return "\n".join(lines) + "\n"
