"""SNOMED CT release files (RF2) as a knowledge base.

SNOMED CT is licensed (an IHTSDO/SNOMED International affiliate licence, which
UMLS and MLDS users hold), so the harness never downloads it: the user copies
two files of their International release (``Snapshot/Terminology/``):

* ``sct2_Description_Snapshot-en_INT_<date>.txt``: one row per description,
  tab-separated, header ``id effectiveTime active moduleId conceptId
  languageCode typeId term caseSignificanceId``;
* ``sct2_Concept_Snapshot_INT_<date>.txt`` (optional): header ``id
  effectiveTime active moduleId definitionStatusId``; with it the KB keeps
  active concepts only.

Names kept: active descriptions of type *fully specified name* (FSN, semantic
tag such as ``(disorder)`` stripped) and *synonym*. Which synonym is a dialect's
preferred term lives in the language reference set, which we do not read: the
FSN without its tag comes first (the preferred name), synonyms follow in file
order. A Full or Delta file (several rows per description id) is refused
rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

from bench.benchmarks.textio import iter_lines
from bench.errors import DataFormatError
from bench.kb import KnowledgeBase

FSN = "900000000000003001"
SYNONYM = "900000000000013009"
NAME_TYPES = {FSN: "fully specified name", SYNONYM: "synonym"}

DESCRIPTION_HEADER = (
    "id",
    "effectiveTime",
    "active",
    "moduleId",
    "conceptId",
    "languageCode",
    "typeId",
    "term",
    "caseSignificanceId",
)
CONCEPT_HEADER = ("id", "effectiveTime", "active", "moduleId", "definitionStatusId")

# "Myocardial infarction (disorder)" -> "Myocardial infarction"; the tag is the
# last parenthesised group and never nests.
_SEMANTIC_TAG = re.compile(r"^(?P<term>.*\S)\s+\((?P<tag>[^()]+)\)$")
_SCTID = re.compile(r"^[0-9]{6,18}$")
_DATE = re.compile(r"^[0-9]{8}$")


def strip_semantic_tag(fsn: str) -> str:
    """The FSN without its trailing semantic tag (unchanged when it has none)."""
    match = _SEMANTIC_TAG.match(fsn.strip())
    return match.group("term") if match else fsn.strip()


_LANGUAGE = re.compile(r"^[a-z]{2}$")


def _rows(path: Path, header: tuple[str, ...], what: str):
    """(line, fields) of an RF2 file after checking its header and column count."""
    first = True
    for number, line in iter_lines(path):
        if first:
            first = False
            found = tuple(line.lstrip("\ufeff").split("\t"))
            if found != header:
                raise DataFormatError(
                    path, number, f"not an RF2 {what} file: header {found!r}, expected {'<TAB>'.join(header)}"
                )
            continue
        if not line:
            raise DataFormatError(path, number, "blank line inside an RF2 file")
        fields = line.split("\t")
        if len(fields) != len(header):
            raise DataFormatError(
                path, number, f"expected {len(header)} tab-separated columns ({what}), found {len(fields)}"
            )
        if not _SCTID.match(fields[0]):
            raise DataFormatError(path, number, f"{header[0]} {fields[0]!r} is not a SNOMED CT identifier")
        if not _DATE.match(fields[1]):
            raise DataFormatError(path, number, f"effectiveTime {fields[1]!r} is not a YYYYMMDD date")
        if fields[2] not in ("0", "1"):
            raise DataFormatError(path, number, f"active must be 0 or 1, found {fields[2]!r}")
        yield number, fields
    if first:
        raise DataFormatError(path, None, f"empty file (expected an RF2 {what} header)")


def _check_unique(path: Path, seen: dict[str, int], component_id: str, number: int) -> None:
    if component_id in seen:
        raise DataFormatError(
            path,
            number,
            f"id {component_id} already on line {seen[component_id]}: a Full or Delta release file? "
            "Use the Snapshot file",
        )
    seen[component_id] = number


def read_rf2_concepts(path: str | Path) -> dict[str, bool]:
    """Concept id -> active, from an RF2 concept snapshot."""
    path = Path(path)
    active: dict[str, bool] = {}
    lines: dict[str, int] = {}
    for number, fields in _rows(path, CONCEPT_HEADER, "concept"):
        _check_unique(path, lines, fields[0], number)
        active[fields[0]] = fields[2] == "1"
    return active


def read_rf2_descriptions(
    path: str | Path,
    concepts: dict[str, bool] | None = None,
    languages: Collection[str] = ("en",),
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Concept id -> names (preferred first) from an RF2 description snapshot.

    ``concepts`` (from :func:`read_rf2_concepts`) restricts the result to active
    concepts; a description of a concept it does not list is an error (files
    of two releases). Also returns counts of what was read and left out.
    """
    path = Path(path)
    fsn: dict[str, str] = {}
    synonyms: dict[str, list[str]] = {}
    lines: dict[str, int] = {}
    counts = {
        "descriptions": 0,
        "inactive_descriptions": 0,
        "other_types": 0,
        "other_languages": 0,
        "inactive_concepts": 0,
        "latest_effective_time": 0,
    }
    for number, fields in _rows(path, DESCRIPTION_HEADER, "description"):
        description_id, effective, active, _module, concept_id, language, type_id, term, _case = fields
        _check_unique(path, lines, description_id, number)
        counts["descriptions"] += 1
        counts["latest_effective_time"] = max(counts["latest_effective_time"], int(effective))
        for column, value in (("conceptId", concept_id), ("typeId", type_id)):
            if not _SCTID.match(value):
                raise DataFormatError(path, number, f"{column} {value!r} is not a SNOMED CT identifier")
        if not _LANGUAGE.match(language):  # a damaged code would silently count as "other languages"
            raise DataFormatError(path, number, f"languageCode {language!r} is not an ISO 639-1 code")
        if concepts is not None and concept_id not in concepts:
            raise DataFormatError(
                path, number, f"concept {concept_id} is not in the concept file (files from different releases?)"
            )
        if active != "1":
            counts["inactive_descriptions"] += 1
            continue
        if type_id not in NAME_TYPES:
            counts["other_types"] += 1
            continue
        if language not in languages:
            counts["other_languages"] += 1
            continue
        if concepts is not None and not concepts[concept_id]:
            counts["inactive_concepts"] += 1
            continue
        if not term.strip():
            raise DataFormatError(path, number, f"active {NAME_TYPES[type_id]} {description_id} has an empty term")
        if type_id == FSN:
            if concept_id in fsn:
                raise DataFormatError(path, number, f"concept {concept_id} has a second active FSN ({term!r})")
            fsn[concept_id] = strip_semantic_tag(term)
        else:
            synonyms.setdefault(concept_id, []).append(term.strip())
    names: dict[str, list[str]] = {}
    for concept_id in sorted(set(fsn) | set(synonyms), key=int):
        names[concept_id] = ([fsn[concept_id]] if concept_id in fsn else []) + synonyms.get(concept_id, [])
    return names, counts


def read_snomed_kb(
    descriptions: str | Path, concepts: str | Path | None = None, name: str | None = None
) -> KnowledgeBase:
    """A :class:`KnowledgeBase` of SNOMED CT from RF2 snapshot files."""
    status = read_rf2_concepts(concepts) if concepts is not None else None
    names, counts = read_rf2_descriptions(descriptions, status)
    if not names:
        raise DataFormatError(descriptions, None, "no active FSN or synonym found")
    latest = counts["latest_effective_time"]
    notes = [
        f"SNOMED CT RF2 description snapshot {Path(descriptions).name} (latest effectiveTime {latest}): "
        f"{counts['descriptions']} descriptions, {counts['inactive_descriptions']} inactive and "
        f"{counts['other_types']} of other types left out; names are FSNs without semantic tag, then synonyms",
        (
            f"concepts restricted to the {sum(status.values())} active ones of {Path(concepts).name} "
            f"({counts['inactive_concepts']} active descriptions of inactive concepts left out)"
            if status is not None
            else "no concept file: every concept with an active description is kept, inactive concepts included"
        ),
    ]
    return KnowledgeBase(name or f"SNOMED CT (RF2 snapshot, {latest})", names, notes=notes)
