"""The peers' own processed distributions as sources: exactly the files a paper trained and tested on.

Two layouts, documented in the peers' READMEs and code (``datasets/protocols/``):

- **BioSyn** (``--layout biosyn``; dmis-lab/BioSyn's released data and the output of its
  ``preprocess/``): ``processed_{train,dev,test}/<pmid>.concept`` (or ``processed_traindev``),
  one query a line, ``pmid||start|end||type||mention||cui``; and ``test_dictionary.txt``,
  one ``cui||name`` a line (a cui may list several ids joined by ``|``). As BioSyn trains on
  train+dev, a folder without ``processed_traindev`` has its train and dev merged.
- **GenBioEL / ANGEL** (``--layout genbioel``; the ``processed_data.zip`` both use):
  ``{train,dev,test}.source`` (a JSON list holding the input text, ``... START mention END ...``),
  ``{train,dev,test}.target`` (a JSON list ``[mention + " is", name]``), ``{train,dev,test}label.txt``
  (the gold id string) and ``target_kb.json`` (id -> names); AskAPatient as ``aap/fold{N}/`` with
  one ``aap/target_kb.json``.

``bioel-bench prepare BENCHMARK --layout biosyn|genbioel --from DIR`` copies such a folder into
``<data dir>/processed/<layout>/<benchmark>/``; runs read it with ``--profile biosyn-processed`` or
``genbioel-processed``. Nothing is re-processed: the strings are the files' own.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

from bench.benchmark import DEV, TEST, TRAIN, Benchmark, BenchmarkSuite
from bench.benchmarks.biosyn_composites import split_ids
from bench.benchmarks.profile_biosyn import harness_id
from bench.benchmarks.sources import record_prepared
from bench.benchmarks.textio import iter_lines
from bench.checksum import sha256_file
from bench.errors import BenchError, DataFormatError
from bench.kb import KnowledgeBase
from bench.mention import COMPOSITE_SEPARATORS, Mention
from bench.paths import data_dir as default_data_dir
from bench.protocols import BIOSYN_PROCESSED, GENBIOEL_PROCESSED

LAYOUTS = {"biosyn": BIOSYN_PROCESSED, "genbioel": GENBIOEL_PROCESSED}
_AAP_FOLD = re.compile(r"^aap-fold(\d)$")
_MARKED = re.compile(r"(?:^|\s)START (.*?) END(?:\s|$)")


def processed_root(layout: str, data_dir: str | Path | None = None) -> Path:
    return default_data_dir(data_dir) / "processed" / layout


def prepare_processed(
    benchmark: str, layout: str, from_dir: str | Path, data_dir: str | Path | None, log=print
) -> Path:
    """Copy a processed folder into the data dir (never a link), check that it reads, and stamp its files."""
    if layout not in LAYOUTS:
        raise BenchError(f"unknown layout {layout!r}; choose from official, {', '.join(LAYOUTS)}")
    source = Path(from_dir)
    if not source.is_dir():
        raise BenchError(f"{source}: not a folder (expected the {layout} processed files of {benchmark})")
    target = processed_root(layout, data_dir) / benchmark
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("__MACOSX", "*.token.json", "trie.pkl"))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        record_prepared(target, str(path.relative_to(target)), sha256_file(path))
    loaded = load_processed(benchmark, LAYOUTS[layout], data_dir)
    members = getattr(loaded, "members", None)
    log(
        f"prepared {benchmark} from {layout}'s processed files in {target}"
        + (f" ({len(members)} folds)" if members else "")
    )
    return target


def load_processed(benchmark: str, profile: str, data_dir: str | Path | None = None) -> Benchmark | BenchmarkSuite:
    layout = next(name for name, p in LAYOUTS.items() if p == profile)
    root = processed_root(layout, data_dir)
    if benchmark == "aap" and layout == "genbioel" and (root / "aap").is_dir():
        from bench.benchmarks.aap import MEMBERS

        return BenchmarkSuite(name="aap", members=MEMBERS)
    folder = root / benchmark
    fold = _AAP_FOLD.match(benchmark)
    kb_path = None
    if not folder.is_dir() and fold and layout == "genbioel":
        folder, kb_path = root / "aap" / f"fold{fold.group(1)}", root / "aap" / "target_kb.json"
    if not folder.is_dir():
        raise BenchError(
            f"no {layout} processed files for {benchmark!r} in {root}. Run: bioel-bench prepare {benchmark} "
            f"--layout {layout} --from DIR (the folder of the paper's processed data)"
        )
    if layout == "biosyn":
        return read_biosyn_processed(folder, benchmark)
    return read_genbioel_processed(folder, benchmark, kb_path or folder / "target_kb.json")


# --- BioSyn -----------------------------------------------------------------------------------


def read_biosyn_queries(folder: Path, split: str, kb: KnowledgeBase) -> list[Mention]:
    """The queries of one ``processed_<split>`` folder, files in name order, ids ``<pmid>:<start>-<end>``."""
    mentions: list[Mention] = []
    used: set[str] = set()
    files = sorted(folder.glob("*.concept"))
    if not files:
        raise DataFormatError(folder, None, "no .concept files")
    for path in files:
        for number, line in iter_lines(path):
            if not line.strip():
                continue
            fields = line.strip().split("||")
            if len(fields) != 5:
                raise DataFormatError(
                    path, number, f"expected pmid||start|end||type||mention||cui, found {len(fields)} fields"
                )
            pmid, span, entity_type, text, cui = fields
            start, _, end = span.partition("|")
            if not (start.isdigit() and end.isdigit()):
                raise DataFormatError(path, number, f"span {span!r} is not start|end")
            if not cui.strip() or not text.strip():
                raise DataFormatError(path, number, "empty mention or cui")
            mention_id = f"{pmid}:{start}-{end}"
            if mention_id in used:
                mention_id = f"{mention_id}:{entity_type}"
            if mention_id in used:
                raise DataFormatError(path, number, f"query {mention_id} appears twice")
            used.add(mention_id)
            ids = [kb.resolve_id(harness_id(i)) or harness_id(i) for i in split_ids(cui)[0]]
            if "-1" in ids:
                raise DataFormatError(path, number, "cui -1: the files were not made with --remove_cuiless")
            mention = Mention(
                mention_id,
                text.strip(),
                frozenset(ids),
                doc_id=pmid,
                span=(int(start), int(end)),
                entity_type=entity_type,
                gold_groups=tuple(dict.fromkeys(frozenset({i}) for i in ids)),
            )
            if "|" in text:  # a resolved composite: each piece scored against all ids, as BioSyn's utils.py does
                pieces = [p.strip() for p in text.split("|")]
                parts = tuple(
                    Mention(f"{mention_id}#{i}", piece, mention.gold_ids, doc_id=pmid, span=mention.span)
                    for i, piece in enumerate(pieces, start=1)
                )
                mention = replace(mention, parts=parts)
            mentions.append(mention)
    return mentions


def read_biosyn_dictionary(path: Path) -> KnowledgeBase:
    """``cui||name`` lines: the first id of a cui string is the concept, the others resolve to it."""
    concepts: dict[str, list[str]] = {}
    alt_ids: dict[str, str] = {}
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        cui, sep, name = line.strip().partition("||")
        if not sep or not cui:
            raise DataFormatError(path, number, "expected cui||name")
        ids = [harness_id(i) for i in COMPOSITE_SEPARATORS.split(cui) if i.strip()]
        canonical = next((alt_ids.get(i, i) for i in ids if alt_ids.get(i, i) in concepts), ids[0])
        if name.strip():
            concepts.setdefault(canonical, [])
            if name.strip() not in concepts[canonical]:
                concepts[canonical].append(name.strip())
        for other in ids:
            if other != canonical and other not in concepts:
                alt_ids.setdefault(other, canonical)
    if not concepts:
        raise DataFormatError(path, None, "no cui||name line")
    alt_ids = {a: t for a, t in alt_ids.items() if t in concepts and a not in concepts}
    return KnowledgeBase(f"BioSyn dictionary ({path.name})", concepts, alt_ids)


def read_biosyn_processed(folder: Path, name: str, resolve_with: KnowledgeBase | None = None) -> Benchmark:
    """BioSyn's folder; query ids resolve through its dictionary, or through ``resolve_with`` (another KB)."""
    dictionary = folder / "test_dictionary.txt"
    if not dictionary.is_file():
        raise DataFormatError(dictionary, None, "file not found (BioSyn's evaluation dictionary)")
    kb = read_biosyn_dictionary(dictionary)
    ids = resolve_with or kb
    test = read_biosyn_queries(folder / "processed_test", TEST, ids)
    if (folder / "processed_traindev").is_dir():
        train = read_biosyn_queries(folder / "processed_traindev", TRAIN, ids)
    else:
        train = read_biosyn_queries(folder / "processed_train", TRAIN, ids)
        if (folder / "processed_dev").is_dir():
            train_ids = {m.id for m in train}
            dev = read_biosyn_queries(folder / "processed_dev", DEV, ids)
            train += [m if m.id not in train_ids else _renamed(m, f"dev:{m.id}") for m in dev]
    return Benchmark(
        name, {TRAIN: train, DEV: [], TEST: test}, kb, protocol=BIOSYN_PROCESSED, source_files=_digests(folder)
    )


