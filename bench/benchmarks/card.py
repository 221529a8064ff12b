"""Dataset cards: ``datasets/<name>/README.md`` with a YAML header.

Hugging Face dataset cards put machine-readable metadata in YAML front matter
above the prose; we follow that, so one file serves the reader and the loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bench.errors import DataFormatError


def read_card(path: str | Path) -> dict[str, Any]:
    """The YAML header of a card as a dict."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise DataFormatError(path, 1, "a card must start with a '---' YAML header")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise DataFormatError(path, None, "the YAML header is not closed by a '---' line")
    try:
        data = yaml.safe_load(text[4:end]) or {}
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        raise DataFormatError(path, None if line is None else line + 2, f"invalid YAML: {error}") from None
    if not isinstance(data, dict):
        raise DataFormatError(path, 2, "the YAML header must be a mapping")
    return data
