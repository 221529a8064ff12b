"""The embedded demo: its card tells the truth, and it can be rebuilt byte for byte."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from bench.benchmark import Benchmark
from bench.benchmarks import build_demo
from bench.benchmarks.card import read_card
from bench.benchmarks.gold import missing_gold
from bench.errors import BenchError
from bench.registry import BENCHMARKS

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "datasets" / "demo"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA_FILES = ("train.pubtator.txt", "dev.pubtator.txt", "test.pubtator.txt", "medic_subset.txt")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo() -> Benchmark:
    return BENCHMARKS.get("demo")(profile="official")


@pytest.fixture(scope="module")
def card() -> dict:
    return read_card(DEMO / "README.md")


def test_card_names_the_benchmark(demo: Benchmark, card: dict) -> None:
    assert card["name"] == demo.name == "demo"
    assert card["protocol"] == demo.protocol
    assert demo.card == card


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_mentions_and_documents_per_split(demo: Benchmark, card: dict, split: str) -> None:
    mentions = demo.split(split)
    assert len(mentions) == card["splits"][split]["mentions"]
    assert len({m.doc_id for m in mentions}) == card["splits"][split]["documents"]
    assert card["build"]["documents"][split] == card["splits"][split]["documents"]


def test_splits_are_the_three_on_the_card(demo: Benchmark, card: dict) -> None:
    assert set(demo.splits) == set(card["splits"]) == {"train", "dev", "test"}


def test_composite_mentions(demo: Benchmark, card: dict) -> None:
    composite = sum(m.composite for mentions in demo.splits.values() for m in mentions)
    assert composite == card["composite_mentions"]


def test_kb_figures(demo: Benchmark, card: dict) -> None:
    kb = card["kb"]
    assert demo.kb.n_concepts == kb["concepts"]
    assert demo.kb.n_names == kb["names"]
    assert demo.kb.closed_world is kb["closed_world"]
    gold = {i for mentions in demo.splits.values() for m in mentions for i in m.gold_ids}
    assert len(gold) == kb["needed_concepts"]
    assert kb["needed_concepts"] + kb["distractor_concepts"] == kb["concepts"]


def test_card_build_settings_match_the_builder(card: dict) -> None:
    assert card["build"]["seed"] == build_demo.SEED
    assert card["build"]["documents"] == build_demo.DOCUMENTS
    assert card["build"]["distractor_concepts"] == card["kb"]["distractor_concepts"] == build_demo.DISTRACTORS


def test_every_gold_id_is_in_the_kb(demo: Benchmark) -> None:
    for split, mentions in demo.splits.items():
        assert missing_gold(mentions, demo.kb) == [], split
        assert all(m.gold_ids for m in mentions), split


def test_source_files_match_their_sha256(demo: Benchmark, card: dict) -> None:
    assert set(demo.source_files) == set(DATA_FILES) == set(card["files"])
    for name, digest in demo.source_files.items():
        assert sha256(DEMO / name) == digest, name


def test_readme_table_agrees_with_the_header(card: dict) -> None:
    text = (DEMO / "README.md").read_text(encoding="utf-8")
    rows = dict(
        (m.group(1), (int(m.group(2)), int(m.group(3))))
        for m in re.finditer(r"^\| (train|dev|test) \| (\d+) \| (\d+) \|$", text, flags=re.MULTILINE)
    )
    assert rows == {s: (v["documents"], v["mentions"]) for s, v in card["splits"].items()}


def test_demo_has_ncbi_diseases_profiles() -> None:
    official = BENCHMARKS.get("demo")(profile="official")
    for profile in ("biosyn", "genbioel", "genbioel-fixed"):
        prepared = BENCHMARKS.get("demo")(profile=profile)
        assert prepared.protocol == profile and prepared.steps
        assert len(prepared.split("test")) == len(official.split("test"))  # MEDIC covers every demo test id
    assert BENCHMARKS.get("demo")().protocol == "genbioel"  # the default profile
    with pytest.raises(BenchError, match="unknown protocol profile"):
        BENCHMARKS.get("demo")(profile="bogus")


# --- against the official files, where this machine has them -------------------------------

needs_shared_data = pytest.mark.skipif(
    not (SHARED_DATA / "ncbi-disease").is_dir(),
    reason=f"official NCBI-disease/MEDIC files not found at {SHARED_DATA / 'ncbi-disease'}",
)


@needs_shared_data
def test_card_source_digests_match_the_official_files(card: dict) -> None:
    for source in card["sources"]:
        assert sha256(SHARED_DATA / source["file"]) == source["sha256"], source["file"]
    assert {s["file"] for s in card["sources"]} == {*build_demo.OFFICIAL.values(), build_demo.MEDIC}


@needs_shared_data
def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    build_demo.build(SHARED_DATA, target)
    assert sorted(p.name for p in target.iterdir()) == sorted(DATA_FILES)
    for name in DATA_FILES:
        assert (target / name).read_bytes() == (DEMO / name).read_bytes(), name
