"""Seeded mutations of every benchmark's files: each outcome is a clean error or a correct parse.

A file handed to ``prepare --from`` is parsed before any digest of ours exists, so the parsers
themselves must notice damage. For each format we take a small real-layout seed file, apply
seeded mutations (the kinds users and hostile inputs produce: byte flips, line deletions and
duplications, a cut file, an empty file, a BOM, an emptied field, junk in an id field, two
lines swapped) and classify the outcome:

- *clean error*: a :class:`BenchError` whose one-line message names the file;
- *correct parse*: a parse the mutation allows (see ``allowed``): a BOM changes nothing, a
  deleted mention line removes exactly that one mention, a flipped byte can change a string but
  not the number of mentions, ...;
- *crash*: any other exception, or a message over several lines or not naming the file;
- *silent change*: a parse the mutation does not allow (a mention gained or lost unseen).

The last two must never happen. What no parser can see (a digit of an id flipped into another
valid id) is caught later by the prepared-file digests (``test_prepared_integrity.py``).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.benchmarks.aap import read_aap_fold, read_aap_kb
from bench.benchmarks.cometa import cometa_mentions, read_cometa
from bench.benchmarks.ctd import read_ctd_diseases
from bench.benchmarks.medic import read_medic_flat
from bench.benchmarks.medmentions import read_medmentions
from bench.benchmarks.pubtator import MESH_OMIM_IDS, pubtator_mentions, read_pubtator
from bench.benchmarks.snomed import read_snomed_kb
from bench.benchmarks.umls import read_umls
from bench.errors import BenchError
from tests.conftest import SHARED_DATA

FIXTURES = Path(__file__).parent / "fixtures"
CASES_PER_FORMAT = 100
MUTATIONS = (
    "byte_flip",
    "delete_line",
    "duplicate_line",
    "cut_mid_line",
    "empty_file",
    "bom",
    "blank_field",
    "junk_id",
    "swap_lines",
)
JUNK_IDS = ("2971Z2003", "D12", "MESH:", "x" * 50, "C00118 49", "-2")

Signature = Counter  # the parse as a multiset of (text, ids) or (id, names) items


@dataclass(frozen=True)
class Format:
    """One file format: how to make its seed file, parse it, and tell its record lines apart."""

    name: str
    seed: Callable[[Path], Path]  # writes the seed file under a folder, returns it
    parse: Callable[[Path], Signature]
    record_line: re.Pattern[str]  # a line that carries exactly one record (mention or concept)
    id_field: re.Pattern[str]  # where an id sits on a record line (group 1), for junk_id
    separator: str  # field separator, for blank_field
    duplicates_allowed: bool = False  # the format may repeat a record line legitimately


def _first_documents(source: Path, target: Path, count: int) -> Path:
    blocks = source.read_text(encoding="utf-8").split("\n\n")
    target.write_text("\n\n".join(b.strip("\n") for b in blocks[:count]) + "\n", encoding="utf-8")
    return target


def _copy(source: Path, target: Path, lines: int | None = None) -> Path:
    data = source.read_bytes()  # bytes: the AskAPatient folds are Latin-1
    if lines is not None:
        data = b"".join(data.splitlines(keepends=True)[:lines])
    target.write_bytes(data)
    return target


def _mentions(mentions) -> Signature:
    return Counter((m.text, tuple(sorted(m.gold_ids))) for m in mentions)


def _kb(kb) -> Signature:
    return Counter((cid, tuple(kb.concepts[cid])) for cid in kb.concepts)


def _kb_names(kb) -> Signature:
    """A KB whose lines are names (MRCONSO: one atom a line) as (concept, name) pairs."""
    return Counter((cid, name) for cid in kb.concepts for name in kb.concepts[cid])


def _medmentions_seed(folder: Path) -> Path:
    source = FIXTURES / "medmentions" / "medmentions"
    for path in source.glob("corpus_pubtator_pmids_*.txt"):
        _copy(path, folder / path.name)
    return _copy(source / "corpus_pubtator.txt", folder / "corpus_pubtator.txt")


def _medmentions_parse(corpus: Path) -> Signature:
    lists = {split: corpus.parent / f"corpus_pubtator_pmids_{name}.txt" for split, name in MEDMENTIONS_LISTS}
    return sum((_mentions(mentions) for mentions in read_medmentions(corpus, lists).values()), Counter())


MEDMENTIONS_LISTS = (("train", "trng"), ("dev", "dev"), ("test", "test"))


def _snomed_seed(folder: Path) -> Path:
    _copy(FIXTURES / "snomed" / "sct2_Concept_Snapshot.txt", folder / "sct2_Concept_Snapshot.txt")
    return _copy(FIXTURES / "snomed" / "sct2_Description_Snapshot-en.txt", folder / "sct2_Description_Snapshot-en.txt")


def _mrconso_seed(folder: Path) -> Path:
    _copy(FIXTURES / "medmentions" / "umls" / "MRSTY.RRF", folder / "MRSTY.RRF")
    return _copy(FIXTURES / "medmentions" / "umls" / "MRCONSO.RRF", folder / "MRCONSO.RRF")


PUBTATOR_ANNOTATION = re.compile(r"^\d+\t\d+\t\d+\t[^\t]*\t[^\t]*\t[^\t]+")
PUBTATOR_ID = re.compile(r"^\d+\t\d+\t\d+\t[^\t]*\t[^\t]*\t([^\t|+\n]+)")


def _ncbi_seed(folder: Path) -> Path:
    source = SHARED_DATA / "ncbi-disease" / "NCBItestset_corpus.txt"
    if not source.is_file():
        pytest.skip(f"{source} is not here (the shared data folder beside the clone)")
    return _first_documents(source, folder / "NCBItestset_corpus.txt", 4)


def _medic_seed(folder: Path) -> Path:
    source = SHARED_DATA / "ncbi-disease" / "medic_06Jul2012.txt"
    if not source.is_file():
        pytest.skip(f"{source} is not here (the shared data folder beside the clone)")
    return _copy(source, folder / "medic.txt", lines=120)


FORMATS = [
    Format(
        "ncbi-disease PubTator",
        _ncbi_seed,
        lambda p: _mentions(pubtator_mentions(read_pubtator(p, MESH_OMIM_IDS), path=p)),
        PUBTATOR_ANNOTATION,
        PUBTATOR_ID,
        "\t",
    ),
    Format(
        "BC5CDR PubTator",
        lambda d: _first_documents(FIXTURES / "bc5cdr" / "CDR_TestSet.PubTator.txt", d / "CDR_TestSet.PubTator.txt", 3),
        lambda p: _mentions(pubtator_mentions(read_pubtator(p, MESH_OMIM_IDS), path=p)),
        PUBTATOR_ANNOTATION,
        PUBTATOR_ID,
        "\t",
    ),
    Format(
        "MedMentions PubTator",
        _medmentions_seed,
        _medmentions_parse,
        PUBTATOR_ANNOTATION,
        re.compile(r"^\d+\t\d+\t\d+\t[^\t]*\t[^\t]*\t([^\t\n]+)"),
        "\t",
    ),
    Format(
        "COMETA csv",
        lambda d: _copy(FIXTURES / "cometa" / "test.csv", d / "test.csv"),
        lambda p: _mentions(cometa_mentions(read_cometa(p), "test", "specific")),
        re.compile(r"^(?!ID\t)[^\t]+\t"),
        re.compile(r"^[^\t]*\t[^\t]*\t[^\t]*\t([^\t\n]+)"),
        "\t",
    ),
    Format(
        "AskAPatient fold",
        lambda d: _copy(FIXTURES / "aap" / "AskAPatient.fold-0.test.txt", d / "AskAPatient.fold-0.test.txt"),
        lambda p: _mentions(read_aap_fold(p, 0, "test")),
        re.compile(r"^[^\t]+\t[^\t]*\t[^\t]*\S"),
        re.compile(r"^([^\t\n]+)"),
        "\t",
        duplicates_allowed=True,  # the official folds repeat (id, phrase) lines
    ),
    Format(
        "AskAPatient KB json",
        lambda d: _copy(FIXTURES / "aap" / "askapatient.json", d / "askapatient.json"),
        lambda p: _kb(read_aap_kb(p)),
        re.compile(r"^\s*\"\d+\": \["),
        re.compile(r"^\s*\"(\d+)\""),
        ",",
    ),
    Format(
        "MEDIC flat file",
        _medic_seed,
        lambda p: _kb(read_medic_flat(p)),
        re.compile(r"^[^#\n].*\|\|"),
        re.compile(r"^([^|\n]+)"),
        "|",
    ),
    Format(
        "CTD diseases tsv",
        lambda d: _copy(FIXTURES / "ctd" / "CTD_diseases.tsv", d / "CTD_diseases.tsv"),
        lambda p: _kb(read_ctd_diseases(p)),
        re.compile(r"^[^#]"),
        re.compile(r"^[^\t]*\t([^\t\n]+)"),
        "\t",
    ),
    Format(
        "SNOMED CT RF2 descriptions",
        _snomed_seed,
        lambda p: _kb_names(read_snomed_kb(p, p.parent / "sct2_Concept_Snapshot.txt")),
        re.compile(r"^\d+\t"),
        re.compile(r"^[^\t]*\t[^\t]*\t[^\t]*\t[^\t]*\t([^\t\n]+)"),
        "\t",
    ),
    Format(
        "UMLS MRCONSO",
        _mrconso_seed,
        lambda p: _kb_names(read_umls(p, p.parent / "MRSTY.RRF")),
        re.compile(r"^C\d{7}\|"),
        re.compile(r"^([^|\n]+)"),
        "|",
    ),
]


def _lines(data: bytes) -> list[str]:
    """Lines with their ends, decoded byte for byte (Latin-1) so that any file round-trips."""
    return data.decode("latin-1").splitlines(keepends=True)


def _bytes(lines: list[str]) -> bytes:
    return "".join(lines).encode("latin-1")


def mutate(data: bytes, kind: str, rng: random.Random, fmt: Format) -> tuple[bytes, int | None] | None:
    """The mutated bytes and, for a line mutation, the index of the line it touched (None if n/a)."""
    lines = _lines(data)
    records = [i for i, line in enumerate(lines) if fmt.record_line.match(line)]
    if kind == "byte_flip":
        at = rng.randrange(len(data))
        return data[:at] + bytes([data[at] ^ rng.randrange(1, 256)]) + data[at + 1 :], None
    join = _bytes
    if kind == "delete_line":
        at = rng.randrange(len(lines))
        return join(lines[:at] + lines[at + 1 :]), at
    if kind == "duplicate_line":
        at = rng.choice(records)
        return join(lines[: at + 1] + [lines[at]] + lines[at + 1 :]), at
    if kind == "cut_mid_line":
        at = rng.choice([i for i, line in enumerate(lines) if len(line.rstrip("\n")) > 1])
        cut = rng.randrange(1, len(lines[at].rstrip("\n")))
        return join(lines[:at]) + join([lines[at][:cut]]), at
    if kind == "empty_file":
        return b"", None
    if kind == "bom":
        return b"\xef\xbb\xbf" + data, None
    if kind == "blank_field":
        at = rng.choice(records)
        fields = lines[at].rstrip("\n").split(fmt.separator)
        fields[rng.randrange(len(fields))] = ""
        lines[at] = fmt.separator.join(fields) + "\n"
        return join(lines), at
    if kind == "junk_id":
        candidates = [i for i in records if fmt.id_field.match(lines[i])]
        at = rng.choice(candidates)
        match = fmt.id_field.match(lines[at])
        junk = rng.choice(JUNK_IDS)
        lines[at] = lines[at][: match.start(1)] + junk + lines[at][match.end(1) :]
        return join(lines), at
    if kind == "swap_lines":
        at = rng.randrange(len(lines) - 1)
        lines[at], lines[at + 1] = lines[at + 1], lines[at]
        return join(lines), at
    raise AssertionError(kind)


def allowed(kind: str, original: Signature, parsed: Signature, touched_record: bool, fmt: Format) -> bool:
    """Whether a successful parse of the mutated file is a correct one."""
    total, got = sum(original.values()), sum(parsed.values())
    if kind == "bom":
        return parsed == original  # a BOM is an encoding mark, not content
    if kind in ("cut_mid_line", "empty_file", "junk_id"):
        return False  # must be an error
    if parsed == original and kind in ("delete_line", "duplicate_line", "swap_lines"):
        return True  # e.g. a repeated UMLS atom, or a deleted one whose name another atom also gives
    if kind == "delete_line":  # that record is gone; in MRCONSO another atom's spelling may stand in for it
        gone, new = original - parsed, parsed - original
        return touched_record and sum(gone.values()) == 1 and sum(new.values()) <= 1 and got <= total
    if kind == "duplicate_line":
        return fmt.duplicates_allowed and got == total + 1 and not original - parsed
    if kind == "swap_lines":
        return got == total  # which document a line belongs to may change, not how many there are
    return got == total  # byte_flip, blank_field: a string may change, the count may not


def classify(fmt: Format, folder: Path, seed: int) -> tuple[str, str]:
    path = fmt.seed(folder)
    original = fmt.parse(path)
    data = path.read_bytes()
    rng = random.Random(seed)
    kind = MUTATIONS[seed % len(MUTATIONS)]
    mutated, touched = mutate(data, kind, rng, fmt)
    touched_record = touched is not None and bool(fmt.record_line.match(_lines(data)[touched]))
    path.write_bytes(mutated)
    try:
        parsed = fmt.parse(path)
    except BenchError as error:
        message = str(error)
        if "\n" in message or path.name not in message:
            return "crash", f"{kind}: unclear message {message!r}"
        return "clean error", kind
    except Exception as error:  # noqa: BLE001 - a crash is what this test looks for
        return "crash", f"{kind}: {type(error).__name__}: {error}"
    if mutated == data or allowed(kind, original, parsed, touched_record, fmt):
        return "correct parse", kind
    return "silent change", f"{kind} (line {touched}): {sum(original.values())} records became {sum(parsed.values())}"


def test_mutated_files_give_a_clean_error_or_a_correct_parse(tmp_path, capsys):
    outcomes: Counter = Counter()
    problems: list[str] = []
    for fmt in FORMATS:
        for case in range(CASES_PER_FORMAT):
            folder = tmp_path / f"{fmt.name.replace(' ', '_')}-{case}"
            folder.mkdir()
            outcome, detail = classify(fmt, folder, seed=case)
            outcomes[outcome] += 1
            if outcome in ("crash", "silent change"):
                problems.append(f"{fmt.name}, case {case}: {detail}")
    with capsys.disabled():
        print(f"\nfuzz: {sum(outcomes.values())} cases, " + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())))
    assert not problems, "\n".join(problems)
    assert outcomes["clean error"] and outcomes["correct parse"]
