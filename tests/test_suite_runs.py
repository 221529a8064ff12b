"""Suites (the AskAPatient folds): members run, outcomes pooled, mean over members recorded."""

from __future__ import annotations

import numpy as np
import pytest

from bench.benchmark import Benchmark, BenchmarkSuite
from bench.compare import compare_runs
from bench.registry import BENCHMARKS
from bench.runner import RunSpec, execute, load_benchmark
from bench.tables import runs_table


def _half(which: int):
    def load(data_dir=None, profile="angel") -> Benchmark:
        demo = load_benchmark("demo")
        test = demo.split("test")
        half = test[: len(test) // 2] if which == 0 else test[len(test) // 2 :]
        return Benchmark(f"demo-half{which}", {**demo.splits, "test": half}, demo.kb, protocol=demo.protocol)

    return load


@pytest.fixture(scope="module", autouse=True)
def registered_suite():
    for which in (0, 1):
        if f"demo-half{which}" not in BENCHMARKS:
            BENCHMARKS.register(f"demo-half{which}", _half(which))
    if "demo-halves" not in BENCHMARKS:
        BENCHMARKS.register(
            "demo-halves",
            lambda data_dir=None, profile="angel": BenchmarkSuite("demo-halves", ("demo-half0", "demo-half1")),
        )


def test_suite_pools_member_outcomes_and_records_the_member_mean(tmp_path):
    pooled = execute(RunSpec("tfidf", "demo-halves", ks=(1, 5)), tmp_path, log=lambda *a: None)
    members = [execute(RunSpec("tfidf", f"demo-half{i}", ks=(1, 5)), tmp_path, log=lambda *a: None) for i in (0, 1)]
    whole = execute(RunSpec("tfidf", "demo", ks=(1, 5)), tmp_path, log=lambda *a: None)
    assert pooled.metrics["n_mentions"] == whole.metrics["n_mentions"] == 195
    # Pooled accuracy equals the accuracy on the union of the members' mentions.
    assert pooled.metrics["acc"]["union"]["1"] == pytest.approx(whole.metrics["acc"]["union"]["1"])
    mean = np.mean([m.metrics["acc"]["union"]["5"] for m in members])
    assert pooled.metrics["acc_member_mean"]["union"]["5"] == pytest.approx(mean)
    assert set(pooled.metrics["members"]) == {"demo-half0", "demo-half1"}
    assert all(r["id"].startswith(("demo-half0/", "demo-half1/")) for r in pooled.rows)
    # Tables report a suite by its member mean.
    assert f"{100 * mean:.1f}" in runs_table([pooled], ks=(5,))


def test_two_suite_runs_compare_on_pooled_outcomes(tmp_path):
    a = execute(RunSpec("exact", "demo-halves", ks=(1,)), tmp_path, log=lambda *a: None)
    b = execute(RunSpec("tfidf", "demo-halves", ks=(1,)), tmp_path, log=lambda *a: None)
    result = compare_runs(a, b, ks=(1,), n_resamples=500)
    assert result["n_mentions"] == 195
    assert result["comparisons"][0]["n01"] > 0
