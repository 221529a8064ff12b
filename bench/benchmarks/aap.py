"""AskAPatient (Limsopatham & Collier, 2016): drug-review phrases linked to SNOMED CT / AMT.

Ten cross-validation folds, each ``AskAPatient.fold-<i>.{train,validation,test}.txt``
(``validation`` is the dev split), one mention per line::

    <concept id> TAB <concept label> TAB <mention>

The KB is ``askapatient.json``, the 1,036-concept target vocabulary used by
ResCNN and GenBioEL: ``{concept_id: [["primary", name], ...]}``. As published,
the fold files are Latin-1 (``Sj\\xf6gren's syndrome``; every peer reads them as
ISO-8859-1) while the JSON is UTF-8: a line that is valid UTF-8 is read as
UTF-8, any other as Latin-1, so a re-encoded copy reads the same.

``aap-fold<i>`` is one fold; ``aap`` is the suite of the ten, reported as the
mean over folds, with significance tested on the pooled per-mention outcomes
(DESIGN.md sections 2 and 4). The label column is not used: gold is the id.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench.benchmark import Benchmark, BenchmarkSuite
from bench.benchmarks.profiles import ProfileInputs, apply_profile, check_profile
from bench.benchmarks.sources import cached_build, load_card, locate_sources, source_digests
from bench.benchmarks.textio import iter_lines
from bench.errors import DataFormatError
from bench.kb import KnowledgeBase
from bench.mention import COMPOSITE_SEPARATORS, Mention, parse_gold_ids
from bench.protocols import DEFAULT_PROFILE
from bench.registry import register_benchmark

FAMILY = "aap"
FOLDS = tuple(range(10))
SPLIT_FILES = {"train": "train", "dev": "validation", "test": "test"}
KB_FILE = "askapatient/askapatient.json"
MEMBERS = tuple(f"aap-fold{i}" for i in FOLDS)


def fold_file(fold: int, split: str) -> str:
    """Source name of a fold's split (``dev`` is the ``validation`` file)."""
    return f"askapatient/AskAPatient.fold-{fold}.{SPLIT_FILES[split]}.txt"


def _decode(line: str) -> str:
    """A line read as Latin-1, re-read as UTF-8 when its bytes are valid UTF-8."""
    try:
        return line.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return line


# AskAPatient's labels are SNOMED CT and Australian Medicines Terminology identifiers: digits only
# (7 to 18 in the official files).
AAP_ID_FORM = re.compile(r"\d{6,18}")


def _check_aap_id(path: Path, line: int | None, concept_id: str) -> None:
    if not AAP_ID_FORM.fullmatch(concept_id):
        shown = concept_id if len(concept_id) <= 40 else concept_id[:40] + "..."
        raise DataFormatError(path, line, f"concept id {shown!r} is not a SNOMED CT / AMT identifier (digits)")


def read_aap_fold(path: str | Path, fold: int, split: str) -> list[Mention]:
    """Mentions of one fold file, ids ``fold<i>:<split>:<line>``; errors name file:line."""
    return [mention for mention, _label in read_aap_rows(path, fold, split)]


def read_aap_rows(path: str | Path, fold: int, split: str) -> list[tuple[Mention, str]]:
    """Each line's mention with its label column (the concept's name, which GenBioEL's cleaning reads)."""
    path = Path(path)
    mentions: list[tuple[Mention, str]] = []
    for number, raw in iter_lines(path, encoding="latin-1"):
        line = raw if raw.isascii() else _decode(raw)
        if not line.strip():
            continue  # a blank line carries no mention (none in the official files)
        fields = line.split("\t")
        if len(fields) != 3:
            raise DataFormatError(
                path, number, f"expected 3 tab-separated columns (id, label, mention), found {len(fields)}"
            )
        concept_id, text = fields[0].strip(), fields[2].strip()
        if not concept_id:
            raise DataFormatError(path, number, "empty concept id")
        if not text:
            raise DataFormatError(path, number, "empty mention")
        for part in COMPOSITE_SEPARATORS.split(concept_id):
            _check_aap_id(path, number, part.strip())
        mention_id = f"fold{fold}:{split}:{number}"
        if COMPOSITE_SEPARATORS.search(concept_id):  # none in the official files
            groups = parse_gold_ids(concept_id)
            gold = frozenset().union(*groups)
            mentions.append((Mention(mention_id, text, gold, gold_groups=groups, label=fields[1]), fields[1]))
        else:
            mentions.append((Mention(mention_id, text, frozenset((concept_id,)), label=fields[1]), fields[1]))
    if not mentions:
        raise DataFormatError(path, None, "no mentions found")
    return mentions


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, max(offset, 0)) + 1


