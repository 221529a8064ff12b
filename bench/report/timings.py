"""Where a run's time went, read back from its ``log.txt``: training stages, the negative stage, decoding.

Every run keeps a timestamped log of its stage lines (``[finetune] 1200 steps of 64 examples``,
``[finetune] done: 1200 steps in 21m03s``, ``[angel] negative-aware stage: ...``, ``fit done in
..``). Reading them back after the fact gives a per-stage account of a sweep (training steps/s,
mining and DPO, decoding) without the linkers having to time themselves, and works for runs
that were made before anyone asked. A run without a log (exported before logs were kept) shows
only its total. A stage another run trained (the positive-only model both arms share) is
``shared``: its time is counted where it was trained.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.report.render import Table
from bench.results import LOG

_LINE = re.compile(r"^(?P<stamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (?P<message>.*)$")
_STAGE_START = re.compile(r"^\[(?P<stage>[\w-]+)\] (?P<steps>\d+) steps of \d+ examples")
_STAGE_DONE = re.compile(r"^\[(?P<stage>[\w-]+)\] done: (?P<steps>\d+) steps in ")
_STAGE_SHARED = re.compile(r"^\[(?P<stage>[\w-]+)\] reusing the identical stage")
_STAGE_PROGRESS = re.compile(r"^\[(?P<stage>[\w-]+)\] step \d+/\d+ .*?, loss (?P<loss>[-+\d.eE]+|nan)")
_NEGATIVE_START = re.compile(r"^\[angel\] negative-aware stage")
_FIT_DONE = re.compile(r"^fit done in ")
_RUN_START = re.compile(r"^(started|resuming|resumed) ")
_RUN_DONE = re.compile(r"^done: ")


@dataclass
class StageTime:
    steps: int | None = None
    seconds: float | None = None
    shared: bool = False
    #: the last training loss its progress lines logged (bench/report/convergence.py compares seeds on it)
    final_loss: float | None = None

    def rate(self) -> str:
        if self.shared:
            return "shared"
        if not self.steps or not self.seconds:
            return "-"
        return f"{self.steps} @ {self.steps / self.seconds:.2f}/s"


@dataclass
class RunTimes:
    """One run's account: stages by name, the negative stage, the whole run's span in the log.

    A run resumed in a later sitting logs ``resumed ...``; its ``sittings`` are the spans it was
    running, and stage and negative-stage times count only the time within them (a stage
    checkpointed at 09:15 and finished after a resume at 11:00 took its minutes, not two hours).
    """

    stages: dict[str, StageTime] = field(default_factory=dict)
    negative_s: float | None = None
    started: datetime | None = None
    finished: datetime | None = None
    sittings: list[tuple[datetime, datetime]] = field(default_factory=list)


def read_log(path: Path) -> RunTimes:
    """Parse a run's log.txt (missing: an empty account)."""
    times = RunTimes()
    if not path.is_file():
        return times
    opened: dict[str, float] = {}  # stage -> the active clock at its first start line
    negative_from: float | None = None
    clock = 0.0  # seconds of active time: the gaps between sittings are left out
    previous: datetime | None = None
    sitting_start: datetime | None = None
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = _LINE.match(raw)
        if not line:
            continue
        try:
            stamp = datetime.strptime(line["stamp"], "%Y-%m-%d %H:%M:%S")
        except ValueError:  # a line cut or garbled by a crash: the account reads around it
            continue
        message = line["message"]
        if _RUN_START.match(message):
            if sitting_start is not None and previous is not None:
                times.sittings.append((sitting_start, previous))
            sitting_start = stamp
            times.started = times.started or stamp
        elif previous is not None:
            clock += max(0.0, (stamp - previous).total_seconds())
        previous = stamp
        if _RUN_DONE.match(message):
            times.finished = stamp
        if match := _STAGE_START.match(message):
            opened.setdefault(match["stage"], clock)
            times.stages.setdefault(match["stage"], StageTime(int(match["steps"])))
        elif match := _STAGE_DONE.match(message):
            stage = times.stages.setdefault(match["stage"], StageTime())
            stage.steps = int(match["steps"])
            if match["stage"] in opened:
                stage.seconds = clock - opened[match["stage"]]
        elif (match := _STAGE_SHARED.match(message)) and match["stage"] not in times.stages:
            times.stages[match["stage"]] = StageTime(shared=True)
        elif match := _STAGE_PROGRESS.match(message):
            times.stages.setdefault(match["stage"], StageTime()).final_loss = float(match["loss"])
        elif _NEGATIVE_START.match(message):
            negative_from = clock if negative_from is None else negative_from
        elif _FIT_DONE.match(message) and negative_from is not None:
            times.negative_s = clock - negative_from
    if sitting_start is not None and previous is not None:
        times.sittings.append((sitting_start, previous))
    return times


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}"


