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
from bench.benchmarks.profiles import ProfileInputs, apply_profile, check_profile, expander_for
from bench.benchmarks.pubtator import pubtator_mentions, read_pubtator
from bench.benchmarks.sources import default_data_dir
from bench.checksum import sha256_file
from bench.paths import datasets_dir
from bench.protocols import DEFAULT_PROFILE, OFFICIAL
from bench.registry import register_benchmark

SPLIT_FILES = {"train": "train.pubtator.txt", "dev": "dev.pubtator.txt", "test": "test.pubtator.txt"}
KB_FILE = "medic_subset.txt"


def load_pubtator_medic(name: str, folder: Path, card: dict, profile: str = OFFICIAL) -> Benchmark:
    """A benchmark from PubTator split files and a MEDIC flat file in ``folder``, under ``profile``."""
    profile = check_profile("demo", name, profile)
    kb = read_medic_flat(folder / KB_FILE, name=f"{name}-kb")
    documents = {split: read_pubtator(folder / filename) for split, filename in SPLIT_FILES.items()}
    splits = {
        split: resolve_gold(pubtator_mentions(documents[split], path=folder / filename), kb, medic_id)
        for split, filename in SPLIT_FILES.items()
    }
    sources = {filename: sha256_file(folder / filename) for filename in (*SPLIT_FILES.values(), KB_FILE)}
    official = Benchmark(name=name, splits=splits, kb=kb, card=card, source_files=sources)
    inputs = ProfileInputs(
        "demo", documents, expander=expander_for("demo", profile), cache_dir=default_data_dir() / "abbreviations"
    )
    return apply_profile(official, profile, inputs)


@register_benchmark("demo")
def load_demo(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    """Load the demo (``data_dir`` is ignored: the demo is part of the repository), NCBI-disease's profiles."""
    folder = datasets_dir() / "demo"
    card = read_card(folder / "README.md")
    return load_pubtator_medic("demo", folder, card, profile)
