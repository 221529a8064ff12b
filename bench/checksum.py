"""Content checksums: what makes two runs comparable.

A result is only meaningful next to the exact test mentions and KB that
produced it, so runs record sha256 digests of both (and of every source file);
``compare`` refuses runs whose digests differ.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks (KB files can be GBs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_records(records: Iterable[object]) -> str:
    """Hex sha256 of a sequence of JSON-serialisable records, order-sensitive."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
