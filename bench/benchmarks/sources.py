"""Official source files of a benchmark: where they come from, how they are checked.

A benchmark's card (``datasets/<family>/README.md``) lists its source files
under ``sources:``; the card is the one place where URLs and sha256 digests are
written, and loaders read it from here. Prepared files live under
``<data dir>/raw/<name>``, with ``<name>`` laid out as in the shared data folder
(``ncbi-disease/NCBItrainset_corpus.txt``), so that a mirror of that folder
over HTTP (``--mirror``) or on disk (``--from``) is a drop-in source.

A source entry in a card::

    - name: ncbi-disease/NCBItrainset_corpus.txt
      url: https://www.ncbi.nlm.nih.gov/CBBresearch/Dogan/DISEASE/NCBItrainset_corpus.zip
      member: NCBItrainset_corpus.txt       # file inside a zip archive (optional)
      sha256: f311381b...                    # of the file itself (not of the archive)
      required: true                         # false: the benchmark runs without it (flagged)
      licensed: false                        # true: the user must supply it (how_to_get says how)
      living: false                          # true: the URL serves the latest release, whose
                                             # digest differs from the one recorded (accepted, noted)
      how_to_get: "..."
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.benchmark import Benchmark
from bench.benchmarks.card import read_card
from bench.checksum import sha256_file
from bench.errors import BenchError, DataFormatError
from bench.paths import data_dir as default_data_dir
from bench.paths import datasets_dir

# Bump when a loader's output changes for the same files: cached prepared
# benchmarks made by an older loader are then rebuilt, not reused. The digest
# of the loaders' code is part of the cache stamp too, so an edit to a loader
# cannot be served a stale cache even when nobody bumps this.
LOADER_VERSION = 2


@dataclass(frozen=True)
class SourceFile:
    name: str
    url: str | None = None
    sha256: str | None = None
    member: str | None = None
    required: bool = True
    licensed: bool = False
    living: bool = False
    how_to_get: str = ""


def card_path(family: str) -> Path:
    return datasets_dir() / family / "README.md"


def load_card(family: str) -> dict[str, Any]:
    path = card_path(family)
    if not path.is_file():
        raise BenchError(f"no dataset card for {family!r} at {path}")
    return read_card(path)


def card_sources(family: str) -> list[SourceFile]:
    """The ``sources:`` list of a family's card, validated."""
    path = card_path(family)
    entries = load_card(family).get("sources")
    if not isinstance(entries, list) or not entries:
        raise DataFormatError(path, None, "the card header needs a non-empty 'sources:' list")
    known = set(SourceFile.__dataclass_fields__)
    files = []
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or "name" not in entry:
            raise DataFormatError(path, None, f"sources entry {position} must be a mapping with a 'name'")
        unknown = set(entry) - known
        if unknown:
            raise DataFormatError(path, None, f"sources entry {entry['name']!r}: unknown keys {sorted(unknown)}")
        files.append(SourceFile(**entry))
    return files


def raw_dir(data_dir: str | Path | None = None) -> Path:
    return default_data_dir(data_dir) / "raw"


def locate_sources(family: str, data_dir: str | Path | None = None) -> dict[str, Path | None]:
    """Paths of a family's prepared source files; None for a missing optional one.

    A missing required file stops with the command that prepares it.
    """
    root = raw_dir(data_dir)
    found: dict[str, Path | None] = {}
    missing = []
    for source in card_sources(family):
        path = root / source.name
        if path.is_file():
            found[source.name] = path
        elif source.required:
            missing.append(source.name)
        else:
            found[source.name] = None
    if missing:
        raise BenchError(
            f"benchmark files for {family!r} are not prepared in {root} (missing: {', '.join(missing)}). "
            f"Run: bioel-bench prepare {family} --from DIR (a folder with the official files) "
            f"or without --from to download them."
        )
    return found


#: in ``<data dir>/raw``: what ``prepare`` put there (size, mtime, sha256 of each file)
STAMPS = ".prepared.json"


