"""COMETA (Basaldella et al., 2020): Reddit health terms linked to SNOMED CT.

The corpus (SIPHS-CHV/COMETA v1.01, CC BY-NC-ND 4.0, obtained from the authors
through siphs.org) comes in four split variants, ``stratified`` or
``zeroshot`` x ``general`` or ``specific``, each a folder with ``train.csv``,
``dev.csv`` and ``test.csv``. Despite the suffix the files are tab-separated,
with CSV quoting in the Example column (a sentence holding a double quote
is written ``"she said ""ouch"" ."``),
header::

    ID  Term  General SNOMED Label  General SNOMED ID  Specific SNOMED Label  Specific SNOMED ID  Example  Subreddit

A row is one mention: ``Term`` inside the Reddit sentence ``Example``. The
``*_general`` variants are scored on the General SNOMED ID, the ``*_specific``
ones on the Specific SNOMED ID. ANGEL and GenBioEL report stratified_general
(13,489 / 2,176 / 4,350 mentions), which ``cometa`` names.

The KB is SNOMED CT, which is licensed: when the user supplies their release's
RF2 description file (and optionally its concept file) it is read by
:mod:`bench.benchmarks.snomed`. Without it the KB is *closed-world*: the
concept labels of the corpus itself, from both label columns of all twelve
files, so that the four variants share one KB. Such a KB is far smaller and
easier than SNOMED CT (about 4,000 concepts instead of about 350,000); every
benchmark and result built on it carries the ``closed_world_kb`` flag.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from bench.benchmark import Benchmark
from bench.benchmarks.profiles import ProfileInputs, apply_profile, check_profile
from bench.benchmarks.snomed import read_snomed_kb
from bench.benchmarks.sources import cached_build, load_card, locate_sources, source_digests
from bench.benchmarks.textio import iter_lines
from bench.checksum import sha256_file
from bench.errors import DataFormatError
from bench.kb import KnowledgeBase
from bench.mention import Mention
from bench.protocols import DEFAULT_PROFILE
from bench.registry import register_benchmark

FAMILY = "cometa"
VARIANTS = ("stratified_general", "stratified_specific", "zeroshot_general", "zeroshot_specific")
SPLITS = ("train", "dev", "test")
HEADER = (
    "ID",
    "Term",
    "General SNOMED Label",
    "General SNOMED ID",
    "Specific SNOMED Label",
    "Specific SNOMED ID",
    "Example",
    "Subreddit",
)
README = "cometa/README"
LICENSE = "cometa/LICENSE"
SNOMED_DESCRIPTIONS = "snomed/sct2_Description_Snapshot-en.txt"
SNOMED_CONCEPTS = "snomed/sct2_Concept_Snapshot.txt"
_SCTID = re.compile(r"^[0-9]{6,18}$")


def corpus_file(variant: str, split: str) -> str:
    return f"cometa/{variant}/{split}.csv"


CORPUS_FILES = tuple(corpus_file(v, s) for v in VARIANTS for s in SPLITS)


@dataclass(frozen=True)
class CometaRow:
    """One row of a COMETA file (``line`` is its line number in the file)."""

    line: int
    id: str
    term: str
    general_label: str
    general_id: str
    specific_label: str
    specific_id: str
    example: str
    subreddit: str

    def gold(self, level: str) -> tuple[str, str]:
        """(concept id, label) at ``level`` ``general`` or ``specific``."""
        if level == "general":
            return self.general_id, self.general_label
        if level == "specific":
            return self.specific_id, self.specific_label
        raise ValueError(f"COMETA gold level must be 'general' or 'specific', not {level!r}")


def read_cometa(path: str | Path) -> list[CometaRow]:
    """Parse one COMETA file; a malformed row stops with file:line."""
    path = Path(path)
    rows: list[CometaRow] = []
    first_line: dict[str, int] = {}
    header_seen = False
    for number, line in iter_lines(path):
        if not header_seen:
            header_seen = True
            found = tuple(line.lstrip("\ufeff").split("\t"))
            if found != HEADER:
                raise DataFormatError(
                    path, number, f"not a COMETA file: header {found!r}, expected {'<TAB>'.join(HEADER)}"
                )
            continue
        if not line.strip():
            raise DataFormatError(path, number, "blank line (every row after the header is a mention)")
        if '"' not in line:
            fields = line.split("\t")
        else:
            try:
                fields = next(csv.reader([line], delimiter="\t", quotechar='"', strict=True))
            except csv.Error as error:
                raise DataFormatError(path, number, f"malformed quoting: {error}") from None
        if len(fields) != len(HEADER):
            raise DataFormatError(path, number, f"expected {len(HEADER)} tab-separated columns, found {len(fields)}")
        row = CometaRow(number, *(f.strip() for f in fields[:6]), fields[6], fields[7].strip())
        for column, value in zip(HEADER, fields):
            if column not in ("Example", "Subreddit") and not value.strip():
                raise DataFormatError(path, number, f"empty {column}")
        for column, value in (("General SNOMED ID", row.general_id), ("Specific SNOMED ID", row.specific_id)):
            if not _SCTID.match(value):
                raise DataFormatError(path, number, f"{column} {value!r} is not a SNOMED CT identifier")
        if row.id in first_line:
            raise DataFormatError(path, number, f"ID {row.id} already on line {first_line[row.id]}")
        first_line[row.id] = number
        rows.append(row)
    if not header_seen:
        raise DataFormatError(path, None, "empty file (expected the COMETA header)")
    return rows


@lru_cache(maxsize=len(VARIANTS) * len(SPLITS))
def _read_cometa_cached(path: str, digest: str) -> tuple[CometaRow, ...]:
    return tuple(read_cometa(path))


def read_cometa_once(path: Path) -> list[CometaRow]:
    """:func:`read_cometa`, parsed once per process and file content (prepare builds every variant)."""
    return list(_read_cometa_cached(str(path), sha256_file(path)))


def find_span(term: str, example: str) -> tuple[int, int] | None:
    """Character span of ``term`` in ``example``: first exact match, else first case-insensitive one."""
    if not term or not example:
        return None
    start = example.find(term)
    if start >= 0:
        return start, start + len(term)
    folded, term_folded = example.lower(), term.lower()
    if len(folded) == len(example) and len(term_folded) == len(term):  # offsets kept (almost always)
        start = folded.find(term_folded)
        return (start, start + len(term)) if start >= 0 else None
    match = re.search(re.escape(term), example, re.IGNORECASE)
    return match.span() if match else None


def cometa_mentions(rows: Iterable[CometaRow], split: str, level: str) -> list[Mention]:
    """Mentions with ids ``<split>:<row ID>`` and gold at ``level`` (general/specific)."""
    mentions = []
    for row in rows:
        concept_id, _label = row.gold(level)
        mentions.append(
            Mention(
                id=f"{split}:{row.id}",
                text=row.term,
                gold_ids=frozenset({concept_id}),
                span=find_span(row.term, row.example),
                context=row.example or None,
            )
        )
    return mentions


def closed_world_kb(files: dict[str, list[CometaRow]]) -> KnowledgeBase:
    """The concept labels of the corpus as a KB (both label columns of every file given).

    A concept's names are all the labels the corpus gives it, the most frequent
    first (ties alphabetical): the files repeat the same 20,015 rows in every
    variant, and a few ids carry two labels (an FSN with and without its
    semantic tag, or an annotation slip).
    """
    counts: Counter[tuple[str, str]] = Counter()
    for rows in files.values():
        counts.update((row.general_id, row.general_label) for row in rows)
        counts.update((row.specific_id, row.specific_label) for row in rows)
    concepts: dict[str, list[str]] = {}
    for (concept_id, label), _ in sorted(counts.items(), key=lambda kv: (int(kv[0][0]), -kv[1], kv[0][1])):
        concepts.setdefault(concept_id, []).append(label)
    several = sum(len(names) > 1 for names in concepts.values())
    notes = [
        "closed-world KB: SNOMED CT (licensed) was not supplied, so the KB is the concept labels found in "
        f"the {len(files)} COMETA files read (all four variants), both the General and the Specific label "
        "columns, so that every variant shares one KB",
        f"{len(concepts)} concepts; {several} carry more than one label in the corpus (all kept, the most "
        "frequent first)",
        "not comparable with published COMETA results, which link against the whole of SNOMED CT",
    ]
    return KnowledgeBase("COMETA concept labels (closed world)", concepts, closed_world=True, notes=notes)


def _load(variant: str, name: str, data_dir: str | Path | None, profile: str) -> Benchmark:
    profile = check_profile(FAMILY, name, profile)
    sources = locate_sources(FAMILY, data_dir)
    snomed = sources.get(SNOMED_DESCRIPTIONS)
    level = variant.rsplit("_", 1)[1]
    own_files = [corpus_file(variant, s) for s in SPLITS]
    corpus = list(CORPUS_FILES) if snomed is None else own_files
    kb_files = [SNOMED_DESCRIPTIONS] + ([SNOMED_CONCEPTS] if sources.get(SNOMED_CONCEPTS) else [])
    used = {n: sources[n] for n in (README, LICENSE, *corpus, *(kb_files if snomed else ()))}

    def build() -> Benchmark:
        rows = {n: read_cometa_once(sources[n]) for n in corpus}
        _check_disjoint_splits(variant, rows, sources)
        flags: dict[str, str] = {}
        if snomed is None:
            kb = closed_world_kb(rows)
            flags["closed_world_kb"] = (
                f"KB = the {kb.n_concepts} concept labels found in the COMETA files (both label columns, all "
                "four variants), because SNOMED CT is licensed and was not supplied; scores are not comparable "
                "with published COMETA results, which rank all of SNOMED CT"
            )
        else:
            kb = read_snomed_kb(snomed, sources.get(SNOMED_CONCEPTS))
        splits = {s: cometa_mentions(rows[corpus_file(variant, s)], s, level) for s in SPLITS}
        benchmark = Benchmark(
            name=name,
            splits=splits,
            kb=kb,
            card=load_card(FAMILY),
            source_files=source_digests(used),
            flags=flags,
        )
        return apply_profile(benchmark, profile, ProfileInputs(FAMILY))

    benchmark = cached_build(f"cometa-{variant}-{profile}", used, data_dir, build)
    return benchmark if benchmark.name == name else replace(benchmark, name=name)


def _check_disjoint_splits(variant: str, rows: dict[str, list[CometaRow]], sources) -> None:
    """A row ID in two splits of one variant would leak test mentions into training."""
    where: dict[str, tuple[str, int]] = {}
    for split in SPLITS:
        name = corpus_file(variant, split)
        for row in rows[name]:
            if row.id in where:
                other, line = where[row.id]
                raise DataFormatError(sources[name], row.line, f"ID {row.id} is also in {other} (line {line})")
            where[row.id] = (name, row.line)


@register_benchmark("cometa")
def load_cometa(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    """COMETA stratified_general (the ANGEL/GenBioEL protocol)."""
    return _load("stratified_general", "cometa", data_dir, profile)


@register_benchmark("cometa-stratified-general")
def load_cometa_stratified_general(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load("stratified_general", "cometa-stratified-general", data_dir, profile)


@register_benchmark("cometa-stratified-specific")
def load_cometa_stratified_specific(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load("stratified_specific", "cometa-stratified-specific", data_dir, profile)


@register_benchmark("cometa-zeroshot-general")
def load_cometa_zeroshot_general(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load("zeroshot_general", "cometa-zeroshot-general", data_dir, profile)


@register_benchmark("cometa-zeroshot-specific")
def load_cometa_zeroshot_specific(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load("zeroshot_specific", "cometa-zeroshot-specific", data_dir, profile)
