"""Progress bars for long loops (tqdm), silenced by BIOEL_BENCH_PROGRESS=0 or no TTY."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


_LINE_PREFIX = ""


def set_line_prefix(prefix: str) -> None:
    """Start every message of :func:`say` with ``prefix`` (a sweep worker's ``[label benchmark seed]``),
    so that the logs of parallel runs can be told apart."""
    global _LINE_PREFIX
    _LINE_PREFIX = prefix


_LOG_FILE = None  # the current run's log.txt, which also keeps these messages (set by the runner)
_RUN: dict[str, float] = {}  # the run-level plan of a multi-stage system: steps in all, steps done


def set_log_file(path) -> None:
    """Also append every :func:`say` message to ``path`` (None: stop)."""
    global _LOG_FILE
    _LOG_FILE = path


def say(message: str) -> None:
    """A progress message on stderr, with this process's prefix (and in the run's log.txt)."""
    print(f"{_LINE_PREFIX}{message}", file=sys.stderr, flush=True)
    if _LOG_FILE is not None:
        try:
            append_log_line(_LOG_FILE, message)
        except OSError:  # a progress line is never worth failing a run
            pass


def append_log_line(path, message: str) -> None:
    """One timestamped (UTC) line appended to a run's log.txt."""
    import datetime

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{stamp} {message}\n")


def plan_run(total_steps: int) -> None:
    """A multi-stage system announces its training steps in all, so progress lines show a run-level ETA."""
    import time

    _RUN.clear()
    _RUN.update(total=float(max(0, total_steps)), done=0.0, started=time.monotonic())


def stage_done(steps: int, trained: bool = True) -> None:
    """A stage finished: its steps count as done, or (reused from a cache) leave the plan."""
    if _RUN:
        if trained:
            _RUN["done"] += steps
        else:
            _RUN["total"] = max(0.0, _RUN["total"] - steps)


def run_eta(stage_steps_done: int) -> float | None:
    """Seconds left in the whole run's training, from its pace so far (None without a plan)."""
    import time

    if not _RUN:
        return None
    done = _RUN["done"] + stage_steps_done
    if done <= 0 or done >= _RUN["total"]:
        return None
    return (time.monotonic() - _RUN["started"]) / done * (_RUN["total"] - done)


def progress_enabled() -> bool:
    setting = os.environ.get("BIOEL_BENCH_PROGRESS")
    if setting is not None:
        return setting not in {"0", "false", "no"}
    return sys.stderr.isatty()


def progress_bar(iterable: Iterable[T], **kwargs) -> Iterable[T]:
    """``tqdm`` on stderr when progress is enabled, the plain iterable otherwise."""
    return tqdm(iterable, disable=not progress_enabled(), file=sys.stderr, **kwargs)


def format_seconds(seconds: float) -> str:
    """``1h02m``, ``3m05s`` or ``42s``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class PlainProgress:
    """A progress line a log file or a pipe can follow: at most every ``every`` seconds (and at the end),
    ``[name] step 120/400 (30%), loss 3.21, dev acc@1 41.0%, 1m02s elapsed, ETA 2m25s``.

    tqdm draws bars for a terminal; with no terminal (a sweep worker, Slurm, ``| tee``) it is
    silenced and nothing would be printed for minutes, so this prints plain lines instead.
    """

    def __init__(self, name: str, total: int, every: float = 30.0, log=None, clock=None, unit: str = "step") -> None:
        import time

        self.name, self.total, self.every, self.unit = name, total, every, unit
        self.log = log or say
        self.clock = clock or time.monotonic
        self.started = self.clock()
        self.last = self.started
        self.extra: dict[str, str] = {}

    def update(self, done: int, force: bool = False, **extra: str) -> None:
        self.extra.update({k: v for k, v in extra.items() if v})
        now = self.clock()
        if not force and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.started
        parts = [f"[{self.name}] {self.unit} {done}/{self.total} ({100 * done / max(1, self.total):.0f}%)"]
        parts += [f"{k} {v}" for k, v in self.extra.items()]
        parts.append(f"{format_seconds(elapsed)} elapsed")
        if 0 < done < self.total:
            parts.append(f"ETA {format_seconds(elapsed / done * (self.total - done))}")
        whole = run_eta(done) if self.unit == "step" else None
        if whole is not None:
            parts.append(f"run ETA {format_seconds(whole)}")
        self.log(", ".join(parts))