def _crossfit_seconds(times: RunTimes) -> float | None:
    found = [s.seconds for name, s in times.stages.items() if name.startswith("crossfit") and s.seconds]
    return sum(found) if found else None


def span_hours(accounts: Sequence[RunTimes]) -> float | None:
    """Hours from the first run's start to the last run's end (the wall time of a sitting)."""
    starts = [a.started for a in accounts if a.started]
    ends = [a.finished for a in accounts if a.finished]
    if not starts or not ends:
        return None
    return (max(ends) - min(starts)).total_seconds() / 3600


def busy_hours(accounts: Sequence[RunTimes]) -> float | None:
    """Hours during which at least one of the runs was running: the union of their sittings.

    Runs made in several sittings (a sweep resumed the next day, a benchmark rerun with a new
    budget) leave gaps that the first-start-to-last-finish span would count as time spent.
    """
    spans = sorted((start, end) for a in accounts for start, end in a.sittings if end >= start)
    if not spans:
        return None
    total, (start, end) = 0.0, spans[0]
    for begin, finish in spans[1:]:
        if begin > end:
            total += (end - start).total_seconds()
            start, end = begin, finish
        else:
            end = max(end, finish)
    return (total + (end - start).total_seconds()) / 3600


def timings_table(
    rows_in: Sequence[tuple[str, str, int, dict, RunTimes]],
    first_seeds: dict[str, int],
    ablations: Collection[str] = (),
) -> Table:
    """A row per run (label, benchmark, seed, metrics timings, log account) and totals in the notes.

    ``first_seeds``: benchmark -> its first seed, and ``ablations``: the ablation rows' labels, to
    total the single-seed part (main systems, first seed) apart.
    """
    rows = []
    for label, benchmark, seed, timings, times in rows_in:
        total = timings.get("total_s")
        predict = timings.get("predict_s")
        rows.append(
            [
                label,
                benchmark,
                str(seed),
                _minutes(total) + ("*" if timings.get("resumed") else ""),
                times.stages.get("pretrain", StageTime()).rate(),
                times.stages.get("finetune", StageTime()).rate(),
                _minutes(_crossfit_seconds(times)),
                _minutes(times.negative_s),
                "-" if predict is None else f"{predict:.0f}",
                "-" if timings.get("mentions_per_s") is None else f"{timings['mentions_per_s']:.0f}",
            ]
        )

    def total(selected: Sequence[tuple[str, str, int, dict, RunTimes]], what: str) -> str:
        hours = sum(float(r[3].get("total_s") or 0) for r in selected) / 3600
        span, busy = span_hours([r[4] for r in selected]), busy_hours([r[4] for r in selected])
        shown = f"{what}: {len(selected)} runs, {hours:.2f} h of run time"
        if span is None or busy is None:
            return shown + "."
        shown += f", {busy:.2f} h of wall time while any of them ran"
        if abs(span - busy) < 0.005:
            return shown + "."
        return shown + f" ({span:.2f} h from the first start to the last finish)."

    single = [r for r in rows_in if r[0] not in ablations and r[2] == first_seeds.get(r[1], r[2])]
    notes = [
        total(rows_in, "All runs"),
        total(single, "The single-seed part (each benchmark's first seed, main systems)"),
        "total: the run's wall time in minutes (* resumed: the time of the last sitting only); pretrain and "
        "finetune: steps @ steps per second (shared: the positive-only stage another run of the same seed "
        "trained); cross-fitted miners and negative stage (mining, labelling, DPO and dev checks): minutes; "
        "decode: seconds to predict the test split, and mentions per second. Read from each run's log.txt.",
    ]
    return Table(
        "Run times: where each run's wall time went",
        [
            "system",
            "benchmark",
            "seed",
            "total (min)",
            "pretrain",
            "finetune",
            "miners (min)",
            "negative stage (min)",
            "decode (s)",
            "mentions/s",
        ],
        rows,
        notes,
        ["l", "l", "r", "r", "r", "r", "r", "r", "r", "r"],
    )


def run_times(record_path: Path) -> RunTimes:
    return read_log(record_path / LOG)
