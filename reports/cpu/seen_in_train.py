"""The memorisation check of #16 on the mentions each linker was trained on: seen in the train split.

    BIOEL_BENCH_DATA=<prepared data> python reports/cpu/seen_in_train.py   # from the repository root

Why a script beside the report: the report's memorisation table (``memorisation.md``) takes its
seen subset from the runs, where a mention is *seen* when its string occurs in train or dev (the
leakage subset: what any system could have memorised). GenBioEL's recipe, which both generative
rows follow, never trains on the dev split of BC5CDR, COMETA and AskAPatient (NCBI-disease's dev
is part of its train split in the genbioel profile). On those benchmarks the train+dev subset holds
mentions the model never saw, which the train-only floor misses as well, so the check "at least
the floor less one point" is only meaningful on the mentions seen in the train split. The runs do
not record that subset, and the report reads runs only (whose exports may redact the mention text,
as COMETA's licence asks); this script loads each benchmark's train and test splits (the prepared
genbioel profile, hence the data folder), matches the exported predictions to the test mentions by
id and scores them on the subset with the harness's own scorer (union rule, acc@1).

Before it trusts its subsets, it recomputes each run's train+dev seen acc@1 and checks it against
the value the run recorded. Writes reports/cpu/memorisation_train.md; a rerun gives the same bytes.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RUNS = HERE / "runs"
FLOOR = "floor-train"
#: the issue's floor (train+dev strings), shown beside it on the same subset
FLOOR_ALL = "floor"
#: the check of #16, item 2 (bench/report/memorisation.py has the same tolerance)
CHECKED = ("genbioel", "angel")


def main() -> int:
    sys.path.insert(0, str(REPO))
    import numpy as np

    from bench.api import load_benchmark
    from bench.experiments.config import load_experiment
    from bench.metrics import hit_ranks, leakage_masks
    from bench.report.memorisation import TOLERANCE
    from bench.results import load_run, mentions_from_rows, predictions_from_rows

    config = load_experiment(REPO / "configs" / "cpu.yaml")
    by_benchmark: dict[str, list] = defaultdict(list)
    for folder in sorted(RUNS.iterdir()):
        if (folder / "metrics.json").is_file():
            record = load_run(folder)
            if record.config["benchmark"] in config.benchmarks:
                by_benchmark[record.config["benchmark"]].append(record)

    # label -> benchmark -> seed -> (acc@1 on train-seen mentions, on mentions seen only in dev)
    scores: dict[str, dict[str, dict[int, tuple[float, float]]]] = defaultdict(lambda: defaultdict(dict))
    sizes: dict[str, tuple[int, int]] = {}
    for benchmark in config.benchmarks:
        data = load_benchmark(benchmark, config.profile)
        train = data.split("train")
        # rows are matched to test mentions by id: an export may redact the text (COMETA's licence)
        test_by_id = {m.id: m for m in data.split("test")}
        for record in by_benchmark[benchmark]:
            rows = record.rows
            mentions, predictions = mentions_from_rows(rows), predictions_from_rows(rows)
            correct = hit_ranks(mentions, predictions, "union") <= 1
            seen_any = np.array([bool(r["mention_seen"]) for r in rows])
            recorded = record.metrics["leakage"]["mention_seen"]["acc"]["1"]
            recomputed = float(correct[seen_any].mean())
            if abs(recomputed - recorded) > 1e-9:
                raise SystemExit(f"{record.path}: train+dev seen acc@1 recomputes to {recomputed}, not {recorded}")
            # the harness's own seen subset (what the runner records against train+dev), against train alone
            seen_train = leakage_masks([test_by_id[m.id] for m in mentions], train)["mention_seen"]
            if (seen_train & ~seen_any).any():
                raise SystemExit(f"{record.path}: a mention seen in train is not seen in train+dev")
            label = record.config.get("label") or record.config["system"]
            seed = int(record.config["seed"])
            dev_only = seen_any & ~seen_train
            scores[label][benchmark][seed] = (
                float(correct[seen_train].mean()),
                float(correct[dev_only].mean()) if dev_only.any() else float("nan"),
            )
            sizes[benchmark] = (int(seen_train.sum()), int(seen_any.sum()))

    lines = [
        "# Memorisation check on the mentions seen in the train split",
        "",
        "Written by `BIOEL_BENCH_DATA=<prepared data> python reports/cpu/seen_in_train.py` (do not edit) from "
        "the exported runs in `runs/` and each benchmark's train split (genbioel profile). `memorisation.md` "
        "takes the seen subset from the runs: strings seen in train *or dev*. GenBioEL's recipe never trains "
        "on the dev split of BC5CDR, COMETA and AskAPatient, so the check of #16 (the generative model's "
        "acc@1 on the mentions it was trained on, at least the floor's less one point) is made here on the "
        "test mentions whose string occurs in the train split, against `floor-train` (the lookup of the "
        "train split alone). On NCBI-disease the two subsets are the same: the profile merges dev into train. "
        "Acc@1, union rule; a row per run; floor (train+dev): the issue's floor (each train+dev string's most "
        "frequent gold id set) on the same subset; the last column: the run's acc@1 on the test mentions whose "
        "string occurs in dev but not in train (strings the generative models were never trained on).",
        "",
        "| benchmark | seen in train | seen in train+dev | system | seed | acc@1 seen in train | floor-train | "
        "difference | within 1 point | floor (train+dev) | acc@1 seen only in dev |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for benchmark in config.benchmarks:
        floor = scores[FLOOR][benchmark]
        floor_acc = floor[min(floor)][0]
        floor_all = scores[FLOOR_ALL][benchmark]
        floor_all_acc = floor_all[min(floor_all)][0]
        n_train, n_any = sizes[benchmark]
        for label in CHECKED:
            for seed, (acc, dev_only_acc) in sorted(scores[label][benchmark].items()):
                difference = acc - floor_acc
                within = "yes" if difference >= -TOLERANCE - 1e-12 else "**no**"
                lines.append(
                    f"| {benchmark} | {n_train} | {n_any} | {label} | {seed} | {100 * acc:.1f} | "
                    f"{100 * floor_acc:.1f} | {100 * difference:+.1f} | {within} | {100 * floor_all_acc:.1f} | "
                    + ("-" if n_any == n_train else f"{100 * dev_only_acc:.1f}")
                    + " |"
                )
    (HERE / "memorisation_train.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {(HERE / 'memorisation_train.md').relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
