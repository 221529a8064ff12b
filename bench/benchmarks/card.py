"""Dataset cards: ``datasets/<name>/README.md`` with a YAML header.

Hugging Face dataset cards put machine-readable metadata in YAML front matter
above the prose; we follow that, so one file serves the reader and the loader.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from bench.errors import DataFormatError

# libyaml's loader when PyYAML was built with it: cards are read on every load.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_card(path: str | Path) -> dict[str, Any]:
    """The YAML header of a card as a dict (parsed once per file version)."""
    path = Path(path)
    stat = path.stat()
    return copy.deepcopy(_read_card(path.resolve(), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=64)
def _read_card(path: Path, _mtime: int, _size: int) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise DataFormatError(path, 1, "a card must start with a '---' YAML header")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise DataFormatError(path, None, "the YAML header is not closed by a '---' line")
    try:
        data = yaml.load(text[4:end], Loader=_LOADER) or {}
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        raise DataFormatError(path, None if line is None else line + 2, f"invalid YAML: {error}") from None
    if not isinstance(data, dict):
        raise DataFormatError(path, 2, "the YAML header must be a mapping")
    return data
