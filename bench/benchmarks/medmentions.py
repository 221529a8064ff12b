"""MedMentions ST21pv (Mohan & Li, 2019) with the UMLS ST21pv KB, as ANGEL/GenBioEL use it.

Official files (github chanzuckerberg/MedMentions): ``st21pv/data/corpus_pubtator.txt.gz``
(PubTator: ``PMID|t|title``, ``PMID|a|abstract``, then
``PMID<TAB>start<TAB>end<TAB>mention<TAB>semantic type ids<TAB>UMLS:CUI``; the type
field may list several ids joined by commas) and the PMID split lists of the
full corpus, ``full/data/corpus_pubtator_pmids_{trng,dev,test}.txt`` (one PMID a
line; the ST21pv ReadMe points at them). Every corpus PMID must be in exactly
one list and every listed PMID in the corpus: anything else is an error, never
a silently dropped document.

The KB is the ST21pv subset of the user's UMLS (``umls/MRCONSO.RRF``,
``umls/MRSTY.RRF``; MedMentions used release 2017AA), see
:mod:`bench.benchmarks.umls`. UMLS is licensed, so ``prepare`` never downloads
it and says how to obtain it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from bench.benchmark import Benchmark
from bench.benchmarks.gold import resolve_gold
from bench.benchmarks.profiles import ProfileInputs, apply_profile, check_profile, expander_for
from bench.benchmarks.pubtator import Document, pubtator_mentions, read_pubtator
from bench.benchmarks.sources import cached_build, default_data_dir, load_card, locate_sources, source_digests
from bench.benchmarks.textio import iter_lines
from bench.benchmarks.umls import read_umls
from bench.errors import DataFormatError
from bench.mention import COMPOSITE_SEPARATORS, Mention
from bench.protocols import DEFAULT_PROFILE
from bench.registry import register_benchmark

FAMILY = "medmentions-st21pv"
CORPUS = "medmentions/corpus_pubtator.txt.gz"
PMID_LISTS = {
    "train": "medmentions/corpus_pubtator_pmids_trng.txt",
    "dev": "medmentions/corpus_pubtator_pmids_dev.txt",
    "test": "medmentions/corpus_pubtator_pmids_test.txt",
}
MRCONSO = "umls/MRCONSO.RRF"
MRSTY = "umls/MRSTY.RRF"

_CUI = re.compile(r"^(?:UMLS:)?(C\d{7})$")
_TYPE = re.compile(r"^(?:T\d{3}|UnknownType)$")


def umls_cui(token: str) -> str:
    """``UMLS:C0011849`` -> ``C0011849`` (a bare CUI is returned as it is)."""
    token = token.strip()
    return token[len("UMLS:") :] if token.startswith("UMLS:") else token


def read_pmid_lists(paths: Mapping[str, str | Path]) -> dict[str, tuple[str, ...]]:
    """Split name -> PMIDs in file order. A PMID twice in one list or in two lists is an error."""
    where: dict[str, tuple[str, Path, int]] = {}
    splits: dict[str, tuple[str, ...]] = {}
    for split, raw_path in paths.items():
        path = Path(raw_path)
        pmids = []
        for number, line in iter_lines(path):
            pmid = line.strip()
            if not pmid:
                continue  # a blank line carries no PMID (e.g. a final empty line)
            if not pmid.isdigit():
                raise DataFormatError(path, number, f"expected one PMID (digits) per line, got {line!r}")
            if pmid in where:
                other_split, other_path, other_line = where[pmid]
                problem = (
                    f"PMID {pmid} is listed twice in this file (line {other_line})"
                    if other_path == path
                    else f"PMID {pmid} is also in the {other_split} list ({other_path}:{other_line})"
                )
                raise DataFormatError(path, number, problem)
            where[pmid] = (split, path, number)
            pmids.append(pmid)
        if not pmids:
            raise DataFormatError(path, None, "no PMIDs")
        splits[split] = tuple(pmids)
    return splits


def check_annotations(documents: list[Document], path: str | Path) -> None:
    """Every concept field is a UMLS CUI (``UMLS:C#######``) and every type a TUI list."""
    for document in documents:
        for annotation in document.annotations:
            for part in COMPOSITE_SEPARATORS.split(annotation.ids):
                if not _CUI.match(part.strip()):
                    raise DataFormatError(
                        path, annotation.line, f"concept id {part.strip()!r} is not a UMLS CUI (UMLS:C#######)"
                    )
            types = annotation.type.split(",")
            if not all(_TYPE.match(t.strip()) for t in types):
                raise DataFormatError(
                    path,
                    annotation.line,
                    f"semantic type field {annotation.type!r} is not a comma-separated list of TUIs (T###)",
                )


def read_medmentions(corpus: str | Path, pmid_lists: Mapping[str, str | Path]) -> dict[str, list[Mention]]:
    """Split name -> mentions (corpus order), with gold CUIs as the corpus states them."""
    corpus = Path(corpus)
    documents = read_pubtator(corpus)
    check_annotations(documents, corpus)
    splits = read_pmid_lists(pmid_lists)
    split_of = {pmid: split for split, pmids in splits.items() for pmid in pmids}
    by_split: dict[str, list[Document]] = {split: [] for split in splits}
    seen: dict[str, int] = {}
    for document in documents:
        if document.pmid in seen:
            raise DataFormatError(
                corpus, document.line, f"PMID {document.pmid} appears twice (first on line {seen[document.pmid]})"
            )
        seen[document.pmid] = document.line
        split = split_of.get(document.pmid)
        if split is None:
            raise DataFormatError(corpus, document.line, f"PMID {document.pmid} is in none of the split lists")
        by_split[split].append(document)
    for split, pmids in splits.items():
        for pmid in pmids:
            if pmid not in seen:
                path = Path(pmid_lists[split])
                line = next(n for n, text in iter_lines(path) if text.strip() == pmid)
                raise DataFormatError(path, line, f"PMID {pmid} is listed but not in the corpus {corpus.name}")
    return {split: pubtator_mentions(docs, path=corpus) for split, docs in by_split.items()}


@register_benchmark("medmentions-st21pv")
def load_medmentions_st21pv(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    profile = check_profile("medmentions", FAMILY, profile)
    expander = expander_for("medmentions", profile)
    sources = locate_sources(FAMILY, data_dir)
    used = {n: sources[n] for n in (CORPUS, *PMID_LISTS.values(), MRCONSO, MRSTY)}

    def build() -> Benchmark:
        splits = read_medmentions(sources[CORPUS], {s: sources[n] for s, n in PMID_LISTS.items()})
        kb = read_umls(sources[MRCONSO], sources[MRSTY], name="UMLS ST21pv subset (user-supplied MRCONSO/MRSTY)")
        benchmark = Benchmark(
            name=FAMILY,
            splits={split: resolve_gold(mentions, kb, umls_cui) for split, mentions in splits.items()},
            kb=kb,
            card=load_card(FAMILY),
            source_files=source_digests(used),
        )
        inputs = ProfileInputs("medmentions", expander=expander, cache_dir=default_data_dir(data_dir) / "abbreviations")
        return apply_profile(benchmark, profile, inputs)

    stamp = {"expander": expander.identity if expander else None}
    return cached_build(f"{FAMILY}-{profile}", used, data_dir, build, stamp)
