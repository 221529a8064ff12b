"""CTD's official vocabularies: ``CTD_diseases.tsv(.gz)`` and ``CTD_chemicals.tsv(.gz)``.

Both files open with ``#`` comment lines (terms of use, ``# Report created:``
and a ``# Fields:`` line followed by the tab-separated column names), then one
tab-separated row per concept::

    CTD_diseases:  DiseaseName DiseaseID AltDiseaseIDs Definition ParentIDs TreeNumbers
                   ParentTreeNumbers Synonyms SlimMappings
    CTD_chemicals: ChemicalName ChemicalID CasRN Definition ParentIDs TreeNumbers
                   ParentTreeNumbers Synonyms

Columns are found by name when the ``# Fields:`` header is present (CTD has
added columns between releases, and the download URL serves the newest one);
without it the layouts above are assumed. Every row must have exactly as many
columns as the header: a short or long row stops loading with file:line.

Ids are spelled as the corpora spell them: ``MESH:D001`` -> ``D001``,
``OMIM:123`` stays ``OMIM:123``, other prefixed ids (``DO:DOID:...``) are kept
verbatim. Names are the concept name followed by its ``|``-separated synonyms.
Alternative ids (``AltDiseaseIDs``) resolve to their concept through
``KnowledgeBase.alt_ids``. The 2017 disease file lists 178 Disease Ontology ids
on two or more concepts: such an id resolves to the **first** concept that
lists it (file order), and the KB's notes say how many there are, with
examples, so the choice is never silent. Definitions are kept on the returned
KB as ``kb.definitions`` (id -> text), for KB-guided pre-training that uses a
definition as context; :func:`kb_definitions` reads them from any KB.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.benchmarks.textio import iter_lines
from bench.errors import DataFormatError
from bench.kb import KnowledgeBase

DISEASE_FIELDS = (
    "DiseaseName",
    "DiseaseID",
    "AltDiseaseIDs",
    "Definition",
    "ParentIDs",
    "TreeNumbers",
    "ParentTreeNumbers",
    "Synonyms",
    "SlimMappings",
)
CHEMICAL_FIELDS = (
    "ChemicalName",
    "ChemicalID",
    "CasRN",
    "Definition",
    "ParentIDs",
    "TreeNumbers",
    "ParentTreeNumbers",
    "Synonyms",
)

# kind -> (default layout, name column, id column, alternative-id column or None)
_KINDS: dict[str, tuple[tuple[str, ...], str, str, str | None]] = {
    "diseases": (DISEASE_FIELDS, "DiseaseName", "DiseaseID", "AltDiseaseIDs"),
    "chemicals": (CHEMICAL_FIELDS, "ChemicalName", "ChemicalID", None),
}


# The id forms CTD's vocabularies use: MESH:D/C numbers (and MESH:C, the disease root), OMIM:numbers and
# Disease Ontology DO:DOID:numbers.
CTD_ID_FORM = re.compile(r"MESH:(?:[CD]\d{6,9}|C)|OMIM:\d{6}|DO:DOID:\d+")


def _checked_id(path: Path, number: int, token: str, column: str) -> str:
    """``token`` in its canonical spelling, or a file:line error when it fits none of CTD's id forms."""
    token = token.strip()
    if not CTD_ID_FORM.fullmatch(token):
        shown = token if len(token) <= 40 else token[:40] + "..."
        raise DataFormatError(path, number, f"{column} {shown!r} is not a MESH:, OMIM: or DO:DOID: id")
    return ctd_id(token)


def ctd_id(token: str) -> str:
    """Canonical spelling of a CTD id (``MESH:D001`` -> ``D001``; ``OMIM:1`` and others kept)."""
    token = token.strip()
    if token.startswith("MESH:"):
        return token[len("MESH:") :]
    return token


def kb_definitions(kb: KnowledgeBase) -> Mapping[str, str]:
    """Definitions (concept id -> text) carried by a KB; empty when it has none."""
    return getattr(kb, "definitions", None) or {}


def read_ctd_diseases(path: str | Path, name: str | None = None) -> KnowledgeBase:
    """``CTD_diseases.tsv(.gz)`` as a KB (MeSH and OMIM concepts; OMIM/DO alternative ids)."""
    return read_ctd_vocabulary(path, "diseases", name)


def read_ctd_chemicals(path: str | Path, name: str | None = None) -> KnowledgeBase:
    """``CTD_chemicals.tsv(.gz)`` as a KB (MeSH chemical concepts)."""
    return read_ctd_vocabulary(path, "chemicals", name)


