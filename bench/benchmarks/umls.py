"""A knowledge base from the UMLS Metathesaurus (``MRCONSO.RRF`` + ``MRSTY.RRF``).

UMLS is licensed (UMLS Metathesaurus License, UTS account): users supply the
files; nothing here downloads them. The default filter is the ST21pv subset of
MedMentions (Mohan & Li, 2019; ``st21pv/ReadMe.md`` of chanzuckerberg/MedMentions):
concepts linked to one of 21 semantic types *or one of their descendants in
the semantic type hierarchy*, named in one of 18 source vocabularies.

Formats (UMLS Reference Manual, "Concept Names and Sources (File = MRCONSO.RRF)"
and "Semantic Types (File = MRSTY.RRF)"): ``|``-separated, every field followed
by ``|`` (so a row ends with ``|``)::

    MRCONSO: CUI|LAT|TS|LUI|STT|SUI|ISPREF|AUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF|
    MRSTY:   CUI|TUI|STN|STY|ATUI|CVF|

``STN`` is the semantic type's tree number in the Semantic Network
(``B2.2.1.2.1`` for T047 Disease or Syndrome), so "descendant of type X" is
"tree number starts with X's tree number and a dot". The tree numbers are read
from the supplied MRSTY itself (the release's own network); the table below is
only the fallback for a root type no concept carries directly.

Which atoms give names: English (``LAT=ENG``), not suppressible (``SUPPRESS``
``N``; ``O`` obsolete, ``E`` suppressed by an editor and ``Y`` suppressible are
dropped), from one of the vocabularies. A concept in scope with no such atom is
left out (counted in the KB notes). Its preferred name comes first: the atom
with ``TS=P``, ``STT=PF``, ``ISPREF=Y`` (the Metathesaurus' preferred term,
string and atom), else the best of the three flags, else file order. Names that
normalise to the same key (``normalize_name``) are kept once, first spelling wins.

Scale: a full release has ~15 million MRCONSO rows. Both files are streamed;
MRSTY is read twice (its tree numbers, then the CUIs in scope: a set of a few
million ids), MRCONSO once, keeping only the names of concepts in scope.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

from bench.benchmarks.textio import iter_lines
from bench.errors import DataFormatError
from bench.kb import KnowledgeBase
from bench.normalize import normalize_name

MRCONSO_FIELDS = "CUI LAT TS LUI STT SUI ISPREF AUI SAUI SCUI SDUI SAB TTY CODE STR SRL SUPPRESS CVF".split()
MRSTY_FIELDS = "CUI TUI STN STY ATUI CVF".split()
CUI_FORM = re.compile(r"C\d{7}")  # a UMLS concept unique identifier
# Fields every MRCONSO row fills in a release (the filters below read them).
_REQUIRED_MRCONSO = ("LAT", "TS", "STT", "ISPREF", "AUI", "SAB", "TTY", "STR")
_C = {name: i for i, name in enumerate(MRCONSO_FIELDS)}
_S = {name: i for i, name in enumerate(MRSTY_FIELDS)}

# The 21 semantic types of ST21pv (MedMentions st21pv/ReadMe.md), with their
# Semantic Network tree numbers (fallback only: MRSTY's own STN column wins).
ST21PV_SEMANTIC_TYPES: dict[str, str] = {
    "T005": "A1.1.4",  # Virus
    "T007": "A1.1.2",  # Bacterium
    "T017": "A1.2",  # Anatomical Structure
    "T022": "A2.1.4.1",  # Body System
    "T031": "A1.4.2",  # Body Substance
    "T033": "A2.2",  # Finding
    "T037": "B2.3",  # Injury or Poisoning
    "T038": "B2.2.1",  # Biologic Function
    "T058": "B1.3.1",  # Health Care Activity
    "T062": "B1.3.2",  # Research Activity
    "T074": "A1.3.1",  # Medical Device
    "T082": "A2.1.5",  # Spatial Concept
    "T091": "A2.6.1",  # Biomedical Occupation or Discipline
    "T092": "A2.7",  # Organization
    "T097": "A2.9.1",  # Professional or Occupational Group
    "T098": "A2.9.2",  # Population Group
    "T103": "A1.4.1",  # Chemical
    "T168": "A1.4.3",  # Food
    "T170": "A2.4",  # Intellectual Product
    "T201": "A2.3.1",  # Clinical Attribute
    "T204": "A1.1.3",  # Eukaryote
}

# The 18 source vocabularies (root SABs) of ST21pv (same ReadMe).
ST21PV_SOURCES: frozenset[str] = frozenset(
    "CPT FMA GO HGNC HPO ICD10 ICD10CM ICD9CM MDR MSH MTH NCBI NCI NDDF NDFRT OMIM RXNORM SNOMEDCT_US".split()
)

SUPPRESS_VALUES = {"N": False, "O": True, "E": True, "Y": True}  # value -> dropped


def iter_rrf(path: str | Path, fields: tuple[str, ...] | list[str]) -> Iterator[tuple[int, list[str]]]:
    """``(line, values)`` of a ``|``-terminated RRF file; a wrong field count is a file:line error."""
    path = Path(path)
    expected = len(fields) + 1  # the trailing "|" leaves one empty piece
    for number, line in iter_lines(path):
        values = line.split("|")
        if len(values) != expected or values[-1] != "":
            found = len(values) - 1 if values[-1] == "" else len(values)
            ending = "" if values[-1] == "" else " and no trailing '|'"
            raise DataFormatError(
                path,
                number,
                f"expected {len(fields)} '|'-terminated fields ({'|'.join(fields)}|), got {found}{ending}",
            )
        yield number, values


def semantic_tree(mrsty: str | Path) -> dict[str, str]:
    """TUI -> tree number as the file states it (one pass; a TUI with two tree numbers is an error)."""
    mrsty = Path(mrsty)
    tree: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for number, values in iter_rrf(mrsty, MRSTY_FIELDS):
        tui, stn = values[_S["TUI"]], values[_S["STN"]]
        if not tui or not stn:
            raise DataFormatError(mrsty, number, "empty TUI or STN")
        if not CUI_FORM.fullmatch(values[_S["CUI"]]):
            raise DataFormatError(mrsty, number, f"CUI {values[_S['CUI']][:40]!r} is not a UMLS CUI (C + 7 digits)")
        known = tree.get(tui)
        if known is None:
            tree[tui] = stn
            first_line[tui] = number
        elif known != stn:
            raise DataFormatError(
                mrsty, number, f"{tui} has tree number {stn!r} here but {known!r} on line {first_line[tui]}"
            )
    return tree


def types_in_scope(roots: Mapping[str, str], tree: Mapping[str, str], descendants: bool = True) -> set[str]:
    """The root TUIs and (by tree number) every TUI below one of them."""
    root_numbers = {tree.get(tui, stn) for tui, stn in roots.items()}
    scope = set(roots)
    if descendants:
        for tui, stn in tree.items():
            if any(stn.startswith(root + ".") for root in root_numbers):
                scope.add(tui)
    return scope


def concepts_in_scope(mrsty: str | Path, tuis: Collection[str]) -> set[str]:
    """CUIs with at least one semantic type in ``tuis`` (one pass over MRSTY)."""
    wanted = set(tuis)
    return {values[_S["CUI"]] for _, values in iter_rrf(mrsty, MRSTY_FIELDS) if values[_S["TUI"]] in wanted}


def read_umls(
    mrconso: str | Path,
    mrsty: str | Path | None,
    *,
    semantic_types: Mapping[str, str] | None = ST21PV_SEMANTIC_TYPES,
    descendants: bool = True,
    sources: Collection[str] | None = ST21PV_SOURCES,
    languages: Collection[str] = ("ENG",),
    name: str = "UMLS (ST21pv subset)",
) -> KnowledgeBase:
    """A :class:`KnowledgeBase` of UMLS concepts, filtered as the module docstring says.

    ``semantic_types`` (TUI -> fallback tree number) None keeps every semantic
    type (MRSTY is then not read); ``sources`` None keeps every vocabulary.
    """
    mrconso = Path(mrconso)
    notes: list[str] = []
    scope: set[str] | None = None
    if semantic_types is not None:
        if mrsty is None:
            raise ValueError("a semantic-type filter needs MRSTY.RRF")
        tree = semantic_tree(mrsty)
        for tui, stn in sorted(semantic_types.items()):
            if tui in tree and tree[tui] != stn:
                notes.append(f"{tui} has tree number {tree[tui]} in this MRSTY (table: {stn}); the file's is used")
            elif tui not in tree:
                notes.append(f"{tui} carries no concept directly in this MRSTY; its descendants are found by {stn}")
        tuis = types_in_scope(semantic_types, tree, descendants)
        scope = concepts_in_scope(mrsty, tuis)
        notes.append(
            f"semantic types: {len(semantic_types)} roots"
            + (f" and their descendants ({len(tuis)} types)" if descendants else "")
            + f"; {len(scope)} concepts in scope"
        )
    wanted_sources = None if sources is None else frozenset(sources)
    wanted_languages = frozenset(languages)
    counts: Counter[str] = Counter()
    concepts: dict[str, tuple[str, ...]] = {}
    # Rows of one concept are consecutive in a release (MRCONSO is sorted by
    # CUI): names are collected per run of rows and the run is closed when the
    # CUI changes. A concept met again later (an unsorted file) is merged.
    group_cui: str | None = None
    group: list[tuple[tuple[bool, bool, bool], str]] = []

    def close_group() -> None:
        if group_cui is None or not group:
            return
        preferred = min(range(len(group)), key=lambda i: group[i][0])  # first of the best flags
        names = list(concepts.get(group_cui, ()))
        seen = {normalize_name(n) for n in names}
        for string in [group[preferred][1]] + [s for _, s in group]:
            key = normalize_name(string)
            if key and key not in seen:
                seen.add(key)
                names.append(string)
        concepts[group_cui] = tuple(names)

    for number, values in iter_rrf(mrconso, MRCONSO_FIELDS):
        counts["rows read"] += 1
        cui = values[_C["CUI"]]
        if not CUI_FORM.fullmatch(cui):
            raise DataFormatError(mrconso, number, f"CUI {cui[:40]!r} is not a UMLS CUI (C + 7 digits)")
        if cui != group_cui:
            close_group()
            group_cui, group = cui, []
        for field in _REQUIRED_MRCONSO:  # a blank one would silently move the row to a filtered-out count
            if not values[_C[field]]:
                raise DataFormatError(mrconso, number, f"empty {field}")
        suppress = values[_C["SUPPRESS"]]
        if suppress not in SUPPRESS_VALUES:
            raise DataFormatError(mrconso, number, f"SUPPRESS must be one of O, E, Y, N; got {suppress!r}")
        if scope is not None and cui not in scope:
            counts["rows of concepts outside the semantic types"] += 1
        elif values[_C["LAT"]] not in wanted_languages:
            counts["rows in other languages"] += 1
        elif SUPPRESS_VALUES[suppress]:
            counts["suppressed rows (SUPPRESS O, E or Y)"] += 1
        elif wanted_sources is not None and values[_C["SAB"]] not in wanted_sources:
            counts["rows from other vocabularies"] += 1
        else:
            string = values[_C["STR"]].strip()
            if not string:
                raise DataFormatError(mrconso, number, "empty STR (the name)")
            flags = (values[_C["TS"]] != "P", values[_C["STT"]] != "PF", values[_C["ISPREF"]] != "Y")
            group.append((flags, string))
            counts["rows kept"] += 1
    close_group()
    if not counts["rows read"]:
        raise DataFormatError(mrconso, None, "no rows")
    if not concepts:
        raise DataFormatError(mrconso, None, "no concept passes the filters (semantic types, vocabularies, language)")
    notes.append("MRCONSO: " + ", ".join(f"{label} {counts[label]}" for label in sorted(counts)))
    if scope is not None:
        notes.append(
            "concepts in scope left out for want of a name passing the language, suppression and vocabulary "
            f"filters: {len(scope - concepts.keys())}"
        )
    if wanted_sources is not None:
        notes.append(f"vocabularies: {', '.join(sorted(wanted_sources))}")
    notes.append(f"languages: {', '.join(sorted(wanted_languages))}")
    return KnowledgeBase(name, concepts, notes=notes)
