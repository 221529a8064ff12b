"""The MEDIC flat file used by BioSyn, GenBioEL and ANGEL for NCBI-disease.

Each line is ``ID[|altID...]||Name|Synonym|...``. The ids of one line are
equivalent identifiers of one disease (MeSH ``D``/``C`` numbers and OMIM numbers,
the latter without prefix). We take the first as the canonical id, prefix bare
numbers with ``OMIM:`` (the form the NCBI corpus uses), and resolve the others
to it, so a gold ``OMIM:613097`` finds the MeSH concept that lists it.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.benchmarks.textio import iter_lines
from bench.errors import DataFormatError
from bench.kb import KnowledgeBase

# The id forms of the flat file: MeSH descriptors and supplementary concepts (D/C + digits, with or
# without MESH:), OMIM numbers (six digits, with or without OMIM:), and the MeSH disease root "C"
# (its line 38, "C||Diseases").
MEDIC_ID_FORM = re.compile(r"(?:MESH:)?[CD]\d{6,9}|(?:OMIM:)?\d{6}|C")


def medic_id(token: str) -> str:
    """Canonical spelling of a MEDIC id token (``MESH:D1`` -> ``D1``, ``613097`` -> ``OMIM:613097``)."""
    token = token.strip()
    if token.startswith("MESH:"):
        return token[len("MESH:") :]
    if token.isdigit():
        return f"OMIM:{token}"
    return token


def read_medic_flat(path: str | Path, name: str = "MEDIC") -> KnowledgeBase:
    """Parse the flat file into a :class:`KnowledgeBase` (errors name file:line)."""
    path = Path(path)
    concepts: dict[str, list[str]] = {}
    alt_ids: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for number, line in iter_lines(path):
        if not line.strip():
            continue  # blank lines carry nothing; they are not data rows
        if "||" not in line:
            raise DataFormatError(path, number, "expected 'ID[|altID...]||Name|Synonym...' (no '||' separator)")
        id_part, name_part = line.split("||", 1)
        tokens = [t.strip() for t in id_part.split("|")]
        if any(not t for t in tokens):
            raise DataFormatError(path, number, f"empty concept id in {id_part!r}")
        for token in tokens:
            if not MEDIC_ID_FORM.fullmatch(token):
                shown = token if len(token) <= 40 else token[:40] + "..."
                raise DataFormatError(path, number, f"id {shown!r} is not a MeSH (D/C number), OMIM number or C")
        ids = [medic_id(t) for t in tokens]
        names = [n.strip() for n in name_part.split("|") if n.strip()]
        if not names:
            raise DataFormatError(path, number, f"concept {ids[0]} has no name")
        canonical = ids[0]
        if canonical in concepts:
            raise DataFormatError(path, number, f"concept {canonical} already defined on line {first_line[canonical]}")
        first_line[canonical] = number
        concepts[canonical] = names
        for alt in ids[1:]:
            if alt in alt_ids and alt_ids[alt] != canonical:
                raise DataFormatError(
                    path,
                    number,
                    f"alternative id {alt} already belongs to {alt_ids[alt]} (line {first_line[alt_ids[alt]]})",
                )
            alt_ids[alt] = canonical
    # The 2012 file lists OMIM:260350 both as a concept of its own and as an
    # alternative id of D010190; an id that is a concept resolves to itself
    # (KnowledgeBase drops the alternative link), as the flat file's own line says.
    if not concepts:
        raise DataFormatError(path, None, "no concepts found")
    return KnowledgeBase(name, concepts, alt_ids)
