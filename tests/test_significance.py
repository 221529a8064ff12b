"""Tests for bench.significance: hand-computed cases and cross-checks with scipy."""

from __future__ import annotations

import math
import warnings
from math import comb

import numpy as np
import pytest
from scipy import stats

from bench import significance
from bench.significance import (
    PairedComparison,
    SeedAggregate,
    aggregate_seeds,
    approximate_randomization,
    compare_paired,
    holm_bonferroni,
    mcnemar_exact,
    paired_bootstrap_ci,
    seed_level_test,
)

# Small resample counts keep the suite fast; accuracy claims below are loose
# enough to hold at this Monte-Carlo resolution.
FAST = 2_000


def make_pair(n11: int, n01: int, n10: int, n00: int) -> tuple[np.ndarray, np.ndarray]:
    """Build paired outcomes with exactly the given contingency counts.

    n01 = a wrong & b right, n10 = a right & b wrong.
    """
    a = np.array([True] * n11 + [False] * n01 + [True] * n10 + [False] * n00)
    b = np.array([True] * n11 + [True] * n01 + [False] * n10 + [False] * n00)
    return a, b


def shuffled_pair(n11: int, n01: int, n10: int, n00: int, seed: int = 0):
    a, b = make_pair(n11, n01, n10, n00)
    perm = np.random.default_rng(seed).permutation(a.size)
    return a[perm], b[perm]


# --------------------------------------------------------------------------
# McNemar
# --------------------------------------------------------------------------


def test_mcnemar_hand_computed() -> None:
    a, b = shuffled_pair(n11=30, n01=1, n10=9, n00=5)
    n01, n10, p = mcnemar_exact(a, b)
    assert (n01, n10) == (1, 9)
    hand = 2 * sum(comb(10, i) for i in range(2)) / 2**10
    assert hand == pytest.approx(0.021484375)
    assert p == pytest.approx(hand, abs=1e-12)
    assert p == pytest.approx(stats.binomtest(1, 10, 0.5).pvalue, abs=1e-12)


def test_mcnemar_direction_counts_and_symmetry() -> None:
    a, b = make_pair(n11=10, n01=7, n10=2, n00=3)
    n01, n10, p = mcnemar_exact(a, b)
    assert (n01, n10) == (7, 2)
    n01_r, n10_r, p_r = mcnemar_exact(b, a)
    assert (n01_r, n10_r) == (2, 7)
    assert p == pytest.approx(p_r)
    assert p == pytest.approx(stats.binomtest(7, 9, 0.5).pvalue)


def test_mcnemar_balanced_discordance_is_one() -> None:
    a, b = make_pair(n11=5, n01=4, n10=4, n00=5)
    assert mcnemar_exact(a, b)[2] == pytest.approx(1.0)


def test_mcnemar_no_discordance() -> None:
    a, b = make_pair(n11=8, n01=0, n10=0, n00=4)
    assert mcnemar_exact(a, b) == (0, 0, 1.0)


def test_mcnemar_accepts_zero_one_ints() -> None:
    a, b = make_pair(n11=30, n01=1, n10=9, n00=5)
    assert mcnemar_exact(a.astype(int), b.astype(float)) == mcnemar_exact(a, b)


# --------------------------------------------------------------------------
# Paired bootstrap
# --------------------------------------------------------------------------


def test_bootstrap_ci_contains_observed_diff() -> None:
    a, b = shuffled_pair(n11=60, n01=25, n10=10, n00=5)
    diff = b.mean() - a.mean()
    lo, hi = paired_bootstrap_ci(a, b, n_resamples=FAST, seed=1)
    assert lo < diff < hi
    assert lo > 0.0  # 25 vs 10 discordant out of 100 is a clear win for b


def test_bootstrap_ci_narrower_with_more_data() -> None:
    small = shuffled_pair(n11=60, n01=20, n10=10, n00=10)
    large = shuffled_pair(n11=600, n01=200, n10=100, n00=100)
    lo_s, hi_s = paired_bootstrap_ci(*small, n_resamples=FAST, seed=0)
    lo_l, hi_l = paired_bootstrap_ci(*large, n_resamples=FAST, seed=0)
    # Width scales like 1/sqrt(n): 10x data -> ~3.2x narrower.
    assert (hi_l - lo_l) < 0.5 * (hi_s - lo_s)


def test_bootstrap_ci_wider_at_higher_confidence() -> None:
    a, b = shuffled_pair(n11=60, n01=20, n10=10, n00=10)
    lo90, hi90 = paired_bootstrap_ci(a, b, n_resamples=FAST, confidence=0.90, seed=0)
    lo99, hi99 = paired_bootstrap_ci(a, b, n_resamples=FAST, confidence=0.99, seed=0)
    assert lo99 < lo90 and hi99 > hi90