def _renamed(mention: Mention, new_id: str) -> Mention:
    return replace(
        mention, id=new_id, parts=tuple(replace(p, id=p.id.replace(mention.id, new_id, 1)) for p in mention.parts)
    )


# --- GenBioEL / ANGEL -------------------------------------------------------------------------


def _json_lines(path: Path) -> list[tuple[int, object]]:
    rows = []
    for number, line in iter_lines(path):
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            raise DataFormatError(path, number, f"not a JSON line: {error.msg}") from None
    return rows


def _mention_text(source: str, target: object, path: Path, number: int) -> str:
    marked = _MARKED.search(source)
    if marked:
        return marked.group(1).strip()
    if isinstance(target, list) and target and isinstance(target[0], str) and target[0].endswith(" is"):
        return target[0][: -len(" is")].strip()  # ANGEL's make_syn.py reads it so
    raise DataFormatError(path, number, "no START mention END in the source and no 'mention is' target prefix")


def read_genbioel_split(folder: Path, split: str) -> list[Mention]:
    source_path, target_path, label_path = (
        folder / f"{split}.source",
        folder / f"{split}.target",
        folder / f"{split}label.txt",
    )
    for path in (source_path, target_path, label_path):
        if not path.is_file():
            raise DataFormatError(path, None, "file not found")
    sources, targets = _json_lines(source_path), _json_lines(target_path)
    labels = list(iter_lines(label_path))
    if not len(sources) == len(targets) == len(labels):
        raise DataFormatError(
            folder, None, f"{split}: {len(sources)} sources, {len(targets)} targets, {len(labels)} labels (must agree)"
        )
    mentions = []
    for (number, source), (_, target), (_, label) in zip(sources, targets, labels):
        if not (isinstance(source, list) and source and isinstance(source[0], str)):
            raise DataFormatError(source_path, number, "expected a JSON list holding the input text")
        ids = [i.strip() for i in label.replace("+", "|").split("|") if i.strip()]
        if not ids:
            raise DataFormatError(label_path, number, "empty label")
        text = _mention_text(source[0], target, source_path, number)
        mentions.append(
            Mention(
                f"{split}:{number}",
                text,
                frozenset(ids),
                context=source[0],
                gold_groups=tuple(dict.fromkeys(frozenset({i}) for i in ids)),
            )
        )
    return mentions


