"""The results store: one directory per run, written atomically.

A run directory holds everything a table or a significance test needs, so
reports are rebuilt from files alone (HELM's run_spec/stats/per_instance):

* ``config.json``      the resolved run configuration (system options included)
* ``environment.json`` versions, git revision, machine
* ``predictions.jsonl`` one line per evaluated mention: gold, leakage flags, ranked candidates
* ``metrics.json``     schema version, acc@k per rule, leakage subsets, checksums, timings

While a run is in progress it lives in ``NAME.partial/`` (which also keeps the
system's checkpoints, so an interrupted run resumes); it becomes ``NAME/`` by a
single directory rename once every file is written. A killed run therefore
never leaves anything that reads as a finished result.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from bench.errors import BenchError, IncompleteRunError
from bench.linker import Candidate
from bench.mention import Mention

SCHEMA_VERSION = 1
CONFIG, ENVIRONMENT, PREDICTIONS, METRICS = "config.json", "environment.json", "predictions.jsonl", "metrics.json"
#: what the run said while it ran (stages, timings, warnings), kept with it
LOG = "log.txt"
PARTIAL_SUFFIX = ".partial"


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, fsync, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows))


def predictions_path(run_dir: Path) -> Path:
    """predictions.jsonl, or its gzipped form in exported (committed) runs."""
    plain = run_dir / PREDICTIONS
    return (
        plain if plain.is_file() or not (run_dir / (PREDICTIONS + ".gz")).is_file() else run_dir / (PREDICTIONS + ".gz")
    )


#: written into a redacted export: what was removed and why
REDACTION = "redaction.json"
REDACTED = ""


def redact_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Prediction rows without corpus or KB text: mention texts and candidate names emptied.

    Everything a table or a significance test reads (ids, gold ids, scores, rank
    order, leakage flags, spans) is kept, so reports rebuilt from a redacted run
    equal those rebuilt from the original; only error-analysis examples lose
    their strings.
    """

    def clean(row: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(row)
        if "text" in out:
            out["text"] = REDACTED
        out["candidates"] = [{**c, "name": REDACTED} for c in row.get("candidates", [])]
        if "parts" in row:
            out["parts"] = [clean(part) for part in row["parts"]]
        return out

    return [clean(r) for r in rows]


def export_run(record: RunRecord, target_root: Path, redact_because: str | None = None) -> Path:
    """Copy a finished run without its working files (checkpoints), predictions gzipped.

    What a report needs, small enough to commit: config, environment, metrics,
    the log (its timestamped stage lines give the report's run times) and the
    per-mention predictions. The gzip header carries no timestamp or
    name, so exporting twice gives identical bytes. ``redact_because`` (a reason,
    e.g. the licence) drops mention texts and candidate names, for corpora and
    KBs whose terms forbid redistribution; ``redaction.json`` says so.
    """
    record.rows  # noqa: B018 -- validate (one well-formed row per mention) before anything is written
    target = Path(target_root) / record.path.name
    tmp = target.with_name(target.name + PARTIAL_SUFFIX)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in (CONFIG, ENVIRONMENT, METRICS, LOG):  # the log: stage timings for the report, no mention text
        if (record.path / name).is_file():
            shutil.copyfile(record.path / name, tmp / name)
    if redact_because:
        rows = redact_rows(record.rows)
        data = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
        write_json(tmp / REDACTION, {"removed": ["mention text", "candidate names"], "why": redact_because})
    else:
        source = predictions_path(record.path)
        data = source.read_bytes() if source.suffix != ".gz" else gzip.decompress(source.read_bytes())
    with (
        open(tmp / (PREDICTIONS + ".gz"), "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz,
    ):
        gz.write(data)
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    return target


def partial_dir(final: Path) -> Path:
    return final.with_name(final.name + PARTIAL_SUFFIX)


def commit_run(partial: Path, final: Path) -> Path:
    """Publish a finished run: one rename, after checking every file is there."""
    for name in (CONFIG, ENVIRONMENT, PREDICTIONS, METRICS):
        if not (partial / name).is_file():
            raise IncompleteRunError(f"{partial}: cannot publish, {name} is missing")
    if final.exists():  # --force: replace the old run only once the new one is complete
        trash = final.with_name(f".{final.name}.replaced")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(final, trash)
        os.replace(partial, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(partial, final)
    return final


# --- prediction rows ---------------------------------------------------------


def prediction_row(
    mention: Mention,
    candidates: list[Candidate],
    part_candidates: list[list[Candidate]],
    mention_seen: bool,
    concept_seen: bool,
) -> dict[str, Any]:
    return {
        "id": mention.id,
        "text": mention.text,
        "doc_id": mention.doc_id,
        "span": list(mention.span) if mention.span else None,
        "entity_type": mention.entity_type,
        "gold": sorted(mention.gold_ids),
        "gold_groups": [sorted(g) for g in mention.gold_groups],
        "mention_seen": mention_seen,
        "concept_seen": concept_seen,
        "candidates": [c.to_dict() for c in candidates],
        "parts": [
            {"id": p.id, "text": p.text, "gold": sorted(p.gold_ids), "candidates": [c.to_dict() for c in pc]}
            for p, pc in zip(mention.parts, part_candidates)
        ],
    }


@dataclass
class RunRecord:
    """A finished run read back from its directory."""

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def system(self) -> str:
        return self.config["system"]

    @property
    def benchmark(self) -> str:
        return self.config["benchmark"]

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        """The prediction rows, validated: well-formed JSON objects, one per evaluated mention, no duplicate.

        A duplicated row used to make ``compare`` pair 196 mentions on a
        195-mention test set, and a cut file to export a broken row.
        """
        path = predictions_path(self.path)
        rows: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        opener = gzip.open if path.suffix == ".gz" else open
        number = 0
        try:
            with opener(path, "rt", encoding="utf-8", newline="") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.endswith("\n"):
                        raise BenchError(f"{path}:{number}: the last row has no final newline: the file is truncated")
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as error:
                        raise BenchError(f"{path}:{number}: not JSON ({error.msg})") from None
                    missing = [k for k in ROW_KEYS if not isinstance(row, dict) or k not in row]
                    if missing:
                        raise BenchError(f"{path}:{number}: a prediction row needs {', '.join(missing)}")
                    if row["id"] in seen:
                        raise BenchError(
                            f"{path}:{number}: mention {row['id']!r} already has a row (line {seen[row['id']]})"
                        )
                    seen[row["id"]] = number
                    rows.append(row)
        except (OSError, EOFError, UnicodeDecodeError, zlib.error) as error:
            raise BenchError(f"{path}:{number + 1}: cannot be read ({type(error).__name__}: {error})") from None
        expected = self.metrics.get("n_mentions")
        if isinstance(expected, int) and expected != len(rows):
            raise BenchError(f"{path}: {len(rows)} prediction rows, but metrics.json counts {expected} mentions")
        return rows

    def mentions(self) -> list[Mention]:
        """The evaluated mentions, rebuilt from the rows (no context)."""
        return mentions_from_rows(self.rows)

    def predictions(self) -> dict[str, list[Candidate]]:
        """Ranked candidates by mention (and part) id."""
        return predictions_from_rows(self.rows)


#: what every prediction row must hold (``prediction_row`` writes them)
ROW_KEYS = ("id", "text", "gold", "gold_groups", "candidates")


def mentions_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mention]:
    out = []
    for r in rows:
        parts = tuple(Mention(p["id"], p["text"], frozenset(p["gold"])) for p in r.get("parts", []))
        out.append(
            Mention(
                r["id"],
                r["text"],
                frozenset(r["gold"]),
                doc_id=r.get("doc_id"),
                gold_groups=tuple(frozenset(g) for g in r["gold_groups"]),
                parts=parts,
                entity_type=r.get("entity_type"),
            )
        )
    return out


def predictions_from_rows(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Candidate]]:
    out: dict[str, list[Candidate]] = {}
    for r in rows:
        out[r["id"]] = [Candidate.from_dict(c) for c in r["candidates"]]
        for p in r.get("parts", []):
            out[p["id"]] = [Candidate.from_dict(c) for c in p["candidates"]]
    return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as error:
        raise BenchError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
    except UnicodeDecodeError as error:
        raise BenchError(f"{path}: not valid UTF-8 ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise BenchError(f"{path}: cannot be read ({error.strerror or error})") from None
    if not isinstance(data, dict):
        raise BenchError(f"{path}: expected a JSON object, found a {type(data).__name__}")
    return data


def load_run(path: str | Path) -> RunRecord:
    """Read a finished run; a partial or damaged directory raises a clear error."""
    path = Path(path)
    if path.name.endswith(PARTIAL_SUFFIX):
        raise IncompleteRunError(f"{path} is an unfinished run (interrupted or still running)")
    if not path.is_dir():
        if partial_dir(path).is_dir():
            raise IncompleteRunError(f"{path} has not finished: only {partial_dir(path).name} exists")
        raise BenchError(f"{path}: no such run directory")
    missing = [n for n in (CONFIG, METRICS) if not (path / n).is_file()]
    if not predictions_path(path).is_file():
        missing.append(PREDICTIONS)
    if missing:
        raise IncompleteRunError(f"{path} is not a finished run: missing {', '.join(missing)}")
    metrics = _read_json(path / METRICS)
    version = metrics.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise BenchError(f"{path / METRICS}: schema version {version!r} is newer than this harness ({SCHEMA_VERSION})")
    if not isinstance(metrics.get("acc"), dict):
        raise BenchError(f"{path / METRICS}: no 'acc' table; this is not a run's metrics file")
    environment = _read_json(path / ENVIRONMENT) if (path / ENVIRONMENT).is_file() else {}
    return RunRecord(path, _read_json(path / CONFIG), metrics, environment)
