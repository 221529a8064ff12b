"""Reading untrusted text files line by line, with file:line errors.

Corpus and KB files arrive from many mirrors; a bad byte or a truncated gzip
must stop loading with the file and line named, never be skipped.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

from bench.errors import DataFormatError


def iter_lines(path: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` without the newline; gzip is detected by suffix.

    A UTF-8 byte-order mark at the start is dropped (it would otherwise glue
    itself to the first id, ``\ufeffC565588``). A last line without a final
    newline is an error: every official file we read ends with one, and a
    missing one is how a cut download or copy looks (the half line would be
    parsed as a whole record).
    """
    path = Path(path)
    if not path.exists():
        raise DataFormatError(path, None, "file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    number = 0
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.endswith(b"\n"):
                    raise DataFormatError(
                        path, number, "the last line has no final newline: the file looks truncated; prepare it again"
                    )
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                try:
                    line = raw.decode(encoding)
                except UnicodeDecodeError as error:
                    raise DataFormatError(
                        path, number, f"not valid {encoding}: {error.reason} at byte {error.start}"
                    ) from None
                yield number, line.rstrip("\r\n")
    except (OSError, EOFError, zlib.error) as error:  # truncated or corrupt gzip, unreadable file
        raise DataFormatError(path, number + 1, f"cannot be read: {error}") from None
