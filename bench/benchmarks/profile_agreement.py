"""How far a profile rebuilt from the official files agrees with a peer's own processed files, mention by mention.

The ``biosyn`` and ``genbioel`` profiles claim to reproduce what BioSyn's
``preprocess/`` and GenBioEL's ``prepare_dataset.py`` produce. This module checks
the claim against any folder of such files (the peers' published downloads, or
their code run by hand): it reads the folder with the processed-format readers
of :mod:`bench.benchmarks.processed`, pairs the mentions of each split, and counts
those whose string, gold ids and composite parts agree, and those found on one
side only; the KB is compared name by name.

    python -m bench.benchmarks.profile_agreement ncbi-disease --profile biosyn \\
        --layout biosyn --against DIR [--examples 5] [--json]

Pairing: BioSyn's files carry each query's document and span, so queries pair
by ``<pmid>:<start>-<end>`` (BC5CDR: plus the entity type where one span holds
two). GenBioEL's files carry no span, so their lines pair with ours by content
(the same string and gold first, then the same string), whatever their order.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.benchmark import DEV, TEST, TRAIN, Benchmark
from bench.benchmarks.profile_biosyn import harness_id
from bench.benchmarks.textio import iter_lines
from bench.errors import BenchError
from bench.kb import KnowledgeBase
from bench.mention import COMPOSITE_SEPARATORS, Mention


@dataclass
class SplitAgreement:
    """One split: how many mentions pair up, and how many of the pairs agree in each respect."""

    ours: int = 0
    theirs: int = 0
    paired: int = 0
    same_text: int = 0
    same_gold: int = 0
    same_parts: int = 0
    identical: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, text: str, limit: int) -> None:
        found = self.examples.setdefault(kind, [])
        if len(found) < limit:
            found.append(text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ours": self.ours,
            "theirs": self.theirs,
            "paired": self.paired,
            "only_ours": self.ours - self.paired,
            "only_theirs": self.theirs - self.paired,
            "same_text": self.same_text,
            "same_gold": self.same_gold,
            "same_parts": self.same_parts,
            "identical": self.identical,
            "identical_pct": round(100 * self.identical / max(self.ours, self.theirs, 1), 2),
            "examples": self.examples,
        }


def _key(mention: Mention) -> tuple[str, frozenset[str]]:
    return mention.text.strip(), mention.gold_ids


def _pairs_by_id(ours: Sequence[Mention], theirs: Sequence[Mention]) -> list[tuple[Mention | None, Mention | None]]:
    by_id = {m.id: m for m in theirs}
    pairs: list[tuple[Mention | None, Mention | None]] = [(m, by_id.pop(m.id, None)) for m in ours]
    pairs += [(None, m) for m in by_id.values()]
    return pairs


def _pairs_by_content(
    ours: Sequence[Mention], theirs: Sequence[Mention]
) -> list[tuple[Mention | None, Mention | None]]:
    """Lines without spans, paired by content: equal (text, gold) first, then equal text, in file order.

    GenBioEL's NCBI script lists BioSyn's per-document files in directory order, so the line
    order of the two sides need not agree; pairing by content makes the counts independent of it.
    """
    pairs: list[tuple[Mention | None, Mention | None]] = []
    left_ours, left_theirs = list(ours), list(theirs)
    for key in (_key, lambda m: m.text.strip()):
        waiting: dict[Any, list[Mention]] = {}
        for mention in left_theirs:
            waiting.setdefault(key(mention), []).append(mention)
        unpaired = []
        for mention in left_ours:
            found = waiting.get(key(mention))
            if found:
                pairs.append((mention, found.pop(0)))
            else:
                unpaired.append(mention)
        left_ours, left_theirs = unpaired, [m for found in waiting.values() for m in found]
    return pairs + [(m, None) for m in left_ours] + [(None, m) for m in left_theirs]


def compare_split(
    ours: Sequence[Mention], theirs: Sequence[Mention], *, by_span: bool, examples: int = 5
) -> SplitAgreement:
    result = SplitAgreement(ours=len(ours), theirs=len(theirs))
    pairs = _pairs_by_id(ours, theirs) if by_span else _pairs_by_content(ours, theirs)
    for a, b in pairs:
        if a is None or b is None:
            side = "only_ours" if b is None else "only_theirs"
            one = a or b
            assert one is not None
            result.note(side, f"{one.id}: {one.text!r} {sorted(one.gold_ids)}", examples)
            continue
        result.paired += 1
        # the processed-format readers strip the mention (GenBioEL's files keep "lipitor atorvastatin  is")
        text, gold = a.text.strip() == b.text.strip(), a.gold_ids == b.gold_ids
        parts = [p.text.strip() for p in a.parts] == [p.text.strip() for p in b.parts]
        result.same_text += text
        result.same_gold += gold
        result.same_parts += parts
        result.identical += text and gold and parts
        if not text:
            result.note("text", f"{a.id}: ours {a.text!r}, theirs {b.text!r}", examples)
        if not gold:
            result.note("gold", f"{a.id} {a.text!r}: ours {sorted(a.gold_ids)}, theirs {sorted(b.gold_ids)}", examples)
        if text and not parts:
            result.note(
                "parts",
                f"{a.id} {a.text!r}: ours {[p.text for p in a.parts]}, theirs {[p.text for p in b.parts]}",
                examples,
            )
    return result


def compare_kbs(ours: KnowledgeBase, theirs: Sequence[tuple[str, Sequence[str]]], examples: int = 5) -> dict[str, Any]:
    """Our (name, concept) pairs against the peer's ``(name, ids)`` entries, ids resolved through our KB.

    The peer's entries are read as written (a BioSyn dictionary line ``D001072|602081||name`` names
    both ids), so that no reader's own choice of a canonical id enters the comparison.
    """
    # lower-cased on both sides: GenBioEL's BC5CDR and COMETA KBs keep case, and ANGEL's trie
    # lower-cases every name when it is built (trie/create_trie_and_target_kb.py), as our profile does
    a = {(name.lower(), concept) for concept, names in ours.concepts.items() for name in names}
    b = {(name.lower(), ours.resolve_id(i) or i) for name, ids in theirs for i in ids}
    names_a, names_b = {name for name, _ in a}, {name for name, _ in b}
    return {
        "names_ours": len(names_a),
        "names_theirs": len(names_b),
        "names_both": len(names_a & names_b),
        "name_concept_pairs_ours": len(a),
        "name_concept_pairs_theirs": len(b),
        "name_concept_pairs_both": len(a & b),
        "examples": {
            "only_ours": [f"{n!r} {c}" for n, c in sorted(a - b)[:examples]],
            "only_theirs": [f"{n!r} {c}" for n, c in sorted(b - a)[:examples]],
        },
    }


def agreement(
    ours: Benchmark,
    theirs: Benchmark,
    kb_entries: Sequence[tuple[str, Sequence[str]]],
    *,
    by_span: bool,
    examples: int = 5,
) -> dict[str, Any]:
    splits = {
        split: compare_split(
            ours.split(split),
            theirs.split(split),
            by_span=by_span,
            examples=examples,
        ).as_dict()
        for split in (TRAIN, DEV, TEST)
        if ours.split(split) or theirs.split(split)
    }
    return {"splits": splits, "kb": compare_kbs(ours.kb, kb_entries, examples)}


def read_folder(layout: str, folder: Path, ours: Benchmark) -> tuple[Benchmark, list[tuple[str, list[str]]]]:
    """A peer's processed folder as a benchmark whose gold ids resolve through our KB, and its KB entries as written.

    The readers are those of ``--profile biosyn-processed``/``genbioel-processed``; each would
    otherwise resolve ids through the peer's own KB, whose canonical ids can differ from ours.
    """
    from bench.benchmarks import processed

    if layout == "biosyn":
        benchmark = processed.read_biosyn_processed(folder, ours.name, resolve_with=ours.kb)
        entries = []
        for _, line in iter_lines(folder / "test_dictionary.txt"):
            cui, _, name = line.strip().partition("||")
            entries.append(
                (name.strip(), [harness_id(i.strip()) for i in COMPOSITE_SEPARATORS.split(cui) if i.strip()])
            )
        return benchmark, entries
    kb_path = folder / "target_kb.json"
    if not kb_path.is_file():  # an AskAPatient fold: one target_kb.json beside the fold folders
        kb_path = folder.parent / "target_kb.json"
    benchmark = processed.read_genbioel_processed(folder, ours.name, kb_path)

    def ours_id(peer_id: str) -> str:  # GenBioEL writes NCBI's OMIM numbers bare, as BioSyn does
        return ours.kb.resolve_id(peer_id) or ours.kb.resolve_id(harness_id(peer_id)) or peer_id

    resolved = {
        split: [replace(m, gold_ids=frozenset(ours_id(i) for i in m.gold_ids)) for m in mentions]
        for split, mentions in benchmark.splits.items()
    }
    entries = [(name, [ours_id(concept)]) for concept, names in benchmark.kb.concepts.items() for name in names]
    return replace(benchmark, splits=resolved), entries


def render(report: Mapping[str, Any]) -> str:
    from tabulate import tabulate

    rows = [
        [
            split,
            s["ours"],
            s["theirs"],
            s["paired"],
            s["same_text"],
            s["same_gold"],
            s["same_parts"],
            s["identical"],
            f"{s['identical_pct']}%",
        ]
        for split, s in report["splits"].items()
    ]
    lines = [
        tabulate(
            rows,
            ["split", "ours", "theirs", "paired", "same text", "same gold", "same parts", "identical", "identical %"],
            tablefmt="github",
        )
    ]
    kb = report["kb"]
    lines.append(
        f"KB: {kb['names_ours']:,} names ours, {kb['names_theirs']:,} theirs, {kb['names_both']:,} in both; "
        f"(name, concept) pairs {kb['name_concept_pairs_ours']:,} / {kb['name_concept_pairs_theirs']:,}, "
        f"{kb['name_concept_pairs_both']:,} in both"
    )
    for split, s in report["splits"].items():
        for kind, found in s["examples"].items():
            lines += [f"  {split} {kind}: {example}" for example in found]
    for kind, found in kb["examples"].items():
        lines += [f"  kb {kind}: {example}" for example in found]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.benchmarks.profile_agreement", description=__doc__.split("\n")[0]
    )
    parser.add_argument("benchmark")
    parser.add_argument("--profile", required=True, help="our profile to check (biosyn, genbioel, ...)")
    parser.add_argument("--layout", required=True, choices=("biosyn", "genbioel"), help="the peer's file layout")
    parser.add_argument("--against", required=True, type=Path, help="the peer's processed folder")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--examples", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from bench.runner import load_benchmark

    try:
        ours = load_benchmark(args.benchmark, args.profile, args.data_dir)
        theirs, entries = read_folder(args.layout, args.against, ours)
        report = agreement(ours, theirs, entries, by_span=args.layout == "biosyn", examples=args.examples)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
