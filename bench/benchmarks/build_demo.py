"""Build the embedded demo benchmark from the official NCBI-disease and MEDIC files.

    python -m bench.benchmarks.build_demo --from ../shared/data

A seeded sample of whole documents from each official split (so spans and
contexts stay intact), the MEDIC lines of every concept their mentions need,
and a seeded sample of distractor concepts, all written in the official formats
byte for byte (lines are copied, never re-serialised). The card's figures are
computed by loading the result with the harness's own loader.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from bench.benchmarks.demo import KB_FILE, SPLIT_FILES
from bench.benchmarks.medic import medic_id
from bench.benchmarks.textio import iter_lines
from bench.checksum import sha256_file
from bench.paths import datasets_dir

OFFICIAL = {
    "train": "ncbi-disease/NCBItrainset_corpus.txt",
    "dev": "ncbi-disease/NCBIdevelopset_corpus.txt",
    "test": "ncbi-disease/NCBItestset_corpus.txt",
}
MEDIC = "ncbi-disease/medic_06Jul2012.txt"
DOCUMENTS = {"train": 40, "dev": 10, "test": 20}
DISTRACTORS = 1500
SEED = 2025


def _blocks(path: Path) -> list[list[str]]:
    """A PubTator file as blocks of lines, one per document (first copy of a PMID)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for _, line in iter_lines(path):
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    seen: set[str] = set()
    unique = []
    for block in blocks:
        pmid = block[0].split("|", 1)[0]
        if pmid not in seen:
            seen.add(pmid)
            unique.append(block)
    return unique


def build(source: Path, target: Path) -> None:
    rng = random.Random(SEED)
    target.mkdir(parents=True, exist_ok=True)
    gold_ids: set[str] = set()
    for split, relative in OFFICIAL.items():
        blocks = _blocks(source / relative)
        chosen = sorted(rng.sample(range(len(blocks)), DOCUMENTS[split]))
        lines: list[str] = []
        for index in chosen:
            for line in blocks[index]:
                fields = line.split("\t")
                if len(fields) >= 6:
                    gold_ids.update(medic_id(t) for t in fields[5].replace("+", "|").split("|"))
            lines.extend(blocks[index])
            lines.append("")
        (target / SPLIT_FILES[split]).write_text("\n".join(lines) + "\n", encoding="utf-8")

    medic_lines = [line for _, line in iter_lines(source / MEDIC) if line.strip()]
    needed, others = [], []
    for position, line in enumerate(medic_lines):
        ids = {medic_id(t) for t in line.split("||", 1)[0].split("|")}
        (needed if ids & gold_ids else others).append(position)
    keep = set(needed) | set(rng.sample(others, DISTRACTORS))
    (target / KB_FILE).write_text("\n".join(medic_lines[i] for i in sorted(keep)) + "\n", encoding="utf-8")
    print(f"wrote {target}: {len(needed)} needed + {DISTRACTORS} distractor concepts")
    print("source sha256:")
    for relative in (*OFFICIAL.values(), MEDIC):
        print(f"  {sha256_file(source / relative)}  {relative}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", type=Path, required=True, help="folder with ncbi-disease/")
    parser.add_argument("--to", dest="target", type=Path, default=datasets_dir() / "demo")
    args = parser.parse_args(argv)
    build(args.source, args.target)


if __name__ == "__main__":
    main()
