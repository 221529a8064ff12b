"""Paired significance tests for comparing two entity-linking systems.

Why this module exists
----------------------
Two linkers evaluated on the *same* test set produce paired binary
outcomes: for every gold mention, each system either links it correctly
(True) or not (False).  Treating the two accuracies as independent samples
(e.g. an unpaired t-test or overlapping confidence intervals) throws away
the pairing and is badly miscalibrated, because most mentions are easy or
hard for *both* systems.  All tests here therefore work on the per-mention
pairs:

* **McNemar's exact test** -- only discordant mentions (one system right,
  the other wrong) carry information about which system is better; under
  the null each discordant mention is a fair coin, so the exact test is a
  two-sided binomial test on the discordant counts.
* **Paired bootstrap confidence interval** of the accuracy difference
  (Koehn, 2004; Berg-Kirkpatrick et al., 2012): resample mentions with
  replacement, keeping both systems' outcomes for a mention together, to
  report *how large* the difference plausibly is, not just whether it is
  non-zero.
* **Approximate randomization** (paired permutation / sign-flip test;
  Noreen, 1989; recommended by Berg-Kirkpatrick et al., 2012 and Dror et
  al., 2018): randomly swap the two systems' outcomes within mentions to
  obtain the null distribution of the accuracy difference without any
  distributional assumption.
* **Holm-Bonferroni** step-down correction: benchmark tables compare many
  system pairs over many datasets, and Dror et al. (2018) show that
  uncorrected multiple comparisons in NLP produce spurious "significant"
  wins.  Holm controls the family-wise error rate, is uniformly more
  powerful than plain Bonferroni and needs no independence assumption.
* **Seed aggregation and a paired t-test across seeds**: when systems are
  trained with several random seeds, run-to-run variance is a separate
  source of uncertainty that mention-level tests do not capture; seeds
  sharing an index are paired (same data split / seed value).

The statistical machinery itself is delegated to :mod:`scipy.stats`
(``binomtest``, ``bootstrap``, ``permutation_test``, ``ttest_rel``); only
the Holm adjustment, which is a few lines of arithmetic, is written here.

References
----------
Koehn (2004), "Statistical Significance Tests for Machine Translation
Evaluation", EMNLP.
Berg-Kirkpatrick, Burkett & Klein (2012), "An Empirical Investigation of
Statistical Significance in NLP", EMNLP-CoNLL.
Dror, Baumer, Shlomov & Reichart (2018), "The Hitchhiker's Guide to
Testing Statistical Significance in Natural Language Processing", ACL.
Holm (1979), "A Simple Sequentially Rejective Multiple Test Procedure",
Scandinavian Journal of Statistics.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "PairedComparison",
    "SeedAggregate",
    "aggregate_seeds",
    "approximate_randomization",
    "compare_paired",
    "holm_bonferroni",
    "mcnemar_exact",
    "paired_bootstrap_ci",
    "seed_level_test",
]

ArrayLike = npt.ArrayLike

# Upper bound on the number of floats materialised per vectorised batch of
# resamples (resamples x mentions).  scipy would otherwise build the full
# n_resamples x n matrix at once, which for 10k resamples of a 100k-mention
# test set is ~8 GB.
_MAX_BATCH_ELEMENTS = 5_000_000


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _rng_kwargs(func: Any, seed: int | None) -> dict[str, Any]:
    """Return the seeding keyword accepted by the installed scipy.

    scipy >= 1.15 takes ``rng=`` (and deprecates ``random_state=`` for these
    functions); older releases only know ``random_state=``.  Passing a
    ``numpy.random.Generator`` works with both, so results are reproducible
    for a given seed either way.
    """
    generator = np.random.default_rng(seed)
    params = inspect.signature(func).parameters
    if "rng" in params:
        return {"rng": generator}
    return {"random_state": generator}


def _batch_size(n_items: int, n_resamples: int) -> int:
    """Resamples per vectorised batch, keeping memory bounded for large n."""
    return max(1, min(n_resamples, _MAX_BATCH_ELEMENTS // max(n_items, 1)))


def _as_bool_1d(x: ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    """Coerce per-mention correctness to a 1-D boolean array.

    Accepting 0/1 numbers as well as booleans is convenient (scores often
    come from pandas/JSON as ints), but anything else -- 0.5, 2, NaN -- is a
    sign that the caller passed scores rather than correctness and must not
    be silently truncated.
    """
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got array with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty")
    if arr.dtype == np.bool_:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must contain booleans or 0/1 values, got dtype {arr.dtype}")
    if not np.all((arr == 0) | (arr == 1)):
        bad = arr[~((arr == 0) | (arr == 1))][:5]
        raise ValueError(f"{name} must contain only booleans or 0/1 values; found e.g. {bad.tolist()}")
    return arr.astype(bool)


def _validate_pair(a: ArrayLike, b: ArrayLike) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Validate that a and b are paired per-mention outcomes of equal length."""
    a_arr = _as_bool_1d(a, "a")
    b_arr = _as_bool_1d(b, "b")
    if a_arr.shape[0] != b_arr.shape[0]:
        raise ValueError(
            "a and b must be paired outcomes on the same mentions and have equal "
            f"length; got {a_arr.shape[0]} and {b_arr.shape[0]}"
        )
    return a_arr, b_arr


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Vectorised statistic: accuracy of y minus accuracy of x."""
    return np.mean(y, axis=axis) - np.mean(x, axis=axis)


# --------------------------------------------------------------------------
# Mention-level paired tests
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedComparison:
    """Summary of a paired comparison of system A against system B.

    ``diff`` is ``acc_b - acc_a`` so that a positive value means B is better.
    ``n01`` counts mentions A got wrong and B got right; ``n10`` the reverse.
    Both p-values are two-sided; ``[ci_low, ci_high]`` is the paired
    bootstrap interval for ``diff`` at level ``confidence``.
    """

    n: int
    acc_a: float
    acc_b: float
    diff: float
    n01: int
    n10: int
    mcnemar_p: float
    ci_low: float
    ci_high: float
    confidence: float
    randomization_p: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for JSON/CSV result tables."""
        return asdict(self)


