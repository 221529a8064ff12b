"""Splitting composite mentions into sub-mentions by coordination heuristics.

A composite mention names several concepts in one span: "breast and ovarian
cancer" is D001943|D010051. BioSyn (Sung et al. 2020, ``query_preprocess.py``
``--resolve_composites``) rewrites such a mention into one sub-mention per
concept with a few regular patterns and keeps it whole when the number of
pieces does not match the number of ids. This module does the same with its own
rules (written here, not copied), tried in order; the first rule that yields
exactly as many pieces as the mention has id groups wins:

1. prepositional: "cancer of the breast and ovaries" -> "cancer of the breast",
   "cancer of the ovaries" (also "in", "to", "with", "for"; lists with commas);
2. shared head: "breast, ovarian, and colon cancer" -> "breast cancer",
   "ovarian cancer", "colon cancer" (everything before the last conjunction is
   split at commas; the word after it is the last modifier; the rest is the
   head). "Duchenne and Becker muscular dystrophy" -> two dystrophies;
3. shared modifier: the last conjunct is one word and nothing follows it:
   "colorectal adenomas and carcinoma" -> "colorectal adenomas",
   "colorectal carcinoma"; "spinocerebellar ataxias 1 and 2" -> "... 1", "... 2";
4. slash: one token with "/" (and no conjunction): "Duchenne/Becker muscular
   dystrophy", "cleft lip/palate" -> "cleft lip", "cleft palate".

Conjunctions are "and", "or", "and/or", "&"; a bracketed coordination is read
without its brackets ("complement deficiencies (C2 and C7)"). BioSyn's last resort (one piece
per whitespace token when the counts agree, so "cholestatic hepatitis" ->
"cholestatic", "hepatitis") is available as ``token_fallback=True`` and off by
default. The rules are heuristics: "craniofacial and central nervous system
defects" becomes "craniofacial nervous system defects" and "central nervous
system defects" (BioSyn's patterns make the same choice).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_CONJ = r"(?:and/or|and|or|&)"
_CONJ_WORD = re.compile(rf"^{_CONJ}$", re.IGNORECASE)
# Splits a coordinated list: commas (optionally followed by a conjunction) or a bare conjunction.
_LIST_SPLIT = re.compile(rf"\s*,\s*(?:{_CONJ}\s+)?|\s+{_CONJ}\s+", re.IGNORECASE)
_PREPOSITION = re.compile(r"\b(?:of|in|to|with|for)\s+(?:both\s+|either\s+)?(?:the\s+)?", re.IGNORECASE)
# A parenthesised coordination, "complement deficiencies (C2 and C7)", is read without the brackets.
_PAREN_LIST = re.compile(rf"\(([^()]*\s{_CONJ}\s[^()]*)\)", re.IGNORECASE)
_FIRST_CONJ = re.compile(rf"(?:,|\s){_CONJ}\s", re.IGNORECASE)


def _clean(piece: str) -> str:
    return re.sub(r"\s+", " ", piece.strip().strip(",").strip())


def _items(text: str) -> list[str]:
    items = [_clean(p) for p in _LIST_SPLIT.split(text)]
    return [p for p in items if p and not _CONJ_WORD.match(p)]


def _last_conjunction(text: str) -> re.Match[str] | None:
    """Match of ``pre CONJ rest`` at the *last* conjunction of ``text``."""
    found = None
    for match in re.finditer(rf"\s*,?\s+{_CONJ}\s+", text, re.IGNORECASE):
        found = match
    if found is None or found.start() == 0 or found.end() >= len(text):
        return None
    return found


def split_prepositional(text: str) -> list[str] | None:
    """ "cancer of the breast and ovaries" -> ["cancer of the breast", "cancer of the ovaries"]."""
    conj = _FIRST_CONJ.search(text)
    if conj is None:
        return None
    head_end = None
    for prep in _PREPOSITION.finditer(text, 0, conj.start()):
        head_end = prep.end()
    if head_end is None:
        return None
    head = text[:head_end].rstrip()
    pieces = _items(text[head_end:])
    if len(pieces) < 2 or not head:
        return None
    return [f"{head} {piece}" for piece in pieces]


def split_shared_head(text: str) -> list[str] | None:
    """ "breast and ovarian cancer" -> ["breast cancer", "ovarian cancer"]."""
    found = _last_conjunction(text)
    if not found:
        return None
    pre, rest = text[: found.start()], text[found.end() :]
    rest_words = rest.split()
    if len(rest_words) < 2:
        return None
    last, head = _clean(rest_words[0]), " ".join(rest_words[1:]).strip()
    head = _clean(head)
    modifiers = [*_items(pre), last]
    if len(modifiers) < 2 or not head or not all(modifiers):
        return None
    return [f"{modifier} {head}" for modifier in modifiers]


def split_shared_modifier(text: str) -> list[str] | None:
    """ "colorectal adenomas and carcinoma" -> ["colorectal adenomas", "colorectal carcinoma"]."""
    found = _last_conjunction(text)
    if not found:
        return None
    pre, rest = text[: found.start()], _clean(text[found.end() :])
    if len(rest.split()) != 1:
        return None
    pieces = [*_items(pre), rest]
    if len(pieces) < 2:
        return None
    first_words = pieces[0].split()
    if len(first_words) > 1 and all(len(p.split()) == 1 for p in pieces[1:]):
        shared = " ".join(first_words[:-1])
        return [pieces[0], *(f"{shared} {p}" for p in pieces[1:])]
    return pieces


def split_slash(text: str) -> list[str] | None:
    """ "cleft lip/palate" -> ["cleft lip", "cleft palate"] (one slashed token, no conjunction)."""
    words = text.split()
    if any(_CONJ_WORD.match(w) for w in words):
        return None
    slashed = [i for i, w in enumerate(words) if "/" in w]
    if len(slashed) != 1:
        return None
    i = slashed[0]
    alternatives = [a for a in words[i].split("/") if a]
    if len(alternatives) < 2:
        return None
    return [" ".join([*words[:i], alt, *words[i + 1 :]]) for alt in alternatives]


RULES: tuple[tuple[str, Callable[[str], list[str] | None]], ...] = (
    ("prepositional", split_prepositional),
    ("shared_head", split_shared_head),
    ("shared_modifier", split_shared_modifier),
    ("slash", split_slash),
)


def candidate_splits(text: str) -> dict[str, list[str]]:
    """What each rule makes of ``text`` (rules that do not apply are left out)."""
    text = _clean(_PAREN_LIST.sub(r"\1", text))
    result = {}
    for name, rule in RULES:
        pieces = rule(text)
        if pieces:
            result[name] = pieces
    return result


def split_composite(text: str, n_parts: int, token_fallback: bool = False) -> list[str] | None:
    """``n_parts`` sub-mention strings for a composite mention, or None.

    The first rule (in :data:`RULES` order) that yields exactly ``n_parts``
    pieces wins; with ``token_fallback``, BioSyn's last resort (one piece per
    token when the counts agree) is tried after them.
    """
    if n_parts < 2:
        return None
    for pieces in candidate_splits(text).values():
        if len(pieces) == n_parts:
            return pieces
    if token_fallback:
        tokens = text.split()
        if len(tokens) == n_parts:
            return tokens
    return None
