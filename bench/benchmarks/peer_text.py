"""The peers' own string normalisations, reproduced step for step for the protocol profiles.

These are *not* :func:`bench.normalize.normalize_name` (our one look-up key):
they change the data itself the way BioSyn and GenBioEL changed it before
training and testing, so that a profile can hand a linker exactly the strings
a paper's system saw. Each function cites the peer file it follows; the facts
behind them are collected in ``datasets/protocols/`` (file and line in the
peers' repositories).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

# BioSyn preprocess/resources/ncbi-spell-check.txt (37 entries, ``typo||correction``), applied to NCBI-disease
# mentions only. Some entries fire on correct words (three, le, fist, hemorrhage): kept as they are, since
# they are what BioSyn's processed NCBI data went through.
NCBI_TYPOS: dict[str, str] = {
    "hepatosplenomegally": "hepatosplenomegaly",
    "hemmorhage": "haemorrhage",
    "fist": "first",
    "bactermia": "bacteremia",
    "conolidation": "consolidation",
    "three": "triple",
    "pneumococcl": "pneumococcal",
    "collectionan": "collection",
    "cirrohsis": "cirrhosis",
    "adomen": "abdomen",
    "delerium": "delirium",
    "atrialfibrillation": "atrial fibrillation",
    "processess": "processes",
    "dysarthira": "dysarthria",
    "occlussion": "occlusion",
    "congenitcal": "congenital",
    "atelctasis": "atelectasis",
    "illeus": "ileus",
    "pnuemonia": "pneumonia",
    "withdrawel": "withdrawal",
    "abdominla": "abdominal",
    "hernation": "herniation",
    "edamatous": "edematous",
    "smallbowel": "small bowel",
    "hyperpigementation": "hyperpigmentation",
    "dispress": "distress",
    "arrrest": "arrest",
    "forhead": "forehead",
    "le": "leg",
    "leukaemia": "leukemia",
    "abcess": "abscess",
    "cerebeller": "cerebellar",
    "sytem": "system",
    "hemorrhage": "haemorrhage",
    "parasthesias": "paresthesias",
    "tumour": "tumor",
    "tumours": "tumors",
}


def _punctuation_regex(keep: str) -> re.Pattern[str]:
    punctuation = "".join(c for c in string.punctuation if c not in keep)
    return re.compile(rf"[\s{re.escape(punctuation)}]+")


_BIOSYN_PUNCT = {keep: _punctuation_regex(keep) for keep in ("", "|")}


def biosyn_clean(
    text: str,
    *,
    lowercase: bool = True,
    remove_punctuation: bool = True,
    keep: str = "",
    typos: Mapping[str, str] | None = None,
) -> str:
    """BioSyn's ``TextPreprocess.run`` (``src/biosyn/preprocesser.py``).

    Order: lower-case, then whole-token typo correction (whitespace tokens, so
    ``tumour,`` is not corrected), then every run of whitespace and ASCII
    punctuation (``string.punctuation`` less ``keep``) becomes one space, then
    strip. Queries keep ``|`` (the composite separator, ``keep="|"``);
    dictionary names do not. Non-ASCII punctuation is left alone, as in BioSyn.
    """
    if lowercase:
        text = text.lower()
    if typos:
        text = " ".join(typos.get(token, token) for token in text.split())
    if remove_punctuation:
        pattern = _BIOSYN_PUNCT.get(keep) or _punctuation_regex(keep)
        text = " ".join(pattern.split(text)).strip()
    return text.strip()


def biosyn_expand(mention: str, pairs: Mapping[str, str], max_passes: int = 10) -> str:
    """BioSyn's ``apply_abbr_dict`` (``preprocess/query_preprocess.py``): token-level, case-sensitive.

    Whitespace tokens are looked up exactly; a token holding ``/`` is looked up
    piece by piece; a token ending in ``,`` loses its commas, is looked up and
    gets one ``,`` back. Tokens are re-joined with single spaces (so whitespace
    collapses even when nothing is replaced) and the pass repeats until nothing
    changes. BioSyn loops without a bound; a long form holding its own short
    form would never stop there, so we stop after ``max_passes`` (a departure
    that only matters for such a pair).
    """
    current = mention
    for _ in range(max_passes):
        tokens = []
        for token in current.split():
            token = token.strip()
            if "/" in token:
                token = "/".join(pairs.get(piece, piece) for piece in token.split("/"))
            if token.endswith(","):
                bare = token.replace(",", "")
                token = pairs.get(bare, bare) + ","
            else:
                token = pairs.get(token, token)
            tokens.append(token)
        expanded = " ".join(tokens)
        if expanded == current:
            break
        current = expanded
    return current


# GenBioEL's ``conv`` (src/data_utils/ncbi/prepare_dataset.py, bc5cdr/use_all.py, aap/prepare_dataset.py):
# each of these characters becomes one space (plain replacement, not a regex); everything else is kept.
GENBIOEL_PUNCTUATION = ",.;{}[]()+-_*/?!`\"'=%><"


def genbioel_conv(text: str, *, lowercase: bool = True, strip: bool = True, collapse: bool = True) -> str:
    """GenBioEL's name normaliser ``conv``: strip and lower-case, punctuation to spaces, whitespace collapsed.

    ``lowercase=False, strip=False`` is the variant of GenBioEL's BC5CDR and
    COMETA KB builders (``use_all.py``, where strip and lower-case are
    commented out; the final split-join still trims); ``strip=False,
    collapse=False`` is how its AskAPatient script treats a phrase
    (``aap/prepare_dataset.py``: each punctuation character becomes a space,
    double and edge spaces stay).
    """
    if strip:
        text = text.strip()
    if lowercase:
        text = text.lower()
    text = text.translate({ord(c): " " for c in GENBIOEL_PUNCTUATION})
    return " ".join(text.split()) if collapse else text


def genbioel_expand(mention: str, pairs: Mapping[str, str]) -> str:
    """GenBioEL's use of Ab3P (``src/data_utils/bc5cdr/prepare_dataset.py``): whole-mention match only.

    A mention that *is* a short form defined in its document (exact,
    case-sensitive) becomes the long form, lower-cased; any other mention is
    only lower-cased. Nothing inside a longer mention is replaced.
    """
    long_form = pairs.get(mention)
    return (long_form if long_form is not None else mention).lower()
