"""The embedded demo benchmark: a small, real slice of NCBI-disease and MEDIC.

It ships in ``datasets/demo/`` in the official formats (PubTator and the MEDIC
flat file), so the demo exercises the same parsers as the full benchmark and
runs in seconds with no download. ``build_demo.py`` made it from the official
files; its card records how.
"""

from __future__ import annotations

from pathlib import Path

from bench.benchmark import Benchmark
from bench.benchmarks.card import read_card
from bench.benchmarks.gold import resolve_gold
from bench.benchmarks.medic import medic_id, read_medic_flat
from bench.benchmarks.pubtator import pubtator_mentions, read_pubtator
from bench.checksum import sha256_file
from bench.errors import BenchError
from bench.paths import datasets_dir
from bench.registry import register_benchmark

SPLIT_FILES = {"train": "train.pubtator.txt", "dev": "dev.pubtator.txt", "test": "test.pubtator.txt"}
KB_FILE = "medic_subset.txt"


def load_pubtator_medic(name: str, folder: Path, card: dict, protocol: str) -> Benchmark:
    """A benchmark from PubTator split files and a MEDIC flat file in ``folder``."""
    kb = read_medic_flat(folder / KB_FILE, name=f"{name}-kb")
    splits = {}
    for split, filename in SPLIT_FILES.items():
        documents = read_pubtator(folder / filename)
        splits[split] = resolve_gold(pubtator_mentions(documents, path=folder / filename), kb, medic_id)
    sources = {filename: sha256_file(folder / filename) for filename in (*SPLIT_FILES.values(), KB_FILE)}
    return Benchmark(name=name, splits=splits, kb=kb, card=card, source_files=sources, protocol=protocol)


@register_benchmark("demo")
def load_demo(data_dir: str | Path | None = None, profile: str = "angel") -> Benchmark:
    """Load the demo (``data_dir`` is ignored: the demo is part of the repository)."""
    if profile != "angel":
        raise BenchError(f"the demo benchmark has only the 'angel' protocol profile, not {profile!r}")
    folder = datasets_dir() / "demo"
    card = read_card(folder / "README.md")
    return load_pubtator_medic("demo", folder, card, profile)