def mcnemar_exact(a: ArrayLike, b: ArrayLike) -> tuple[int, int, float]:
    """Exact (binomial) McNemar test on paired per-mention correctness.

    Concordant mentions (both right or both wrong) say nothing about which
    system is better, so under H0 each of the ``n01 + n10`` discordant
    mentions is equally likely to favour either system.  The exact binomial
    form is used instead of the chi-squared approximation because
    discordant counts between strong linkers are often small.

    Returns ``(n01, n10, p)`` where ``n01`` = A wrong & B right and ``n10``
    = A right & B wrong.  ``p`` is 1.0 when there is no discordant pair
    (no evidence of any difference).
    """
    a_arr, b_arr = _validate_pair(a, b)
    n01 = int(np.count_nonzero(~a_arr & b_arr))
    n10 = int(np.count_nonzero(a_arr & ~b_arr))
    n_disc = n01 + n10
    if n_disc == 0:
        return n01, n10, 1.0
    p = float(stats.binomtest(n01, n_disc, 0.5, alternative="two-sided").pvalue)
    return n01, n10, min(1.0, p)


def paired_bootstrap_ci(
    a: ArrayLike,
    b: ArrayLike,
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int | None = 0,
    method: str = "percentile",
) -> tuple[float, float]:
    """Paired bootstrap confidence interval for ``mean(b) - mean(a)``.

    Mentions are resampled with replacement and both systems' outcomes for a
    mention stay together (``paired=True``), which is the bootstrap of Koehn
    (2004) / Berg-Kirkpatrick et al. (2012).  The percentile method is the
    default because it is what the NLP literature reports and behaves well
    for a bounded statistic such as an accuracy difference; ``"basic"`` and
    ``"BCa"`` are passed through to scipy.

    If every paired difference is identical (e.g. the systems agree on every
    mention) the bootstrap distribution is a point mass; scipy then warns
    and may return NaN, so ``(d, d)`` is returned directly.
    """
    a_arr, b_arr = _validate_pair(a, b)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    x = a_arr.astype(np.float64)
    y = b_arr.astype(np.float64)
    d = y - x
    if np.all(d == d[0]):
        point = float(d[0])
        return point, point
    res = stats.bootstrap(
        (x, y),
        _mean_diff,
        paired=True,
        vectorized=True,
        n_resamples=n_resamples,
        batch=_batch_size(x.size, n_resamples),
        confidence_level=confidence,
        method=method,
        **_rng_kwargs(stats.bootstrap, seed),
    )
    ci = res.confidence_interval
    return float(ci.low), float(ci.high)


def approximate_randomization(
    a: ArrayLike,
    b: ArrayLike,
    *,
    n_resamples: int = 10_000,
    seed: int | None = 0,
) -> float:
    """Two-sided approximate-randomization p-value for the accuracy difference.

    Under H0 (the systems are exchangeable) the labels "A" and "B" can be
    swapped independently within every mention; scipy's
    ``permutation_type="samples"`` does exactly this for paired data.  Only
    discordant mentions change the statistic when swapped, so the test is
    run on them alone: the statistic on the subset is the full-set
    difference times a constant ``n / n_disc``, so the p-value is the same,
    but it is much cheaper for large test sets.  With few discordant
    mentions scipy enumerates all ``2**n_disc`` swaps (an exact test).

    Returns 1.0 when there is no discordant pair, and with one: its two equally
    likely swaps give differences of the same size, so the exact two-sided p is 1
    (scipy's ``permutation_test`` needs two observations).
    """
    a_arr, b_arr = _validate_pair(a, b)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    disc = a_arr != b_arr
    n_disc = int(np.count_nonzero(disc))
    if n_disc <= 1:
        return 1.0
    x = a_arr[disc].astype(np.float64)
    y = b_arr[disc].astype(np.float64)
    res = stats.permutation_test(
        (x, y),
        _mean_diff,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        batch=_batch_size(n_disc, n_resamples),
        alternative="two-sided",
        **_rng_kwargs(stats.permutation_test, seed),
    )
    return float(min(1.0, res.pvalue))


