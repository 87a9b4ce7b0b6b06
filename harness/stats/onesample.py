"""Vectorized one-sample t tests and intervals (scipy), with the zero-variance case exact.

scipy returns inf/NaN when every unit has the same value (a planted model can do that: a
patch that changes nothing changes it by exactly 0). A constant sample has no spread to
estimate, so the t test does not apply; it is not "p = 0" either, because n units that all
agree only rule out so much. Such a sample gets the exact sign test instead: with all n
units on the claimed side of the hypothesized value, p = 0.5^n (:func:`sign_test_pvalue`),
which is what n agreeing units can show about the median whatever their spread. Everything
else is ``scipy.stats.ttest_1samp`` along the last axis.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from harness.stats.validation import is_constant


def t_pvalues(d: np.ndarray, popmean: float | np.ndarray, alternative: str) -> np.ndarray:
    """p-value of scipy's one-sample t test of ``mean(d) = popmean`` along the last axis."""
    d = np.asarray(d, dtype=float)
    popmean = np.asarray(popmean, dtype=float)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        p = np.asarray(stats.ttest_1samp(d, popmean, axis=-1, alternative=alternative).pvalue)
    const = is_constant(d)
    if np.any(const):
        p = np.where(const, constant_sample_pvalues(d, popmean, alternative), p)
    return p


def sign_test_pvalue(n: int, alternative: str) -> float:
    """Exact sign-test p-value when all ``n`` units lie on the claimed side: 0.5^n one-sided,
    twice that two-sided (scipy ``binomtest``), never below the smallest positive double."""
    side = "two-sided" if alternative == "two-sided" else "greater"
    p = stats.binomtest(int(n), int(n), 0.5, alternative=side).pvalue
    return max(float(p), float(np.finfo(float).tiny))


def constant_sample_pvalues(
    d: np.ndarray, popmean: float | np.ndarray, alternative: str
) -> np.ndarray:
    """p-values of the sign test for samples whose units all share one value (last axis)."""
    mean = np.asarray(d, dtype=float).mean(axis=-1)
    n = np.shape(d)[-1]
    if alternative == "greater":
        on_side = mean > popmean
    elif alternative == "less":
        on_side = mean < popmean
    else:
        on_side = mean != popmean
    return np.where(on_side, sign_test_pvalue(n, alternative), 1.0)


def t_statistic(d: np.ndarray, popmean: float) -> tuple[float, float]:
    """(t, df) of the one-sample t test; t is +-inf or 0 for a constant sample."""
    d = np.asarray(d, dtype=float)
    if is_constant(d):
        diff = float(d.mean() - popmean)
        return (0.0 if diff == 0 else float(np.sign(diff)) * np.inf), float(d.size - 1)
    res = stats.ttest_1samp(d, popmean)
    return float(res.statistic), float(res.df)


def t_interval(d: np.ndarray, confidence_level: float) -> tuple[float, float]:
    """Two-sided t interval of the mean (scipy's ``TtestResult.confidence_interval``).

    A constant sample's interval is its value: the sign test's order-statistic interval of
    the median, which is all a sample without spread determines (its p-value is never 0)."""
    d = np.asarray(d, dtype=float)
    if is_constant(d):
        return float(d.mean()), float(d.mean())
    ci = stats.ttest_1samp(d, 0.0).confidence_interval(confidence_level)
    return float(ci.low), float(ci.high)
