"""Vectorized one-sample t tests and intervals (scipy), with the zero-variance case exact.

scipy returns inf/NaN when every unit has the same value (a planted model can do that: a
patch that changes nothing changes it by exactly 0). A constant sample has no spread to
estimate, so the t test does not apply; it is not "p = 0" either, because n units that all
agree only rule out so much. Such a sample gets the exact sign test instead: with all n
units on the claimed side of the hypothesized value, p = 0.5^n (:func:`sign_test_pvalue`),
which is what n agreeing units can show about the median whatever their spread. Everything
else is ``scipy.stats.ttest_1samp`` along the last axis, or its skewness-corrected form.

The correction (Johnson 1978, in Hall's 1992 monotone form) matters for the claims' data:
per-maze effects of bounded, bimodal probabilities are skewed, and there the plain t test is
too liberal on one side at the budgets' n -- on the graded planted policies a trend claim set
exactly at its threshold was refuted in 10 % of samples of 20 mazes (0.07 corrected), and
in 12 % (0.06) at a sequential run's first look of 10 (``benchmarks/calibrate_claims.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial

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


def johnson_statistic(x: np.ndarray, mu0: float | np.ndarray) -> np.ndarray:
    """Skewness-corrected t of 'mean(x) = mu0' along the last axis, t(n - 1) under the null:
    Johnson's (1978) correction ``t + g/(6 sqrt n) + g t^2/(3 sqrt n)`` with Hall's (1992)
    cubic term ``g^2 t^3 / (27 n)``, which makes it monotone in ``t`` (its derivative is
    ``(1 + g t / (3 sqrt n))^2``); ``t`` is the plain one-sample t, ``g`` the sample skewness."""
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    sd = x.std(axis=-1, ddof=1)
    # nearly constant samples (constant ones are handled by the caller) make scipy warn
    # about precision in the moments; the correction then matters little
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        t = (x.mean(axis=-1) - mu0) / (sd / np.sqrt(n))
        a = np.nan_to_num(stats.skew(x, axis=-1)) / (3 * np.sqrt(n))
        # a constant sample's t is infinite (0 x inf here); the caller replaces its p-value
        return t + a / 2 + a * t**2 + a**2 * t**3 / 3


def johnson_pvalues(x: np.ndarray, mu0: float | np.ndarray, alternative: str) -> np.ndarray:
    """p-values of Johnson's corrected t (two-sided: twice the smaller one-sided p);
    constant samples get the exact sign test (:func:`constant_sample_pvalues`)."""
    x = np.asarray(x, dtype=float)
    t = johnson_statistic(x, mu0)
    df = x.shape[-1] - 1
    if alternative == "two-sided":
        p = np.minimum(1.0, 2.0 * np.minimum(stats.t.cdf(t, df), stats.t.sf(t, df)))
    else:
        p = stats.t.cdf(t, df) if alternative == "less" else stats.t.sf(t, df)
    const = is_constant(x)
    if np.any(const):
        p = np.where(const, constant_sample_pvalues(x, mu0, alternative), p)
    return np.asarray(p, dtype=float)


def johnson_interval(x: np.ndarray, confidence_level: float) -> tuple[float, float]:
    """The two-sided interval of the mean that inverts the two one-sided corrected tests.

    The statistic is ``T(t) = ((1 + a t)^3 - 1) / (3 a) + a / 2`` with ``a = g / (3 sqrt n)``,
    so each end has a closed form: ``t = (cbrt(1 + 3 a (q - a/2)) - 1) / a`` at the t(n - 1)
    quantile ``q``, and ``mu = mean - t x se`` (``t = q - a/2`` in the limit ``a = 0``)."""
    x = np.asarray(x, dtype=float)
    mean = float(x.mean())
    if is_constant(x):
        return mean, mean
    n = x.size
    se = float(x.std(ddof=1)) / np.sqrt(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = float(np.nan_to_num(stats.skew(x))) / (3 * np.sqrt(n))
    q = float(stats.t.isf((1.0 - confidence_level) / 2.0, n - 1))

    def t_at(target: float) -> float:
        if abs(a) < 1e-12:
            return target - a / 2
        return float((np.cbrt(1.0 + 3.0 * a * (target - a / 2)) - 1.0) / a)

    return mean - t_at(q) * se, mean - t_at(-q) * se


def mean_test(
    d: np.ndarray, popmean: float, test: str
) -> tuple[float, float, Callable[[float], tuple[float, float]]]:
    """(statistic, df, interval function) of the one-sample mean test ``t`` or ``johnson``
    (skewness-corrected); a constant sample keeps the plain t's +-inf or 0."""
    statistic, df = t_statistic(d, popmean)
    if test == "t":
        return statistic, df, partial(t_interval, d)
    if not is_constant(d):
        statistic = float(johnson_statistic(d, popmean))
    return statistic, df, partial(johnson_interval, d)


def t_interval(d: np.ndarray, confidence_level: float) -> tuple[float, float]:
    """Two-sided t interval of the mean (scipy's ``TtestResult.confidence_interval``).

    A constant sample's interval is its value: the sign test's order-statistic interval of
    the median, which is all a sample without spread determines (its p-value is never 0)."""
    d = np.asarray(d, dtype=float)
    if is_constant(d):
        return float(d.mean()), float(d.mean())
    ci = stats.ttest_1samp(d, 0.0).confidence_interval(confidence_level)
    return float(ci.low), float(ci.high)