def _read_stamps(root: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((root / STAMPS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise BenchError(
            f"{root / STAMPS}: unreadable ({error}); run prepare again for the benchmarks in {root}"
        ) from None
    return data if isinstance(data, dict) else {}


def _write_stamps(root: Path, stamps: Mapping[str, Any]) -> None:
    tmp = root / (STAMPS + ".tmp")
    tmp.write_text(json.dumps(stamps, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(root / STAMPS)


def _stamp(path: Path, digest: str) -> dict[str, Any]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}


def record_prepared(root: Path, name: str, digest: str) -> None:
    """Remember a prepared file's size, mtime and sha256 (``prepare`` calls this once per file)."""
    stamps = _read_stamps(root)
    stamps[name] = _stamp(root / name, digest)
    _write_stamps(root, stamps)


def verified_digests(root: Path, sources: Mapping[str, Path | None]) -> dict[str, str | None]:
    """sha256 of each prepared file (None for an absent optional one), checked against what ``prepare`` recorded.

    Same size and mtime as recorded: the recorded digest (no re-hash on every
    load). Otherwise the file is hashed; a digest that differs from the record
    is an error naming the file and the command that prepares it again (a file
    cut or edited after prepare used to be parsed as if nothing had happened).
    A file laid in the data dir by hand, without ``prepare``, has no record and
    is hashed as it is.
    """
    stamps = _read_stamps(root)
    touched = False
    digests: dict[str, str | None] = {}
    for name, path in sorted(sources.items()):
        if path is None:
            digests[name] = None
            continue
        stamp = stamps.get(name)
        stat = path.stat()
        if stamp and stamp.get("size") == stat.st_size and stamp.get("mtime_ns") == stat.st_mtime_ns:
            digests[name] = str(stamp["sha256"])
            continue
        digest = sha256_file(path)
        if stamp and digest != stamp.get("sha256"):
            family = name.split("/")[0]
            raise BenchError(
                f"{path}: changed since it was prepared ({stat.st_size} bytes, sha256 {digest[:12]}; prepare "
                f"recorded {stamp.get('size')} bytes, sha256 {str(stamp.get('sha256'))[:12]}). Prepare it again: "
                f"bioel-bench prepare {family} --from DIR (a folder with the official files)"
            )
        if stamp:  # only touched: same bytes, new mtime
            stamps[name] = _stamp(path, digest)
            touched = True
        digests[name] = digest
    if touched:
        _write_stamps(root, stamps)
    return digests


def cached_build(
    key: str,
    sources: Mapping[str, Path | None],
    data_dir: str | Path | None,
    build: Callable[[], Benchmark],
    extra_stamp: Mapping[str, Any] | None = None,
) -> Benchmark:
    """Build a benchmark once per set of source digests and reuse it.

    The cache file stores the digests it was built from; a changed source file
    (or a newer loader) is detected and the benchmark rebuilt, never reused.
    ``extra_stamp`` adds what else decides the result (the abbreviation detector's identity).
    """
    digests = verified_digests(raw_dir(data_dir), sources)
    cache = default_data_dir(data_dir) / "prepared" / f"{key}.pkl"
    stamp = {
        "loader_version": LOADER_VERSION,
        "loader_code": _loader_code_digest(),
        "sources": digests,
        "extra": dict(extra_stamp or {}),
    }
    if cache.is_file():
        try:
            with open(cache, "rb") as handle:
                stored_stamp, benchmark = pickle.load(handle)
            if stored_stamp == stamp:
                return benchmark
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass  # a damaged or outdated cache is rebuilt
    benchmark = build()
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".tmp-{os.getpid()}")  # two processes building at once never share a file
    with open(tmp, "wb") as handle:
        pickle.dump((stamp, benchmark), handle, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(cache)
    return benchmark


@functools.lru_cache(maxsize=1)
def _loader_code_digest() -> str:
    """sha256 over the source of the data model and every loader module."""
    package = Path(__file__).resolve().parent
    files = sorted(package.glob("*.py")) + [package.parent / n for n in ("kb.py", "mention.py", "benchmark.py")]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def source_digests(sources: Mapping[str, Path | None]) -> dict[str, str]:
    """sha256 of each present source file, for ``Benchmark.source_files``."""
    return {name: sha256_file(path) for name, path in sorted(sources.items()) if path is not None}
