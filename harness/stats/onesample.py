"""Vectorized one-sample t tests and intervals (scipy) with the zero-variance case made exact.

scipy returns inf/NaN when every unit has the same value (a planted model can do that: a
patch that changes nothing changes it by exactly 0). Then the sample *is* the effect: the
interval collapses to the point and the one-sided p-values are 0 or 1. Everything else is
``scipy.stats.ttest_1samp`` along the last axis.
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
        mean = d.mean(axis=-1)
        if alternative == "greater":
            exact = np.where(mean > popmean, 0.0, 1.0)
        elif alternative == "less":
            exact = np.where(mean < popmean, 0.0, 1.0)
        else:
            exact = np.where(mean != popmean, 0.0, 1.0)
        p = np.where(const, exact, p)
    return p


def t_statistic(d: np.ndarray, popmean: float) -> tuple[float, float]:
    """(t, df) of the one-sample t test; t is +-inf or 0 for a constant sample."""
    d = np.asarray(d, dtype=float)
    if is_constant(d):
        diff = float(d.mean() - popmean)
        return (0.0 if diff == 0 else float(np.sign(diff)) * np.inf), float(d.size - 1)
    res = stats.ttest_1samp(d, popmean)
    return float(res.statistic), float(res.df)


def t_interval(d: np.ndarray, confidence_level: float) -> tuple[float, float]:
    """Two-sided t interval of the mean (scipy's ``TtestResult.confidence_interval``)."""
    d = np.asarray(d, dtype=float)
    if is_constant(d):
        return float(d.mean()), float(d.mean())
    ci = stats.ttest_1samp(d, 0.0).confidence_interval(confidence_level)
    return float(ci.low), float(ci.high)