def read_ctd_vocabulary(path: str | Path, kind: str, name: str | None = None) -> KnowledgeBase:
    """Parse a CTD vocabulary file of ``kind`` ("diseases" or "chemicals").

    The KB is named ``name`` or "CTD <kind> (<report date>)"; it carries
    ``definitions`` and ``report_created`` attributes.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown CTD vocabulary kind {kind!r}; choose from {', '.join(_KINDS)}")
    default_fields, name_col, id_col, alt_col = _KINDS[kind]
    path = Path(path)
    fields: Sequence[str] | None = None
    columns: dict[str, int] = {}
    expecting_fields = False
    report_created = ""
    concepts: dict[str, list[str]] = {}
    definitions: dict[str, str] = {}
    first_line: dict[str, int] = {}
    alt_ids: dict[str, str] = {}
    alt_line: dict[str, int] = {}
    shared_alts: list[tuple[str, str, str]] = []  # (alt id, kept concept, other concept)

    for number, line in iter_lines(path):
        if line.startswith("#"):
            comment = line[1:].strip()
            if expecting_fields and comment:
                fields = tuple(f.strip() for f in comment.split("\t"))
                expecting_fields = False
            elif comment == "Fields:":
                expecting_fields = True
            elif comment.startswith("Report created:"):
                report_created = comment[len("Report created:") :].strip()
            continue
        if not line.strip():
            continue  # blank lines carry nothing
        if not columns:
            fields = fields or default_fields
            columns = {field: i for i, field in enumerate(fields)}
            required = [name_col, id_col, "Synonyms", "Definition"] + ([alt_col] if alt_col else [])
            absent = [c for c in required if c not in columns]
            if absent:
                raise DataFormatError(
                    path, number, f"the '# Fields:' header lacks the column(s) {', '.join(absent)} of CTD {kind}"
                )
        assert fields is not None
        row = line.split("\t")
        if len(row) != len(fields):
            raise DataFormatError(
                path,
                number,
                f"expected {len(fields)} tab-separated columns ({', '.join(fields)}), got {len(row)}",
            )
        concept_name = row[columns[name_col]].strip()
        raw_id = row[columns[id_col]].strip()
        if not raw_id:
            raise DataFormatError(path, number, f"empty {id_col}")
        concept_id = _checked_id(path, number, raw_id, id_col)
        if not concept_name:
            raise DataFormatError(path, number, f"concept {raw_id} has an empty {name_col}")
        if concept_id in concepts:
            raise DataFormatError(path, number, f"concept {raw_id} already defined on line {first_line[concept_id]}")
        first_line[concept_id] = number
        synonyms = [s.strip() for s in row[columns["Synonyms"]].split("|") if s.strip()]
        concepts[concept_id] = [concept_name, *synonyms]
        definition = row[columns["Definition"]].strip()
        if definition:
            definitions[concept_id] = definition
        if alt_col is None:
            continue
        for token in row[columns[alt_col]].split("|"):
            if not token.strip():
                continue
            alt = _checked_id(path, number, token, alt_col)
            if alt == concept_id:
                continue
            if alt in alt_ids:
                if alt_ids[alt] != concept_id:
                    shared_alts.append((alt, alt_ids[alt], concept_id))
                continue
            alt_ids[alt] = concept_id
            alt_line[alt] = number

    if not concepts:
        raise DataFormatError(path, None, f"no CTD {kind} rows found")
    notes = [f"parsed from {path.name}" + (f" (CTD report created {report_created})" if report_created else "")]
    if shared_alts:
        ambiguous = sorted({alt for alt, _, _ in shared_alts})
        others: dict[str, list[str]] = {}
        for alt, _, other in shared_alts:
            others.setdefault(alt, []).append(other)
        examples = "; ".join(f"{alt} -> {alt_ids[alt]} (also on {', '.join(others[alt])})" for alt in ambiguous[:3])
        notes.append(
            f"{len(ambiguous)} alternative ids are listed by more than one concept; each resolves to the first "
            f"concept listing it in file order, e.g. {examples}"
        )
    shadowed = sorted(alt for alt in alt_ids if alt in concepts)
    if shadowed:
        notes.append(
            f"{len(shadowed)} alternative ids are also concepts of their own and resolve to themselves, "
            f"e.g. {', '.join(shadowed[:3])}"
        )
    title = name or f"CTD {kind}" + (f" ({report_created})" if report_created else "")
    kb = KnowledgeBase(title, concepts, alt_ids, notes=notes)
    kb.definitions = definitions  # type: ignore[attr-defined]
    kb.report_created = report_created  # type: ignore[attr-defined]
    return kb


def merge_kbs(
    name: str,
    kbs: Sequence[KnowledgeBase],
    *,
    closed_world: bool = False,
    notes: Sequence[str] = (),
) -> KnowledgeBase:
    """One KB from several (e.g. CTD diseases + chemicals), names of a shared id united.

    An alternative id keeps the concept of the first KB that lists it;
    definitions are merged the same way; notes of every part are kept.
    """
    concepts: dict[str, list[str]] = {}
    alt_ids: dict[str, str] = {}
    definitions: dict[str, str] = {}
    all_notes: list[str] = []
    shared = 0
    for kb in kbs:
        for concept_id, names in kb.concepts.items():
            if concept_id in concepts:
                shared += 1
                concepts[concept_id].extend(names)
            else:
                concepts[concept_id] = list(names)
        for alt, canonical in kb.alt_ids.items():
            alt_ids.setdefault(alt, canonical)
        for concept_id, text in kb_definitions(kb).items():
            definitions.setdefault(concept_id, text)
        all_notes.extend(f"{kb.name}: {note}" for note in kb.notes)
    if shared:
        all_notes.append(f"{shared} concept ids occur in more than one part; their names were united")
    merged = KnowledgeBase(name, concepts, alt_ids, closed_world=closed_world, notes=[*all_notes, *notes])
    merged.definitions = definitions  # type: ignore[attr-defined]
    return merged
