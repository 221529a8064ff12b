"""Suites (the AskAPatient folds): members run, outcomes pooled, mean over members recorded."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import register_demo_halves

from bench.compare import compare_runs
from bench.runner import RunSpec, execute
from bench.tables import runs_table


@pytest.fixture(scope="module", autouse=True)
def registered_suite():
    register_demo_halves()


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
