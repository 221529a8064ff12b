"""Predictions written by any linker, in the formats people have: read into ranked candidates.

``bioel-bench score FILE --benchmark B`` scores such a file (BEIR's
``EvaluateRetrieval.evaluate(qrels, results)`` for entity linking): the
``predictions`` system (:mod:`systems.predictions`) replays it, so the result is a
normal run folder that ``compare``, ``report`` and ``errors`` read.

Formats, and how their rows find the benchmark's mentions:

- ``jsonl``: ours, the ``predictions.jsonl`` of a run folder (gzipped or not): one
  row per mention, ``{"id", "candidates": [{"name", "ids", "score"}], "parts": [...]}``;
  matched by ``id``, else by ``doc_id`` and ``span`` when the row has them.
- ``tsv``: one line per candidate, ``mention_id <TAB> rank <TAB> concept ids <TAB> name
  <TAB> score`` (ids joined by ``|`` or ``,``; name and score may be empty; a first line
  starting ``mention_id`` is a header); matched by id.
- ``belb``: BELB's ``predictions.json``, a list of ``{"hexdigest", "y_pred"}`` where
  ``y_pred`` holds, per rank, the list of predicted ids; matched by ``hexdigest`` as
  the mention id (BELB's hexdigests are its own annotation hashes: write ours there).
- ``biosyn``: BioSyn's ``predictions_eval.json`` (``{"queries": [{"mentions": [{"mention",
  "golden_cui", "candidates": [{"name", "cui", "label"}]}]}]}``), one query per test
  mention in file order; a composite query has one entry per part.
- ``angel``: ANGEL's ``results_test_pos.json`` (a list: the score summary, then per
  mention ``{"given_mention", "result", "cui_result", "cui_label", ...}``), one entry per
  test mention in file order.

The last two carry no mention ids: entry ``i`` is test mention ``i``, and every
entry's mention string must equal that mention's (compared lower-cased, whitespace
collapsed); the first difference is an error naming the position, never a silent
shift. Formats without scores get ``-rank``, which keeps their order.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import DataFormatError
from bench.linker import Candidate

FORMATS = ("jsonl", "tsv", "belb", "biosyn", "angel")
ORDERED_FORMATS = ("biosyn", "angel")
_ID_SPLIT = re.compile(r"[|+,]")


@dataclass
class ExternalPrediction:
    """One row of a predictions file: how it finds its mention, and its ranked candidates."""

    line: int | None  # where it is in the file (for messages), when the format has lines
    candidates: list[Candidate]
    mention_id: str | None = None
    doc_span: tuple[str, int, int] | None = None
    text: str | None = None  # the mention string, for the order-matched formats
    parts: list[list[Candidate]] = field(default_factory=list)


def detect_format(path: Path) -> str:
    """The format of ``path`` from its name and first bytes."""
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz")):
        return "jsonl"
    if name.endswith((".tsv", ".txt")):
        return "tsv"
    head = _open_text(path).read(4096).lstrip()
    if head.startswith("{") and '"queries"' in head:
        return "biosyn"
    if head.startswith("["):
        if '"hexdigest"' in head:
            return "belb"
        if "count_top1" in head or '"given_mention"' in head:
            return "angel"
    if head.startswith("{"):
        return "jsonl"
    raise DataFormatError(path, None, f"cannot tell the predictions' format; give --format ({', '.join(FORMATS)})")


def read_predictions(path: str | Path, fmt: str = "auto") -> tuple[str, list[ExternalPrediction]]:
    """``(format, rows)`` of a predictions file; a malformed one is an error naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, None, "no such predictions file")
    fmt = detect_format(path) if fmt == "auto" else fmt
    readers = {"jsonl": _read_jsonl, "tsv": _read_tsv, "belb": _read_belb, "biosyn": _read_biosyn, "angel": _read_angel}
    if fmt not in readers:
        raise DataFormatError(path, None, f"unknown predictions format {fmt!r}; choose from {', '.join(FORMATS)}")
    rows = readers[fmt](path)
    if not rows:
        raise DataFormatError(path, None, "no predictions in the file")
    return fmt, rows


# --- readers ----------------------------------------------------------------


def _open_text(path: Path):
    """Text of a file, gunzipped when it is gzip data (by its first bytes, not its name)."""
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", encoding="utf-8") if gzipped else open(path, encoding="utf-8")


def _load_json(path: Path) -> Any:
    try:
        with _open_text(path) as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise DataFormatError(path, error.lineno, f"not valid JSON: {error.msg}") from None


