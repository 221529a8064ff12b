"""BioSyn's composite-mention resolution (``--resolve_composites``), step for step.

BioSyn's ``preprocess/query_preprocess.py`` (``composite_resolve`` and
``apply_composite_resolve``) splits a mention annotated with several ids into
one sub-mention per id with four regular expressions tried in a fixed order,
then a one-token-per-id fallback. Its greedy results ("hereditary breast" from
"hereditary breast/ovarian cancer syndrome") are what BioSyn's processed
NCBI-disease and BC5CDR files hold, so the ``biosyn`` profile reproduces them
here rather than using our own coordination splitter
(:mod:`bench.benchmarks.composite`, which the ``official`` profile's parts use).

The OMIM rule lives here too because BioSyn applies it inside the same
function: an id string that mixes OMIM and other ids loses its OMIM ids, and
the filtered id string is what BioSyn writes, split or not.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass

from bench.benchmarks.peer_text import biosyn_clean, biosyn_expand

_WORD = r"[a-zA-Z-]"
PREFIX_OF = re.compile(
    rf"(?P<prefix>{_WORD}+) of (both )?(the )?(?P<suffix1>({_WORD}+ )+)(and|or) (the )?(?P<suffix2>({_WORD}+ ?)+)"
)
NESTED_AND = re.compile(
    rf"(?P<prefix_list>({_WORD}+,? )+)(and|or|and/or) (?P<prefix_last>{_WORD}+ and {_WORD}+) (?P<stem>.*)"
)
TRIVIAL = re.compile(rf"(?P<prefix_list>({_WORD}+,? )+)(and|or|and/or) (?P<prefix_last>(the )?{_WORD}+) (?P<stem>.*)")
SLASH = re.compile(r"(?P<prefix>(.* )*)(?P<composite1>.*)\/(?P<composite2>.*)?(?P<suffix>( .*)*)")


def split_ids(cui: str) -> tuple[list[str], str]:
    """BioSyn's ``split_composite_cui``: split on ``|``, else on ``+`` (never both); parts stripped."""
    for symbol in ("|", "+"):
        if symbol in cui:
            return [part.strip() for part in cui.split(symbol)], symbol
    return [cui.strip()], "|"


def omim_filter(cui: str) -> str:
    """Drop the OMIM ids of an id string that mixes OMIM and other ids (all-OMIM and no-OMIM stay)."""
    parts, symbol = split_ids(cui)
    omim = ["OMIM" in part for part in parts]
    if all(omim) or not any(omim):
        return cui
    return symbol.join(part for part, is_omim in zip(parts, omim) if not is_omim)


def _listed(prefix_list: str, last: str, stem: str) -> list[str]:
    pieces = [p for p in prefix_list.strip().split(",") if p] + [last]
    return [piece.strip() + " " + stem for piece in pieces if piece.strip()]


def resolve_composite(mention: str, cui: str) -> tuple[list[str], str]:
    """(sub-mentions, filtered id string) as BioSyn's ``composite_resolve`` gives them.

    The first pattern that matches decides; when its piece count differs from
    the id count the caller keeps the mention whole (later patterns are not tried).
    """
    mention = mention.strip()
    cui = omim_filter(cui)
    ids, _ = split_ids(cui)
    if len(ids) == 1:
        return [mention], cui
    found = PREFIX_OF.match(mention)
    if found:
        prefix = found.group("prefix")
        return [prefix + " of " + found.group("suffix1").strip(), prefix + " of " + found.group("suffix2").strip()], cui
    for pattern in (NESTED_AND, TRIVIAL):
        found = pattern.match(mention)
        if found:
            return _listed(found.group("prefix_list"), found.group("prefix_last"), found.group("stem")), cui
    if "and/or" not in mention:
        found = SLASH.fullmatch(mention)
        if found:
            prefix, suffix = (found.group("prefix") or "").strip(), (found.group("suffix") or "").strip()
            pieces = [(found.group(name) or "").strip() for name in ("composite1", "composite2")]
            return [(prefix + " " + piece + " " + suffix).strip() for piece in pieces], cui
    tokens = mention.split()
    if len(tokens) == len(ids):
        return tokens, cui
    return [mention], cui


def apply_composite_resolve(mention: str, cui: str) -> tuple[str, str]:
    """BioSyn's ``apply_composite_resolve``: the mention field and id field it writes.

    A mention that already holds ``|`` (BC5CDR's 7th column put in its place)
    passes unchanged, OMIM rule included. A split is written as the pieces
    joined by ``|`` with the ids re-joined by their original symbol; otherwise
    the whole mention with the OMIM-filtered ids.
    """
    if "|" in mention:
        return mention, cui
    pieces, filtered = resolve_composite(mention, cui)
    ids, symbol = split_ids(filtered)
    if len(ids) > 1 and len(pieces) == len(ids):
        return "|".join(pieces), symbol.join(ids)
    return mention, filtered


@dataclass(frozen=True)
class QuerySteps:
    """One mention after each of BioSyn's query steps (for the per-step counts of ``stats``)."""

    raw: str
    expanded: str  # after the abbreviation pass (whitespace collapsed even when nothing is replaced)
    resolved: str  # after composite resolution ("a|b" when split)
    cleaned: str  # lower-cased, typo list, punctuation removed keeping "|"
    cui: str  # OMIM-filtered, prefixes removed
    kept: bool  # every id is in the dictionary (--remove_cuiless)

    @property
    def split(self) -> bool:
        return "|" in self.resolved and "|" not in self.raw


def biosyn_query_steps(
    mention: str,
    cui: str,
    abbreviations: Mapping[str, str],
    known_ids: Container[str],
    typos: Mapping[str, str] | None = None,
) -> QuerySteps:
    """One mention through BioSyn's ``query_preprocess.py`` ``main``, in its order.

    1. abbreviation replacement on the raw mention (:func:`peer_text.biosyn_expand`);
    2. composite resolution with the OMIM rule (:func:`apply_composite_resolve`);
    3. lower-case, typo list (NCBI only), punctuation removal keeping ``|``;
    4. ``OMIM:``/``MESH:`` removed from the ids, and the mention dropped unless
       every id is in ``known_ids`` (``--remove_cuiless``; BC5CDR's ``-1`` is never known).
    """
    expanded = biosyn_expand(mention, abbreviations)
    resolved, resolved_cui = apply_composite_resolve(expanded, cui)
    cleaned = biosyn_clean(resolved, keep="|", typos=typos)
    stripped = resolved_cui.replace("OMIM:", "").replace("MESH:", "")
    ids, _ = split_ids(stripped)
    return QuerySteps(mention, expanded, resolved, cleaned, stripped, all(i in known_ids for i in ids))


def biosyn_query(
    mention: str,
    cui: str,
    abbreviations: Mapping[str, str],
    known_ids: Container[str],
    typos: Mapping[str, str] | None = None,
) -> tuple[str, str] | None:
    """(mention, ids) as BioSyn writes them to its processed file; None when dropped."""
    steps = biosyn_query_steps(mention, cui, abbreviations, known_ids, typos)
    return (steps.cleaned, steps.cui) if steps.kept else None
