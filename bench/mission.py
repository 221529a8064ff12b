"""``bioel-bench demo`` (what ``make demo`` runs): the mission, end to end, on the embedded demo.

A generative linker trained without negatives (``genbioel``) and the same model after
ANGEL's negative-aware stage (``angel``), beside exact match and TF-IDF, run from one
experiment config (``configs/demo.yaml``) by the sweep; then each system's
acc@1/5/10, the paired genbioel-vs-angel comparison (difference, bootstrap CI,
McNemar and randomization p-values) and the main table with significance markers
(the report, whose ``index.html`` browses the same runs). Interrupted, it resumes;
run again, it reuses the finished runs.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.errors import BenchError
from bench.progress import format_seconds


def run_mission(
    config_path: str | Path = "configs/demo.yaml",
    out: str | Path | None = None,
    data_dir: str | Path | None = None,
    a: str = "genbioel",
    b: str = "angel",
    log=print,
) -> int:
    from bench.compare import compare_runs
    from bench.experiments.config import load_experiment
    from bench.experiments.sweep import run_sweep
    from bench.report.build import build_report
    from bench.tables import comparison_table

    config_path = Path(config_path)
    if not config_path.is_file():
        raise BenchError(f"{config_path}: no such experiment config (run from the repository root, or give --config)")
    started = time.monotonic()
    config = load_experiment(config_path)
    out = Path(out) if out is not None else config.out
    records = run_sweep(config, out=out, data_dir=data_dir, log=log)
    by_label = {str(r.config.get("label") or r.system): r for r in records}
    missing = [label for label in (a, b) if label not in by_label]
    if missing:
        raise BenchError(f"{config_path}: no system labelled {', '.join(missing)} to compare")

    log("")
    log(f"== {config.name}: {records[0].benchmark} ({records[0].metrics['n_mentions']} test mentions) ==")
    width = max(len(label) for label in by_label)
    log(f"{'system':<{width}}  acc@1  acc@5  acc@10  time")
    for label, record in by_label.items():
        acc = record.metrics["acc"]["union"]
        shown = "  ".join(f"{100 * acc.get(k, float('nan')):5.1f}" for k in ("1", "5", "10"))
        seconds = record.metrics["timings"].get("total_s", 0)
        log(f"{label:<{width}}  {shown}   {format_seconds(seconds)}")
        for warning in (record.metrics.get("health") or {}).get("warnings", []):
            log(f"{'':<{width}}  warning: {warning}")

    log("")
    log(f"== {b} against {a}: paired, on the same mentions ==")
    result = compare_runs(by_label[a], by_label[b], (1, 5, 10), n_resamples=2000)
    log(comparison_table(result))

    report = build_report([config_path], out / "report", runs_dir=out, figures=False, html=True)
    log("")
    log((report.out / "main.md").read_text().rstrip())
    log("")
    log(f"report: {report.out} (index.html: leaderboard and mention-by-mention browser)")
    log(f"done in {format_seconds(time.monotonic() - started)} (finished runs are reused when run again)")
    return 0
