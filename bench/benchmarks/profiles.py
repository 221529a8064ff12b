"""Protocol profiles (placeholder for the angel profile; biosyn follows)."""

from __future__ import annotations

from bench.benchmark import Benchmark


def apply_profile(benchmark: Benchmark, profile: str) -> Benchmark:
    return benchmark