def read_aap_kb(path: str | Path, name: str = "AskAPatient KB (askapatient.json)") -> KnowledgeBase:
    """Parse ``askapatient.json``; malformed JSON or entries stop with file:line."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, None, "file not found")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DataFormatError(path, line, f"not valid utf-8: {error.reason} at byte {error.start}") from None

    def where(concept_id: str) -> int:
        return _line_of(text, text.find(json.dumps(concept_id, ensure_ascii=False)))

    def unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
        result: dict[str, object] = {}
        for key, value in pairs:
            if key in result:
                quoted = json.dumps(key, ensure_ascii=False)
                second = text.find(quoted, text.find(quoted) + 1)
                raise DataFormatError(path, _line_of(text, second), f"concept {key!r} is listed twice")
            result[key] = value
        return result

    try:
        payload = json.loads(text.lstrip("\ufeff"), object_pairs_hook=unique_keys)
    except json.JSONDecodeError as error:
        raise DataFormatError(path, error.lineno, f"invalid JSON: {error.msg} (column {error.colno})") from None
    if not isinstance(payload, dict) or not payload:
        raise DataFormatError(path, 1, "expected a non-empty JSON object {concept_id: [[type, name], ...]}")
    concepts: dict[str, list[str]] = {}
    for concept_id, entries in payload.items():
        if not concept_id.strip():
            raise DataFormatError(path, where(concept_id), "empty concept id")
        _check_aap_id(path, where(concept_id), concept_id.strip())
        if not isinstance(entries, list) or not entries:
            raise DataFormatError(path, where(concept_id), f"concept {concept_id}: expected a list of [type, name]")
        primary, other = [], []
        for entry in entries:
            if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) for x in entry)):
                raise DataFormatError(
                    path, where(concept_id), f"concept {concept_id}: entry {entry!r} is not a [type, name] pair"
                )
            if not entry[1].strip():
                raise DataFormatError(path, where(concept_id), f"concept {concept_id}: empty name")
            (primary if entry[0] == "primary" else other).append(entry[1].strip())
        concepts[concept_id.strip()] = primary + other
    return KnowledgeBase(name, concepts)


def _load_fold(fold: int, data_dir: str | Path | None, profile: str) -> Benchmark:
    name = f"aap-fold{fold}"
    profile = check_profile(FAMILY, name, profile)
    sources = locate_sources(FAMILY, data_dir)
    used = {n: sources[n] for n in (*(fold_file(fold, s) for s in SPLIT_FILES), KB_FILE)}

    def build() -> Benchmark:
        kb = read_aap_kb(sources[KB_FILE])
        rows = {s: read_aap_rows(sources[fold_file(fold, s)], fold, s) for s in SPLIT_FILES}
        splits = {s: [mention for mention, _ in found] for s, found in rows.items()}
        benchmark = Benchmark(
            name=name, splits=splits, kb=kb, card=load_card(FAMILY), source_files=source_digests(used)
        )
        labels = {mention.id: label for found in rows.values() for mention, label in found}
        return apply_profile(benchmark, profile, ProfileInputs(FAMILY, labels=labels))

    return cached_build(f"{name}-{profile}", used, data_dir, build)


@register_benchmark("aap")
def load_aap(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> BenchmarkSuite:
    """The ten folds as one suite (mean over folds, pooled outcomes for tests)."""
    check_profile(FAMILY, "aap", profile)
    locate_sources(FAMILY, data_dir)  # stop now, with the prepare command, if files are missing
    return BenchmarkSuite(name="aap", members=MEMBERS, card=load_card(FAMILY))


@register_benchmark("aap-fold0")
def load_aap_fold0(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load_fold(0, data_dir, profile)


@register_benchmark("aap-fold1")
def load_aap_fold1(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load_fold(1, data_dir, profile)


@register_benchmark("aap-fold2")
def load_aap_fold2(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load_fold(2, data_dir, profile)


@register_benchmark("aap-fold3")
def load_aap_fold3(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load_fold(3, data_dir, profile)


@register_benchmark("aap-fold4")
def load_aap_fold4(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load_fold(4, data_dir, profile)


@register_benchmark("aap-fold5")
def load_aap_fold5(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load_fold(5, data_dir, profile)


@register_benchmark("aap-fold6")
def load_aap_fold6(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load_fold(6, data_dir, profile)


@register_benchmark("aap-fold7")
def load_aap_fold7(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load_fold(7, data_dir, profile)


@register_benchmark("aap-fold8")
def load_aap_fold8(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load_fold(8, data_dir, profile)


@register_benchmark("aap-fold9")
def load_aap_fold9(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    return _load_fold(9, data_dir, profile)
