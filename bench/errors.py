"""Errors the harness raises on purpose.

Every problem with a user's input must say *where* it is (file and line) and
*what* is wrong, so that a researcher can fix a corrupted download or a
hand-edited KB without reading our code.
"""

from __future__ import annotations

from pathlib import Path


class BenchError(Exception):
    """Base class of the errors that the CLI prints without a traceback."""


class DataFormatError(BenchError):
    """A malformed line in a corpus or knowledge-base file."""

    def __init__(self, path: str | Path, line: int | None, problem: str):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class UnknownNameError(BenchError, KeyError):
    """An unknown system, benchmark or option name (with suggestions)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class IncompleteRunError(BenchError):
    """A run directory that was never finished (killed, or still running)."""


class IncomparableRunsError(BenchError):
    """Two runs that must not be compared: different test data or KB."""