def test_bootstrap_ci_reproducible_with_seed() -> None:
    a, b = shuffled_pair(n11=60, n01=20, n10=10, n00=10)
    first = paired_bootstrap_ci(a, b, n_resamples=FAST, seed=42)
    second = paired_bootstrap_ci(a, b, n_resamples=FAST, seed=42)
    other = paired_bootstrap_ci(a, b, n_resamples=FAST, seed=43)
    assert first == second
    assert first != other


def test_bootstrap_ci_matches_normal_approximation() -> None:
    # For a mean of paired differences the percentile CI should be close to
    # d +- 1.96 * sd(d) / sqrt(n) with n = 1000.
    a, b = shuffled_pair(n11=600, n01=200, n10=100, n00=100)
    d = b.astype(float) - a.astype(float)
    half = 1.959964 * d.std(ddof=1) / math.sqrt(d.size)
    lo, hi = paired_bootstrap_ci(a, b, n_resamples=FAST, seed=0)
    assert lo == pytest.approx(d.mean() - half, abs=0.01)
    assert hi == pytest.approx(d.mean() + half, abs=0.01)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((5, 0, 0, 3), 0.0),  # identical systems
        ((0, 4, 0, 0), 1.0),  # b right everywhere a is wrong
        ((0, 0, 4, 0), -1.0),
    ],
)
@pytest.mark.parametrize("method", ["percentile", "BCa"])
def test_bootstrap_ci_degenerate(
    counts: tuple[int, int, int, int],
    expected: float,
    method: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = make_pair(*counts)

    def _must_not_be_called(*args: object, **kwargs: object) -> None:
        raise AssertionError("scipy.stats.bootstrap called on degenerate data")

    # scipy warns and returns NaN here for BCa, so it must not be reached.
    monkeypatch.setattr(significance.stats, "bootstrap", _must_not_be_called)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lo, hi = paired_bootstrap_ci(a, b, n_resamples=FAST, method=method)
    assert (lo, hi) == (expected, expected)


def test_bootstrap_rejects_bad_confidence() -> None:
    a, b = make_pair(5, 2, 1, 2)
    with pytest.raises(ValueError, match="confidence"):
        paired_bootstrap_ci(a, b, confidence=1.5)


# --------------------------------------------------------------------------
# Approximate randomization
# --------------------------------------------------------------------------


def test_randomization_small_p_for_clearly_better_system() -> None:
    a, b = shuffled_pair(n11=100, n01=40, n10=5, n00=20)
    p = approximate_randomization(a, b, n_resamples=FAST, seed=0)
    assert p < 0.01
    # Agrees in magnitude with the exact McNemar test on the same data.
    assert mcnemar_exact(a, b)[2] < 0.01


def test_randomization_large_p_for_similar_systems() -> None:
    a, b = shuffled_pair(n11=100, n01=11, n10=10, n00=20)
    p = approximate_randomization(a, b, n_resamples=FAST, seed=0)
    assert p > 0.5


def test_randomization_no_discordance() -> None:
    a, b = make_pair(n11=10, n01=0, n10=0, n00=3)
    assert approximate_randomization(a, b) == 1.0


def test_randomization_with_one_discordant_pair_is_p_1() -> None:
    """Both swaps of a single discordant mention give a difference of the same size (found by make demo)."""
    a = np.array([True, True, False, True])
    b = np.array([True, True, True, True])
    assert approximate_randomization(a, b) == 1.0
    assert compare_paired(a, b, n_resamples=200).randomization_p == 1.0


def test_randomization_exact_for_few_discordant_pairs() -> None:
    # With 6 discordant mentions all 2**6 sign flips are enumerated, so the
    # p-value is the exact sign-test value: P(|#b wins - 3| >= 3) = 2/64.
    a, b = make_pair(n11=10, n01=6, n10=0, n00=4)
    p = approximate_randomization(a, b, n_resamples=FAST)
    assert p == pytest.approx(2 / 64)
    assert p == pytest.approx(mcnemar_exact(a, b)[2])


def test_randomization_reproducible_with_seed() -> None:
    a, b = shuffled_pair(n11=100, n01=30, n10=18, n00=20)
    p1 = approximate_randomization(a, b, n_resamples=FAST, seed=7)
    p2 = approximate_randomization(a, b, n_resamples=FAST, seed=7)
    assert p1 == p2
    assert 0.0 < p1 <= 1.0


# --------------------------------------------------------------------------
# compare_paired and input validation
# --------------------------------------------------------------------------


def test_compare_paired_fields() -> None:
    a, b = shuffled_pair(n11=60, n01=25, n10=10, n00=5)
    res = compare_paired(a, b, n_resamples=FAST, seed=3)
    assert isinstance(res, PairedComparison)
    assert res.n == 100
    assert res.acc_a == pytest.approx(0.70)
    assert res.acc_b == pytest.approx(0.85)
    assert res.diff == pytest.approx(0.15)
    assert (res.n01, res.n10) == (25, 10)
    assert res.mcnemar_p == pytest.approx(stats.binomtest(25, 35, 0.5).pvalue)
    assert (res.ci_low, res.ci_high) == paired_bootstrap_ci(a, b, n_resamples=FAST, confidence=0.95, seed=3)
    assert res.randomization_p == approximate_randomization(a, b, n_resamples=FAST, seed=3)
    assert res.confidence == 0.95
    d = res.to_dict()
    assert set(d) == {
        "n",
        "acc_a",
        "acc_b",
        "diff",
        "n01",
        "n10",
        "mcnemar_p",
        "ci_low",
        "ci_high",
        "confidence",
        "randomization_p",
    }
    assert d["n01"] == 25 and d["diff"] == res.diff
    with pytest.raises(AttributeError):
        res.n = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ([True, False], [True], "equal length"),
        ([], [], "non-empty"),
        ([[True, False]], [[True, False]], "1-D"),
        ([0, 1, 2], [0, 1, 1], "0/1"),
        ([0.0, 0.5], [1.0, 0.0], "0/1"),
        ([0.0, float("nan")], [1.0, 0.0], "0/1"),
        (["x", "y"], ["x", "y"], "0/1"),
    ],
)
@pytest.mark.parametrize("func", [mcnemar_exact, paired_bootstrap_ci, approximate_randomization, compare_paired])
def test_input_validation(func, a, b, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        func(a, b)


# --------------------------------------------------------------------------
# Holm-Bonferroni
# --------------------------------------------------------------------------


def test_holm_hand_worked_example() -> None:
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, max(0.04*1, 0.06)=0.06
    adj = holm_bonferroni([0.01, 0.04, 0.03, 0.005])
    assert adj == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_capping_and_single() -> None:
    # 0.6*2 = 1.2 -> capped at 1; 0.7*1 = 0.7 but monotonicity lifts it to 1.
    assert holm_bonferroni([0.6, 0.7]) == pytest.approx([1.0, 1.0])
    assert holm_bonferroni([0.3, 0.6]) == pytest.approx([0.6, 0.6])
    assert holm_bonferroni([0.04]) == pytest.approx([0.04])
    assert holm_bonferroni([]) == []


def test_holm_monotone_and_at_least_raw() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.2, size=25)
    adj = np.array(holm_bonferroni(p.tolist()))
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0)
    assert np.all(adj >= p)
    assert np.all(adj <= 1.0)
    assert np.all(adj <= np.minimum(1.0, p * p.size) + 1e-15)  # never worse than Bonferroni


