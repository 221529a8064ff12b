"""Where things live: the committed dataset cards and the user's data cache."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def datasets_dir() -> Path:
    """The folder of dataset cards and the embedded demo (``datasets/``)."""
    return Path(os.environ.get("BIOEL_BENCH_DATASETS", REPO_ROOT / "datasets"))


def data_dir(override: str | Path | None = None) -> Path:
    """Where prepared benchmark data is cached (``BIOEL_BENCH_DATA`` overrides)."""
    if override is not None:
        return Path(override)
    if "BIOEL_BENCH_DATA" in os.environ:
        return Path(os.environ["BIOEL_BENCH_DATA"])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("bioel-bench"))
