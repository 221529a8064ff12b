"""Argument types shared by the CLI verbs: a bad value is refused by argparse with one line.

``--k 0``, ``--workers 0`` or ``--resamples 0`` used to be taken silently (an
empty metric, the default worker count, a scipy traceback); ``--name ../x``
wrote outside ``--out``. Each check lives here once so every verb applies it.
"""

from __future__ import annotations

import argparse


def _int_at_least(text: str, lowest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < lowest:
        raise argparse.ArgumentTypeError(f"must be at least {lowest}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An integer of at least 0."""
    return _int_at_least(text, 0)


def run_name(text: str) -> str:
    """A run directory name: one path component, so the run stays inside ``--out``."""
    problem = check_run_name(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def check_run_name(text: str) -> str | None:
    """Why ``text`` cannot name a run directory, or None when it can."""
    if not text or text in {".", ".."} or "/" in text or "\\" in text or "\0" in text:
        return f"a run name is one folder name inside --out (no '/', not '.' or '..'), got {text!r}"
    if text.endswith(".partial"):
        return f"a run name cannot end in '.partial' (that suffix marks unfinished runs), got {text!r}"
    return None
