"""Did every seed train? The final fine-tuning loss of each seed beside the other seeds'.

A seed that did not converge still gives a run folder and a number, and one such seed turns a
mean ± sd over three seeds into noise (in the first ``cpu`` sweep, seed 1 on NCBI-disease ended
fine-tuning at loss 3.42 where seed 0 reached 1.40, and scored 26 points lower). A single run
cannot tell (``bench/health.py`` only sees its own losses); across seeds it is plain. This table
puts each run's last logged pre-training and fine-tuning loss (read from its ``log.txt``, see
``bench/report/timings.py``) beside the median of the *other* seeds trained with the same budget,
and flags a run whose final fine-tuning loss is more than ``FACTOR`` times that median.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence

from bench.report.render import Table
from bench.report.timings import RunTimes

#: a final fine-tuning loss this many times the other seeds' median is flagged
FACTOR = 1.5
#: the options that fix a positive-only stage's budget: runs compared across seeds must share them
BUDGET = ("pretrain_steps", "pretrain_lr", "finetune_steps", "finetune_lr", "warmup_steps", "kb_mix", "batch_size")
FLAG = "did not converge"


def _budget(benchmark: str, options: Mapping[str, object]) -> tuple[str, ...]:
    return (benchmark, *(repr(options.get(name)) for name in BUDGET))


def _loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def convergence_table(rows_in: Sequence[tuple[str, str, int, Mapping[str, object], RunTimes]]) -> Table | None:
    """A row per run that trained a fine-tuning stage: (label, benchmark, seed, its options, its log account).

    Runs are compared within a benchmark and a budget (``BUDGET``), whatever their label: both
    arms of a seed share one positive-only stage, which the first of them trained. None when no
    run logged a fine-tuning loss.
    """
    trained = [r for r in rows_in if r[4].stages.get("finetune") and r[4].stages["finetune"].final_loss is not None]
    if not trained:
        return None
    peers: dict[tuple, dict[int, float]] = defaultdict(dict)
    for _, benchmark, seed, options, times in trained:
        peers[_budget(benchmark, options)][seed] = times.stages["finetune"].final_loss  # type: ignore[assignment]
    rows, flagged = [], 0
    for label, benchmark, seed, options, times in trained:
        final = times.stages["finetune"].final_loss
        others = [loss for s, loss in peers[_budget(benchmark, options)].items() if s != seed]
        median = statistics.median(others) if others else None
        verdict = ""
        if median is not None and final is not None and final > FACTOR * median:
            verdict, flagged = FLAG, flagged + 1
        pretrain = times.stages.get("pretrain")
        rows.append(
            [
                label,
                benchmark,
                str(seed),
                _loss(pretrain.final_loss if pretrain else None),
                _loss(final),
                _loss(median),
                verdict,
            ]
        )
    notes = [
        "Final losses: the last value each training stage logged (label-smoothed cross-entropy, the "
        "running mean of the logging interval), read from the run's log.txt. A row is the run that trained "
        "the positive-only stage; the other arm of the same seed reuses it.",
        f"Other seeds: the median final fine-tuning loss of the other seeds of the same benchmark and budget "
        f"({', '.join(BUDGET)}). '{FLAG}': above {FACTOR:g} times that median "
        f"({flagged} of {len(rows)} runs). Its scores measure the budget, not the method.",
    ]
    return Table(
        "Convergence: each seed's final training loss beside the other seeds'",
        ["system", "benchmark", "seed", "pretrain loss", "finetune loss", "other seeds", "check"],
        rows,
        notes,
        ["l", "l", "r", "r", "r", "r", "l"],
    )