def _ids(value: Any, path: Path, line: int | None) -> frozenset[str]:
    if isinstance(value, str):
        items = [v.strip() for v in _ID_SPLIT.split(value)]
    elif isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value]
    elif isinstance(value, int):
        items = [str(value)]
    else:
        raise DataFormatError(path, line, f"concept ids must be a string or a list, found {type(value).__name__}")
    return frozenset(i for i in items if i)


def _read_jsonl(path: Path) -> list[ExternalPrediction]:
    rows = []
    with _open_text(path) as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
                candidates = [Candidate.from_dict(c) for c in data["candidates"]]
                parts = [[Candidate.from_dict(c) for c in p["candidates"]] for p in data.get("parts") or []]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                raise DataFormatError(path, number, f"not a prediction row ({type(error).__name__}: {error})") from None
            span = data.get("span")
            doc_span = (str(data["doc_id"]), int(span[0]), int(span[1])) if data.get("doc_id") and span else None
            mention_id = str(data["id"]) if data.get("id") is not None else None
            if mention_id is None and doc_span is None:
                raise DataFormatError(path, number, "a row needs an 'id' (or 'doc_id' and 'span')")
            rows.append(ExternalPrediction(number, candidates, mention_id, doc_span, data.get("text"), parts))
    return rows


def _read_tsv(path: Path) -> list[ExternalPrediction]:
    by_mention: dict[str, list[tuple[int, Candidate]]] = {}
    first_line: dict[str, int] = {}
    with _open_text(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.rstrip("\r\n")
            if not line.strip() or (number == 1 and line.lower().startswith(("mention_id", "id\t"))):
                continue
            fields = line.split("\t")
            if len(fields) < 3:
                raise DataFormatError(
                    path,
                    number,
                    f"expected mention id, rank, concept ids[, name, score]; found {len(fields)} column(s)",
                )
            mention_id, rank_text, ids_text = fields[0].strip(), fields[1].strip(), fields[2]
            name = fields[3].strip() if len(fields) > 3 else ""
            try:
                rank = int(rank_text)
                score = float(fields[4]) if len(fields) > 4 and fields[4].strip() else float(-rank)
            except ValueError:
                raise DataFormatError(path, number, f"rank {rank_text!r} or score is not a number") from None
            if rank < 1:
                raise DataFormatError(path, number, f"rank {rank} (ranks start at 1)")
            ids = _ids(ids_text, path, number)
            by_mention.setdefault(mention_id, []).append((rank, Candidate(name or "|".join(sorted(ids)), ids, score)))
            first_line.setdefault(mention_id, number)
    rows = []
    for mention_id, ranked in by_mention.items():
        ranks = [r for r, _ in ranked]
        if len(set(ranks)) != len(ranks):
            raise DataFormatError(path, first_line[mention_id], f"mention {mention_id!r} has a rank twice")
        ordered = [c for _, c in sorted(ranked, key=lambda rc: rc[0])]
        if any(b.score > a.score for a, b in zip(ordered, ordered[1:])):
            raise DataFormatError(
                path,
                first_line[mention_id],
                f"mention {mention_id!r}: a score rises with the rank (ranks and scores "
                "must agree; leave the score column empty to rank by the rank column alone)",
            )
        rows.append(ExternalPrediction(first_line[mention_id], ordered, mention_id))
    return rows


def _read_belb(path: Path) -> list[ExternalPrediction]:
    data = _load_json(path)
    if not isinstance(data, list):
        raise DataFormatError(path, None, "BELB predictions are a JSON list of {hexdigest, y_pred}")
    rows = []
    for index, item in enumerate(data):
        where = f"entry {index}"
        if not isinstance(item, dict) or "hexdigest" not in item or "y_pred" not in item:
            raise DataFormatError(path, None, f"{where}: needs 'hexdigest' and 'y_pred'")
        ranked = item["y_pred"]
        if not isinstance(ranked, list):
            raise DataFormatError(path, None, f"{where}: 'y_pred' must be a list of ranks")
        candidates = []
        for rank, ids in enumerate(ranked, 1):
            idset = _ids(ids, path, None)
            candidates.append(Candidate("|".join(sorted(idset)), idset, float(-rank)))
        rows.append(ExternalPrediction(None, candidates, str(item["hexdigest"])))
    return rows


def _read_biosyn(path: Path) -> list[ExternalPrediction]:
    data = _load_json(path)
    queries = data.get("queries") if isinstance(data, dict) else None
    if not isinstance(queries, list):
        raise DataFormatError(path, None, "BioSyn predictions are {'queries': [{'mentions': [...]}]}")
    rows = []
    for index, query in enumerate(queries):
        mentions = query.get("mentions") if isinstance(query, dict) else None
        if not mentions:
            raise DataFormatError(path, None, f"query {index}: no 'mentions'")
        lists = []
        for part in mentions:
            try:
                lists.append(
                    [
                        Candidate(str(c["name"]), _ids(c["cui"], path, None), float(-rank))
                        for rank, c in enumerate(part["candidates"], 1)
                    ]
                )
            except (KeyError, TypeError) as error:
                raise DataFormatError(path, None, f"query {index}: a candidate lacks {error}") from None
        text = "|".join(str(m.get("mention", "")) for m in mentions)
        # a composite query (one entry per part): the mention ranks with its first part's list
        rows.append(ExternalPrediction(None, lists[0], text=text, parts=lists if len(lists) > 1 else []))
    return rows


def _read_angel(path: Path) -> list[ExternalPrediction]:
    data = _load_json(path)
    if not isinstance(data, list):
        raise DataFormatError(path, None, "ANGEL results are a JSON list (a score summary, then one entry per mention)")
    entries = [e for e in data if not (isinstance(e, dict) and "count_top1" in e)]
    rows = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or "result" not in entry or "cui_result" not in entry:
            raise DataFormatError(path, None, f"entry {index}: needs 'result' and 'cui_result'")
        candidates = []
        for rank, (name, ids) in enumerate(zip(entry["result"], entry["cui_result"]), 1):
            # ANGEL writes the generated name itself where it is not a KB name: no id
            idset = _ids(ids, path, None) if isinstance(ids, list) else frozenset()
            candidates.append(Candidate(str(name).strip(), idset, float(-rank)))
        rows.append(ExternalPrediction(None, candidates, text=str(entry.get("given_mention", ""))))
    return rows


# --- matching ------------------------------------------------------------------


@dataclass
class Matching:
    """Which mention each row predicts, and what is left over on either side."""

    by_mention: dict[str, ExternalPrediction]
    missing: list[str]  # benchmark mentions with no row
    unmatched: list[ExternalPrediction]  # rows that name no benchmark mention
    duplicates: list[ExternalPrediction]

    def summary(self) -> dict[str, Any]:
        return {
            "matched": len(self.by_mention),
            "missing": len(self.missing),
            "missing_examples": self.missing[:10],
            "unmatched": len(self.unmatched),
            "unmatched_examples": [r.mention_id or (r.doc_span and list(r.doc_span)) for r in self.unmatched[:10]],
            "duplicates": len(self.duplicates),
        }


def _norm(text: str) -> str:
    return " ".join(str(text).lower().split())


def match(rows: Sequence[ExternalPrediction], mentions: Iterable[Any], fmt: str, path: Path) -> Matching:
    """Rows to mentions: by id (or document and span), or by position for the id-less formats."""
    mentions = list(mentions)
    if fmt in ORDERED_FORMATS:
        if len(rows) != len(mentions):
            raise DataFormatError(
                path,
                None,
                f"{len(rows)} entries for {len(mentions)} test mentions: a {fmt} file is matched by "
                "position, so it must hold one entry per mention, in the benchmark's order (is --profile right?)",
            )
        for index, (row, mention) in enumerate(zip(rows, mentions)):
            texts = {_norm(mention.text), _norm("|".join(p.text for p in mention.parts))} - {""}
            if row.text is not None and _norm(row.text) not in texts:
                raise DataFormatError(
                    path,
                    None,
                    f"entry {index} is {row.text!r} but test mention {index} ({mention.id}) is "
                    f"{mention.text!r}: the file is not in this benchmark's order (is --profile right?)",
                )
        return Matching({m.id: r for m, r in zip(mentions, rows)}, [], [], [])
    by_id = {m.id: m for m in mentions}
    by_span = {(m.doc_id, m.span[0], m.span[1]): m for m in mentions if m.doc_id is not None and m.span is not None}
    found: dict[str, ExternalPrediction] = {}
    unmatched, duplicates = [], []
    for row in rows:
        mention = by_id.get(row.mention_id) if row.mention_id is not None else None
        if mention is None and row.doc_span is not None:
            mention = by_span.get(row.doc_span)
        if mention is None:
            unmatched.append(row)
        elif mention.id in found:
            duplicates.append(row)
        else:
            found[mention.id] = row
    if duplicates:
        first = duplicates[0]
        raise DataFormatError(
            path,
            first.line,
            f"a second prediction for mention {first.mention_id or first.doc_span}: one row per mention",
        )
    missing = [m.id for m in mentions if m.id not in found]
    return Matching(found, missing, unmatched, duplicates)
