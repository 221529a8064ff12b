"""Display names for paper tables and figures: "TF-IDF", not ``tfidf``; "AAP (fold 0)", not ``aap-fold0``.

Reports keep the registry names in Markdown and JSON (they are what a user types and greps);
LaTeX tables, the only output meant to be pasted into a paper, use these. An unknown name is
shown as it is; an ablation label ``angel/dpo_lr=1e-05`` becomes "ANGEL (dpo_lr=1e-05)".
"""

from __future__ import annotations

import re

SYSTEMS = {
    "exact": "Exact match",
    "floor": "Memorisation floor",
    "floor-train": "Memorisation floor (train only)",
    "tfidf": "TF-IDF",
    "genbioel": "GenBioEL",
    "angel": "ANGEL",
    "dense": "Dense (SapBERT-style)",
    "llm": "LLM",
}
BENCHMARKS = {
    "ncbi-disease": "NCBI-disease",
    "ncbi-disease-ctd": "NCBI-disease (CTD)",
    "bc5cdr": "BC5CDR",
    "bc5cdr-disease": "BC5CDR-D",
    "bc5cdr-chemical": "BC5CDR-C",
    "cometa": "COMETA",
    "aap": "AskAPatient (10 folds)",
    "medmentions-st21pv": "MM-ST21pv",
    "demo": "Demo",
}
_FOLD = re.compile(r"aap-fold(\d+)")


def display(name: str) -> str:
    """The display name of a system, ablation or benchmark label (markers after it kept)."""
    core = name.rstrip("†‡ ")
    tail = name[len(core) :]
    if "/" in core:
        base, _, variant = core.partition("/")
        return f"{SYSTEMS.get(base, base)} ({variant}){tail}"
    if core in SYSTEMS:
        return SYSTEMS[core] + tail
    if core in BENCHMARKS:
        return BENCHMARKS[core] + tail
    fold = _FOLD.fullmatch(core)
    if fold:
        return f"AAP (fold {fold.group(1)}){tail}"
    return name
