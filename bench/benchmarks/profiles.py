"""Protocol profiles: one benchmark's official files prepared the way a published system family did it.

A loader parses the official files once, builds the ``official`` benchmark (the
files as distributed: composites whole, nothing dropped or changed) and hands it
to :func:`apply_profile` together with what the other profiles need from the
files (:class:`ProfileInputs`: the parsed PubTator documents, the dictionary
BioSyn used, AskAPatient's label column). The profiles themselves live in
:mod:`profile_biosyn` and :mod:`profile_genbioel`; names, aliases and versions in
:mod:`bench.protocols`.

Every changed or dropped mention is counted per split and step in
``Benchmark.steps`` (``bioel-bench stats`` and the dataset cards print them), and
the profile, its version and the abbreviation detector go into the data
checksum, so runs that differ in any of them are never paired.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.benchmark import DEV, TEST, TRAIN, Benchmark
from bench.benchmarks.abbreviations import Expander, choose_expander, detect_cached, fallback_flag
from bench.benchmarks.profile_biosyn import TYPOS_FOR, biosyn_dictionary, biosyn_queries, biosyn_splits
from bench.benchmarks.profile_genbioel import (
    expand_whole_mentions,
    genbioel_aap_splits,
    genbioel_bc5cdr_splits,
    genbioel_kb,
    genbioel_ncbi_splits,
    lowercase_and_drop_missing,
)
from bench.benchmarks.pubtator import Document
from bench.errors import BenchError
from bench.kb import KnowledgeBase
from bench.protocols import BIOSYN, GENBIOEL, GENBIOEL_FIXED, OFFICIAL, PROFILES, canonical_profile

# Which profiles each benchmark family has, and which of them detect abbreviations.
FAMILY_PROFILES: dict[str, tuple[str, ...]] = {
    "ncbi-disease": PROFILES,
    "demo": PROFILES,  # NCBI-disease's layout, so NCBI-disease's pipelines
    "bc5cdr": PROFILES,
    "cometa": (GENBIOEL, GENBIOEL_FIXED, OFFICIAL),  # BioSyn has no COMETA preprocessing
    "aap": (GENBIOEL, GENBIOEL_FIXED, OFFICIAL),
    "medmentions": (GENBIOEL, GENBIOEL_FIXED, OFFICIAL),
}
EXPANDING = {
    (BIOSYN, "ncbi-disease"),
    (BIOSYN, "demo"),
    (BIOSYN, "bc5cdr"),
    (GENBIOEL, "ncbi-disease"),  # through BioSyn's output
    (GENBIOEL, "demo"),
    (GENBIOEL, "bc5cdr"),
    (GENBIOEL, "medmentions"),
}


def check_profile(family: str, benchmark: str, profile: str) -> str:
    """The canonical profile name, or an error naming the profiles ``benchmark`` has."""
    name = canonical_profile(profile)
    supported = FAMILY_PROFILES[family]
    if name not in supported:
        raise BenchError(
            f"benchmark {benchmark!r} has no protocol profile {name!r}; choose from {', '.join(supported)}"
        )
    if name == BIOSYN and benchmark == "bc5cdr":
        raise BenchError(
            "BioSyn prepares BC5CDR one entity type at a time: "
            "use bc5cdr-disease or bc5cdr-chemical with --profile biosyn"
        )
    return name


def expander_for(family: str, profile: str) -> Expander | None:
    """The abbreviation detector ``profile`` uses on ``family`` (None when it uses none)."""
    fixed = GENBIOEL if profile == GENBIOEL_FIXED else profile
    return choose_expander() if (fixed, family) in EXPANDING else None


@dataclass(frozen=True)
class ProfileInputs:
    """What a loader hands the profiles besides the official benchmark."""

    family: str
    documents: Mapping[str, Sequence[Document]] = field(default_factory=dict)  # PubTator splits as parsed
    entity_types: tuple[str, ...] | None = None
    biosyn_kb: KnowledgeBase | None = None  # the dictionary BioSyn used (MEDIC 2012 for NCBI and BC5CDR-D)
    labels: Mapping[str, str] = field(default_factory=dict)  # AskAPatient's label column, by mention id
    expander: Expander | None = None
    cache_dir: Path | None = None  # where detected abbreviations are kept


def _abbreviations(inputs: ProfileInputs, text_of) -> dict[str, dict[str, str]]:
    if inputs.expander is None:
        raise BenchError("internal: this profile needs an abbreviation detector")
    texts = {d.doc_id: text_of(d) for docs in inputs.documents.values() for d in docs}
    return detect_cached(inputs.expander, texts, inputs.cache_dir)


def _biosyn_text(document: Document) -> str:
    """The ``<pmid>.txt`` BioSyn writes and runs Ab3P on: title, a blank line, abstract."""
    return f"{document.title}\n\n{document.abstract}"


def _steps(counts: Mapping[str, Counter]) -> dict[str, dict[str, int]]:
    return {name: {k: int(v) for k, v in sorted(c.items())} for name, c in counts.items() if c}


def apply_profile(benchmark: Benchmark, profile: str, inputs: ProfileInputs) -> Benchmark:
    """``benchmark`` (the official one) prepared under ``profile``."""
    profile = check_profile(inputs.family, benchmark.name, profile)
    if profile == OFFICIAL:
        return replace(benchmark, protocol=OFFICIAL)
    counts: dict[str, Counter] = {name: Counter() for name in (*benchmark.splits, "kb")}
    flags = dict(benchmark.flags)
    if inputs.expander is not None and inputs.expander.fallback:
        flags["abbreviation_fallback"] = fallback_flag(inputs.expander)
    fixed = profile == GENBIOEL_FIXED
    family = inputs.family
    if profile == BIOSYN or (family in ("ncbi-disease", "demo") and profile in (GENBIOEL, GENBIOEL_FIXED)):
        source_kb = inputs.biosyn_kb or benchmark.kb
        typos = TYPOS_FOR.get("ncbi-disease") if family in ("ncbi-disease", "demo") else None
        corpus = biosyn_queries(
            inputs.documents,
            _abbreviations(inputs, _biosyn_text),
            source_kb,
            entity_types=inputs.entity_types,
            typos=typos,
        )
        for split, c in corpus.counts.items():
            counts.setdefault(split, Counter()).update(c)
        training = [*corpus.queries.get(TRAIN, []), *corpus.queries.get(DEV, [])]
        kb = biosyn_dictionary(source_kb, training, counts["kb"])
        if profile == BIOSYN:
            splits = biosyn_splits(corpus, kb)
            counts[TRAIN]["dev mentions merged into train"] = len(corpus.queries.get(DEV, []))
        else:
            kb = genbioel_kb(kb, counts["kb"], dedup=False)  # NCBI: prepare_dataset.py runs no cross-id de-dup
            splits = genbioel_ncbi_splits(corpus, kb, counts, fixed=fixed)
    elif family == "bc5cdr":
        kb = genbioel_kb(benchmark.kb, counts["kb"], dedup=not fixed)
        abbreviations = _abbreviations(inputs, lambda d: d.text)
        splits = genbioel_bc5cdr_splits(inputs.documents, abbreviations, kb, inputs.entity_types or (), counts)
    elif family == "cometa":
        kb = genbioel_kb(benchmark.kb, counts["kb"], dedup=not fixed)
        splits = lowercase_and_drop_missing(benchmark.splits, kb, counts, drop=True)
    elif family == "aap":
        kb = genbioel_kb(benchmark.kb, counts["kb"], dedup=not fixed, keep_last_name=True)
        splits = genbioel_aap_splits(benchmark.splits, inputs.labels, counts)
    elif family == "medmentions":
        kb = genbioel_kb(benchmark.kb, counts["kb"], dedup=not fixed)
        by_doc = {m.doc_id: m.context or "" for s in benchmark.splits.values() for m in s}
        detected = detect_cached(inputs.expander, by_doc, inputs.cache_dir) if inputs.expander else {}
        splits = expand_whole_mentions(benchmark.splits, detected, counts)
    else:
        raise BenchError(f"internal: no {profile} pipeline for {family}")
    for split in (TRAIN, DEV, TEST):
        splits.setdefault(split, [])
    for split, mentions in splits.items():  # what the split holds at the end, merges included
        counts.setdefault(split, Counter()).pop("mentions kept", None)
        counts[split]["mentions in the split"] = len(mentions)
    return replace(
        benchmark,
        splits=splits,
        kb=kb,
        protocol=profile,
        flags=flags,
        steps=_steps(counts),
        expander=inputs.expander.identity if inputs.expander else None,
    )
