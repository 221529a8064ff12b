"""Shared fixtures: a tiny KB and benchmark built in memory, and CLI helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.benchmark import Benchmark
from bench.kb import KnowledgeBase
from bench.mention import Mention

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread (and do not fight a shared machine); restored afterwards.

    Modules that train tiny models ask for it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_kb() -> KnowledgeBase:
    return KnowledgeBase(
        "tiny",
        {
            "D1": ["breast cancer", "mammary carcinoma"],
            "D2": ["ovarian cancer", "ovary neoplasm"],
            "D3": ["cold", "common cold"],
            "D4": ["cold", "cold sensation"],  # "cold" is ambiguous
        },
        {"OMIM:1": "D1"},
    )


@pytest.fixture
def tiny_benchmark(tiny_kb: KnowledgeBase) -> Benchmark:
    train = [Mention("t1", "breast cancer", frozenset({"D1"})), Mention("t2", "ovary neoplasm", frozenset({"D2"}))]
    test = [
        Mention("e1", "Breast Cancer", frozenset({"D1"})),
        Mention("e2", "ovarian carcinoma", frozenset({"D2"})),
        Mention("e3", "cold", frozenset({"D3"})),
    ]
    return Benchmark("tiny", {"train": train, "dev": [], "test": test}, tiny_kb)


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m bench ARGS`` in a subprocess, as a user would."""
    full_env = {**os.environ, "BIOEL_BENCH_PROGRESS": "0", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or REPO,
        timeout=600,
    )


def assert_card_values_match(card_value, computed, where: str) -> None:
    """Every value written on a dataset card equals what the harness computes (card may list a subset)."""
    if isinstance(card_value, dict):
        assert isinstance(computed, dict), where
        for key, value in card_value.items():
            assert key in computed, f"{where}.{key} is on the card but not in the stats"
            assert_card_values_match(value, computed[key], f"{where}.{key}")
    else:
        assert card_value == computed, f"{where}: card says {card_value!r}, stats compute {computed!r}"


def register_demo_halves() -> None:
    """Register ``demo-half0``/``demo-half1`` (the demo test split cut in two) and the suite ``demo-halves``."""
    from bench.benchmark import BenchmarkSuite
    from bench.registry import BENCHMARKS
    from bench.runner import load_benchmark

    def half(which: int):
        def load(data_dir=None, profile="angel") -> Benchmark:
            demo = load_benchmark("demo")
            test = demo.split("test")
            part = test[: len(test) // 2] if which == 0 else test[len(test) // 2 :]
            return Benchmark(f"demo-half{which}", {**demo.splits, "test": part}, demo.kb, protocol=demo.protocol)

        return load

    for which in (0, 1):
        if f"demo-half{which}" not in BENCHMARKS:
            BENCHMARKS.register(f"demo-half{which}", half(which))
    if "demo-halves" not in BENCHMARKS:
        BENCHMARKS.register(
            "demo-halves",
            lambda data_dir=None, profile="angel": BenchmarkSuite("demo-halves", ("demo-half0", "demo-half1")),
        )


def assert_card_figures(card: str, data_dir: Path) -> list[str]:
    """Every variant and profile on a card has the stats the harness computes now.

    A profile whose abbreviation detector differs from this machine's (the card was written with
    another one) cannot be compared; those are returned, and every other one must match exactly.
    """
    from bench.benchmarks.card import read_card
    from bench.benchmarks.card_figures import BASELINES, card_path, card_stats, profiles_of
    from bench.runner import load_benchmark
    from bench.stats import benchmark_stats

    written = read_card(card_path(card))
    assert set(written["baselines"]) == set(BASELINES)
    skipped = []
    for variant, per_profile in written["stats"].items():
        assert list(per_profile) == profiles_of(card, variant), variant
        for system in BASELINES:
            assert set(written["baselines"][system][variant]) == set(per_profile), (system, variant)
        for profile, figures in per_profile.items():
            computed = card_stats(benchmark_stats(load_benchmark(variant, profile, data_dir)))
            if computed["expander"] != figures["expander"]:
                skipped.append(f"{variant}/{profile}: card written with {figures['expander']}")
                continue
            assert_card_values_match(figures, computed, f"{variant}.{profile}")
            assert figures == computed, f"{variant}.{profile}"
    return skipped
