"""The one name normalisation used everywhere.

KB names, mention strings, dictionary look-ups, seen/unseen leakage subsets and
the tokenizer training text all go through :func:`normalize_name`, so that
"Breast  Cancer" in a corpus and "breast cancer" in MEDIC are the same key in
every component. Changing it changes every checksum-free comparison, so it is
deliberately conservative: Unicode NFKC, lower case, collapsed whitespace. It
keeps punctuation, because KB names such as "Tooth Agenesis, Selective, 6" and
"tooth agenesis selective 6" are different strings in the sources we mirror.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def normalize_name(text: str) -> str:
    """Return the canonical form of a name or mention string."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()
