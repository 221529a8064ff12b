"""Rebuild the dense-retriever report: tfidf, dense, dense + SapBERT-style training on three benchmarks.

    python reports/dense/run_dense.py --runs /tmp/bbruns-dense

Each cell is one ``bench.runner.execute`` call (the same as ``bioel-bench run
--system NAME --benchmark BENCH --set ...``); finished runs are reused and an
interrupted one resumes, so the script can be stopped and started again. The
run directories (with checkpoints and name embeddings: hundreds of MB) stay
under ``--runs``; ``--export DIR`` copies them without working files
(``bench.results.export_run``, predictions gzipped; never COMETA, whose license
forbids redistribution). ``results.json`` here keeps the numbers and run names,
and the table is printed (README.md quotes it). The exported runs of the three
benchmarks total 2.6 MB, over this report's budget, so none is committed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import systems.dense  # noqa: F401  (registers "dense" until the registry lists it)
from bench.protocols import DEFAULT_PROFILE, run_profile
from bench.results import export_run
from bench.runner import RunSpec, execute

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("ncbi-disease", "aap-fold0", "cometa")
#: SapBERT-style steps per benchmark (batch 32 pairs; about 6 s a step on the shared 2-core machine)
TRAIN_STEPS = {"ncbi-disease": 200, "aap-fold0": 200, "cometa": 200}


def configurations(train_steps: int, threads: int) -> list[tuple[str, str, dict]]:
    trained = {"train_steps": train_steps, "lr": 1e-4, "train_batch_pairs": 32, "save_steps": 50}
    return [
        ("tfidf", "tfidf", {}),
        ("dense (MiniLM, no training)", "dense", {"threads": threads}),
        (f"dense (MiniLM + {train_steps} SapBERT steps)", "dense", {"threads": threads, **trained}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="/tmp/bbruns-dense", help="where the full run directories go")
    parser.add_argument("--train-steps", type=int, default=None, help="the same for every benchmark")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", default=DEFAULT_PROFILE, help="data profile (default: the package default)")
    parser.add_argument("--export", default=None, help="also copy the runs here without working files (not COMETA)")
    args = parser.parse_args()
    rows = []
    for benchmark in BENCHMARKS:
        steps = args.train_steps or TRAIN_STEPS[benchmark]
        for label, system, settings in configurations(steps, args.threads):
            t0 = time.perf_counter()
            record = execute(RunSpec(system, benchmark, settings=settings, profile=args.profile), out_dir=args.runs)
            wall = time.perf_counter() - t0
            if args.export and not benchmark.startswith("cometa"):  # COMETA's license forbids redistribution
                export_run(record, Path(args.export))  # config, environment, metrics, gzipped predictions
            m = record.metrics
            rows.append(
                {
                    "benchmark": benchmark,
                    "profile": run_profile(record.config),
                    "system": label,
                    "acc1": 100 * m["acc"]["union"]["1"],
                    "acc5": 100 * m["acc"]["union"]["5"],
                    "fit_s": m["timings"]["fit_s"],
                    "predict_s": m["timings"]["predict_s"],
                    "wall_s": round(wall, 1),
                    "closed_world": m["flags"].get("closed_world_kb", False),
                    "run": record.name,
                    "training": m["system_info"].get("training"),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    (HERE / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(table(rows))


def table(rows: list[dict]) -> str:
    lines = [
        "| benchmark | profile | system | acc@1 | acc@5 | train s | fit s | predict s |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        mark = "*" if r["closed_world"] else ""
        train = f"{r['training']['train_s']:.0f}" if r["training"] else "-"
        lines.append(
            f"| {r['benchmark']}{mark} | {r['profile']} | {r['system']} | {r['acc1']:.1f} | {r['acc5']:.1f} | "
            f"{train} | {r['fit_s']:.0f} | {r['predict_s']:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