def test_holm_ties_keep_input_order() -> None:
    assert holm_bonferroni([0.02, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])


@pytest.mark.parametrize("bad", [[0.01, float("nan")], [-0.1], [1.2]])
def test_holm_rejects_invalid(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        holm_bonferroni(bad)


# --------------------------------------------------------------------------
# Seeds
# --------------------------------------------------------------------------


def test_aggregate_seeds_matches_numpy() -> None:
    vals = [0.81, 0.79, 0.84, 0.80]
    agg = aggregate_seeds(vals)
    assert isinstance(agg, SeedAggregate)
    assert agg.mean == pytest.approx(np.mean(vals))
    assert agg.sd == pytest.approx(np.std(vals, ddof=1))
    assert agg.sd != pytest.approx(np.std(vals, ddof=0))
    assert agg.n == 4
    assert agg.values == (0.81, 0.79, 0.84, 0.80)


def test_aggregate_seeds_single_and_empty() -> None:
    assert aggregate_seeds([0.7]) == SeedAggregate(mean=0.7, sd=0.0, n=1, values=(0.7,))
    with pytest.raises(ValueError):
        aggregate_seeds([])
    with pytest.raises(ValueError):
        aggregate_seeds([0.5, float("nan")])


def test_seed_level_test_matches_scipy() -> None:
    a = [0.80, 0.82, 0.79, 0.81, 0.83]
    b = [0.83, 0.84, 0.80, 0.85, 0.84]
    p = seed_level_test(a, b)
    assert p == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert 0.0 < p < 0.05
    assert seed_level_test(b, a) == pytest.approx(p)


def test_seed_level_test_zero_and_constant_differences() -> None:
    assert seed_level_test([0.5, 0.6, 0.7], [0.5, 0.6, 0.7]) == 1.0
    # Constant non-zero difference: infinite t, p = 0, without scipy's
    # zero-variance warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert seed_level_test([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]) == 0.0


@pytest.mark.parametrize(("a", "b"), [([0.5, 0.6], [0.5]), ([0.5], [0.6]), ([], [])])
def test_seed_level_test_invalid(a: list[float], b: list[float]) -> None:
    with pytest.raises(ValueError):
        seed_level_test(a, b)
