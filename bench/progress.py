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


def say(message: str) -> None:
    """A progress message on stderr, with this process's prefix."""
    print(f"{_LINE_PREFIX}{message}", file=sys.stderr, flush=True)


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
        self.log(", ".join(parts))
