"""Progress bars for long loops (tqdm), silenced by BIOEL_BENCH_PROGRESS=0 or no TTY."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_enabled() -> bool:
    setting = os.environ.get("BIOEL_BENCH_PROGRESS")
    if setting is not None:
        return setting not in {"0", "false", "no"}
    return sys.stderr.isatty()


def progress_bar(iterable: Iterable[T], **kwargs) -> Iterable[T]:
    """``tqdm`` on stderr when progress is enabled, the plain iterable otherwise."""
    return tqdm(iterable, disable=not progress_enabled(), file=sys.stderr, **kwargs)