def read_target_kb(path: Path) -> KnowledgeBase:
    if not path.is_file():
        raise DataFormatError(path, None, "file not found (the id -> names KB of the processed data)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataFormatError(path, None, f"not a JSON object: {error}") from None
    if not isinstance(data, dict) or not data:
        raise DataFormatError(path, None, "expected a non-empty JSON object {id: [names]}")
    concepts = {}
    for concept_id, names in data.items():
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DataFormatError(path, None, f"id {concept_id!r}: expected a list of names")
        kept = [n.strip() for n in names if n.strip()]
        if kept:  # GenBioEL's KBs may hold ids left empty by de-duplication: nothing can name them
            concepts[concept_id] = kept
    return KnowledgeBase(f"target_kb.json ({path.parent.name})", concepts)


def read_genbioel_processed(folder: Path, name: str, kb_path: Path) -> Benchmark:
    kb = read_target_kb(kb_path)
    splits = {s: read_genbioel_split(folder, s) for s in (TRAIN, DEV, TEST) if (folder / f"{s}.source").is_file()}
    if TEST not in splits:
        raise DataFormatError(folder / "test.source", None, "file not found")
    digests = (
        _digests(folder) | {f"../{kb_path.name}": sha256_file(kb_path)}
        if kb_path.parent != folder
        else _digests(folder)
    )
    return Benchmark(name, splits, kb, protocol=GENBIOEL_PROCESSED, source_files=digests)


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }
