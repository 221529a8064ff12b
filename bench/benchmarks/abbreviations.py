"""In-document abbreviation detection (short form -> long form), as BioSyn and GenBioEL use it.

BioSyn (``preprocess/query_preprocess.py``) and GenBioEL (``src/data_utils/bc5cdr/prepare_dataset.py``)
run Ab3P (Sohn et al. 2008) on every document and replace a mention that is
an abbreviation defined in its own document by the long form. Which detector
ran changes the data, so each detector carries an identity (its version, or
the binary's digest) for the profiles to put in the data checksum and the run
record (:meth:`Expander.record`); the profiles that use them are not wired yet.

Three detectors, chosen in this order unless ``BIOEL_BENCH_EXPANDER`` names one:

``ab3p``
    the Ab3P binary itself (``identify_abbr``), as BioSyn runs it: found through
    ``BIOEL_BENCH_AB3P`` (its path) or on ``PATH``. One subprocess per document,
    as BioSyn runs it; its output lines ``  SF|LF|precision`` are read back.
``pyab3p``
    Ab3P's own C++ code compiled as a Python extension (PyPI ``pyab3p``), so
    the same algorithm without a binary to install. Not a fallback: it is Ab3P.
``schwartz-hearst``
    the fallback when neither is there: the Schwartz-Hearst algorithm of PyPI
    ``abbreviations`` (a faithful port of the 2003 reference implementation;
    ``abbreviation-extractor`` and scispaCy's detector were the other candidates:
    the first is unversioned-new and undocumented, the second pulls in spaCy and
    a model we cannot download). It finds other pairs than Ab3P, so results
    under it are to be flagged like a closed-world KB (:func:`fallback_flag`).

We wrap the detectors rather than write one because each is a published,
maintained implementation; what is ours is only the per-document cache and
the identity record.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench.checksum import sha256_file
from bench.errors import BenchError

ENV_CHOICE = "BIOEL_BENCH_EXPANDER"
ENV_BINARY = "BIOEL_BENCH_AB3P"
CHOICES = ("ab3p", "pyab3p", "schwartz-hearst")

Pairs = dict[str, str]


@dataclass(frozen=True)
class Expander:
    """A detector and its identity (name, version or binary digest)."""

    name: str
    identity: str
    fallback: bool = False
    binary: str | None = None

    def detect_many(self, texts: Sequence[str]) -> list[Pairs]:
        """Short form -> long form for each document text.

        A short form defined twice keeps its **last** definition, as both peers read Ab3P's
        output into a dict (BioSyn ``src/biosyn/abbr_resolver.py``, GenBioEL
        ``src/data_utils/bc5cdr/prepare_dataset.py`` ``read_ab3p_result``)."""
        if self.name == "ab3p":
            return _ab3p_binary(self.binary or "identify_abbr", texts)
        if self.name == "pyab3p":
            import pyab3p

            detector = pyab3p.Ab3p()
            with _quiet_c_streams():  # Ab3P prints "Failed to find sentence" notes, which its readers skip
                return [_last_definitions((r.short_form, r.long_form) for r in detector.get_abbrs(t)) for t in texts]
        from abbreviations import schwartz_hearst

        return [
            dict(schwartz_hearst.extract_abbreviation_definition_pairs(doc_text=t))  # its default: the last
            for t in texts
        ]

    def record(self) -> dict[str, object]:
        return {"name": self.name, "identity": self.identity, "fallback": self.fallback}


@contextlib.contextmanager
def _quiet_c_streams() -> Iterator[None]:
    """Send what C code writes to stdout/stderr to /dev/null (Python's own streams are flushed first)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def _last_definitions(pairs: Iterable[tuple[str, str]]) -> Pairs:
    found: Pairs = {}
    for short, long in pairs:
        short, long = short.strip(), long.strip()
        if short and long:
            found[short] = long
    return found


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _binary() -> str | None:
    explicit = os.environ.get(ENV_BINARY)
    if explicit:
        if not Path(explicit).is_file() or not os.access(explicit, os.X_OK):
            raise BenchError(f"{ENV_BINARY}={explicit}: not an executable file (Ab3P's identify_abbr)")
        return explicit
    return shutil.which("identify_abbr")


def choose_expander(choice: str | None = None) -> Expander:
    """The detector to use: ``choice``, else ``BIOEL_BENCH_EXPANDER``, else the best one installed."""
    choice = choice or os.environ.get(ENV_CHOICE) or None
    if choice is not None and choice not in CHOICES:
        raise BenchError(f"{ENV_CHOICE}={choice!r}: choose from {', '.join(CHOICES)}")
    binary = _binary() if choice in (None, "ab3p") else None
    if binary is not None:
        return Expander("ab3p", f"ab3p-binary sha256:{sha256_file(Path(binary))[:16]}", binary=binary)
    if choice == "ab3p":
        raise BenchError(f"Ab3P's identify_abbr is not on PATH and {ENV_BINARY} is not set")
    if choice in (None, "pyab3p") and _version("pyab3p"):
        return Expander("pyab3p", f"pyab3p=={_version('pyab3p')}")
    if choice == "pyab3p":
        raise BenchError("pyab3p is not installed: pip install pyab3p (Ab3P as a Python extension)")
    if _version("abbreviations"):
        return Expander("schwartz-hearst", f"abbreviations=={_version('abbreviations')}", fallback=True)
    raise BenchError(
        "no abbreviation detector: this profile expands abbreviations as its peers do. Install one: "
        "pip install pyab3p (Ab3P), or set BIOEL_BENCH_AB3P to Ab3P's identify_abbr, or pip install abbreviations "
        "(Schwartz-Hearst, a flagged fallback)"
    )


def fallback_flag(expander: Expander) -> str:
    return (
        f"abbreviations were detected by {expander.identity} (Schwartz-Hearst) because Ab3P was not available "
        "(pip install pyab3p, or BIOEL_BENCH_AB3P); the peers ran Ab3P, so expanded mentions may differ"
    )


def detect_cached(expander: Expander, texts: Mapping[str, str], cache_dir: Path | None) -> dict[str, Pairs]:
    """Pairs per document id, computed once per (detector, document text) and kept in ``cache_dir``."""
    cache: dict[str, dict[str, str]] = {}
    path = None
    if cache_dir is not None:
        tag = hashlib.sha256(expander.identity.encode()).hexdigest()[:16]
        path = cache_dir / f"abbreviations-{expander.name}-{tag}.json"
        if path.is_file():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict) and loaded.get("identity") == expander.identity:
                    cache = loaded.get("documents", {})
            except (OSError, ValueError):
                cache = {}  # a damaged cache is recomputed, never trusted
    digests = {doc_id: hashlib.sha256(text.encode()).hexdigest() for doc_id, text in texts.items()}
    todo = sorted({d for d in digests.values() if d not in cache})
    if todo:
        by_digest = {digests[doc_id]: text for doc_id, text in texts.items()}
        for digest, pairs in zip(todo, expander.detect_many([by_digest[d] for d in todo])):
            cache[digest] = pairs
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp-{os.getpid()}")
            tmp.write_text(json.dumps({"identity": expander.identity, "documents": cache}, sort_keys=True))
            tmp.replace(path)
    return {doc_id: dict(cache[digest]) for doc_id, digest in digests.items()}


def _ab3p_binary(binary: str, texts: Sequence[str]) -> list[Pairs]:
    """Run ``identify_abbr`` once per document (as BioSyn does), reading ``  SF|LF|P`` lines."""
    results: list[Pairs] = []
    with tempfile.TemporaryDirectory(prefix="bioel-ab3p-") as tmp:
        for text in texts:
            doc = Path(tmp) / "doc.txt"
            doc.write_text(text + "\n", encoding="utf-8")
            try:
                out = subprocess.run(
                    [binary, str(doc)], capture_output=True, text=True, check=True, cwd=Path(binary).parent
                ).stdout
            except (OSError, subprocess.CalledProcessError) as error:
                raise BenchError(f"Ab3P ({binary}) failed: {error}") from None
            pairs = []
            for line in out.splitlines():
                fields = line.split("|")
                # BioSyn takes every output line with exactly two "|" (abbr_resolver.py), the echoed
                # text lines included when they happen to hold two; so do we, to read as it does.
                if len(fields) == 3:
                    pairs.append((fields[0], fields[1]))
            results.append(_last_definitions(pairs))
    return results