def compare_paired(
    a: ArrayLike,
    b: ArrayLike,
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> PairedComparison:
    """Run all mention-level paired analyses of system A vs. system B.

    Reporting the effect size with its bootstrap interval alongside two
    p-values (McNemar and approximate randomization) follows Dror et al.
    (2018): a p-value alone does not say whether a difference matters.
    """
    a_arr, b_arr = _validate_pair(a, b)
    n01, n10, p_mcnemar = mcnemar_exact(a_arr, b_arr)
    ci_low, ci_high = paired_bootstrap_ci(a_arr, b_arr, n_resamples=n_resamples, confidence=confidence, seed=seed)
    p_rand = approximate_randomization(a_arr, b_arr, n_resamples=n_resamples, seed=seed)
    acc_a = float(np.mean(a_arr))
    acc_b = float(np.mean(b_arr))
    return PairedComparison(
        n=int(a_arr.size),
        acc_a=acc_a,
        acc_b=acc_b,
        diff=acc_b - acc_a,
        n01=n01,
        n10=n10,
        mcnemar_p=p_mcnemar,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=float(confidence),
        randomization_p=p_rand,
    )


# --------------------------------------------------------------------------
# Multiple comparisons
# --------------------------------------------------------------------------


def holm_bonferroni(pvalues: Sequence[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values, in the input order.

    With ``m`` tests sorted ascending ``p_(1) <= ... <= p_(m)``, the adjusted
    value is ``max_{j<=i} min(1, (m - j + 1) * p_(j))``.  The running maximum
    keeps adjusted p-values monotone in the raw ones, so rejecting "adjusted
    p <= alpha" is exactly Holm's sequential procedure at FWER ``alpha``.
    NaN or out-of-range inputs are rejected because they would silently
    corrupt the ordering.
    """
    p = np.asarray(list(pvalues), dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("pvalues must be a flat sequence of numbers")
    m = p.size
    if m == 0:
        return []
    if np.any(np.isnan(p)):
        raise ValueError("pvalues must not contain NaN")
    if np.any((p < 0.0) | (p > 1.0)):
        raise ValueError(f"pvalues must lie in [0, 1], got {p[(p < 0) | (p > 1)].tolist()}")
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = adjusted_sorted
    return [float(v) for v in adjusted]


# --------------------------------------------------------------------------
# Seed-level analysis
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedAggregate:
    """Mean and sample standard deviation of a metric over training seeds."""

    mean: float
    sd: float
    n: int
    values: tuple[float, ...]


def aggregate_seeds(values: Sequence[float]) -> SeedAggregate:
    """Summarise a metric over seeds as mean +- sample SD (``ddof=1``).

    The sample SD (not the population SD) is used because the seeds are a
    small sample of the run-to-run distribution.  With a single seed there
    is no variance estimate; ``sd`` is reported as 0.0 rather than NaN so
    tables stay printable, and ``n`` records that it is a single run.
    """
    vals = tuple(float(v) for v in values)
    if not vals:
        raise ValueError("values must be non-empty")
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"values must be finite, got {list(vals)}")
    arr = np.asarray(vals, dtype=np.float64)
    sd = float(np.std(arr, ddof=1)) if arr.size > 1 else 0.0
    return SeedAggregate(mean=float(np.mean(arr)), sd=sd, n=int(arr.size), values=vals)


def seed_level_test(a_values: Sequence[float], b_values: Sequence[float]) -> float:
    """Paired t-test p-value across seeds (``scipy.stats.ttest_rel``).

    ``a_values[i]`` and ``b_values[i]`` must come from the same seed / split
    so that shared run-to-run variation cancels.  Returns 1.0 when every
    difference is zero (no evidence of a difference; scipy would give NaN).
    When all differences are equal but non-zero the t statistic is infinite
    and the p-value is 0.0, returned directly to avoid scipy's warning.
    """
    a = np.asarray(list(a_values), dtype=np.float64)
    b = np.asarray(list(b_values), dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError("a_values and b_values must be flat sequences")
    if a.size != b.size:
        raise ValueError(f"a_values and b_values must pair up seed by seed; got {a.size} and {b.size}")
    if a.size < 2:
        raise ValueError(f"a paired t-test needs at least 2 seeds, got {a.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("a_values and b_values must be finite")
    d = b - a
    if np.all(d == 0.0):
        return 1.0
    if np.all(d == d[0]):
        return 0.0
    return float(stats.ttest_rel(a, b).pvalue)
