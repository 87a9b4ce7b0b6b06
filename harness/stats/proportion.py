"""Proportions with exact binomial tests: sign stability (BH2) and held-out accuracy (BH1).

The test is the exact binomial test and the interval is Clopper-Pearson, which is the
inversion of the exact one-sided tests, so 'supported' happens exactly when the
(1 - 2 alpha) interval lies beyond the threshold. The one-sided p-values come from scipy's
binomial distribution (vectorized, the same numbers as ``scipy.stats.binomtest``), so the
calibration simulations run this very code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import numpy as np
from scipy import stats

from harness.stats.errors import StatsInputError
from harness.stats.intervals import clopper_pearson
from harness.stats.result import DirectionalResult, decision, interval_level
from harness.stats.validation import (
    as_sample,
    check_alpha,
    check_alternative,
    check_finite_number,
)

TEST_NAME = "exact binomial test"


@dataclass(frozen=True, kw_only=True)
class ProportionResult(DirectionalResult):
    """A success probability against a threshold (exact binomial, Clopper-Pearson)."""

    form: ClassVar[str] = "proportion"


@dataclass(frozen=True, kw_only=True)
class AccuracyResult(DirectionalResult):
    """Held-out accuracy minus a base rate fixed on the training split."""

    form: ClassVar[str] = "accuracy"


def binomial_pvalues(
    k: np.ndarray | int, n: np.ndarray | int, p0: float, alternative: str
) -> tuple[np.ndarray, np.ndarray]:
    """(p_support, p_refute) of 'the success probability is beyond p0'."""
    k = np.asarray(k)
    p_greater = stats.binom.sf(k - 1, n, p0)
    p_less = stats.binom.cdf(k, n, p0)
    if alternative == "greater":
        return p_greater, p_less
    if alternative == "less":
        return p_less, p_greater
    two = np.vectorize(lambda kk, nn: stats.binomtest(int(kk), int(nn), p0).pvalue)(k, n)
    return two, np.full(np.shape(two), np.nan)


def _successes(values: object, name: str) -> np.ndarray:
    arr = as_sample(values, name, min_n=1)
    bad = np.flatnonzero((arr != 0) & (arr != 1))
    if bad.size:
        raise StatsInputError(
            f"{name} must be per-unit successes (True/False or 0/1); {bad.size} value(s) "
            f"are neither, at positions {bad[:10].tolist()}",
            positions=bad.tolist(),
        )
    return arr.astype(bool)


def proportion(
    successes: object,
    *,
    threshold: float,
    alternative: str = "greater",
    alpha: float = 0.05,
    name: str = "proportion",
    label: str = "",
) -> ProportionResult:
    """Test 'the success probability exceeds (``greater``) / is below ``threshold``'."""
    alpha = check_alpha(alpha)
    alternative = check_alternative(alternative)
    p0 = check_finite_number(threshold, "threshold")
    if not 0.0 < p0 < 1.0:
        raise StatsInputError(f"a proportion threshold must lie in (0, 1), got {p0}")
    s = _successes(successes, name)
    k, n = int(s.sum()), int(s.size)
    p_support, p_refute = (float(p) for p in binomial_pvalues(k, n, p0, alternative))
    level = interval_level(alpha, alternative)
    interval_fn = partial(clopper_pearson, k, n)
    return ProportionResult(
        test=TEST_NAME,
        alternative=alternative,
        statistic=float(k),
        estimate=k / n,
        estimate_name=name,
        n=n,
        threshold=p0,
        effects={"successes": k, "trials": n},
        label=label,
        unit_values=s.astype(float),
        unit_label=f"{name} (1 = success)",
        **decision(p_support, p_refute, alpha, interval_fn, level),
    )


def accuracy_vs_base_rate(
    correct: object,
    *,
    base_rate: float,
    threshold: float = 0.0,
    alpha: float = 0.05,
    label: str = "",
) -> AccuracyResult:
    """Held-out accuracy minus the base rate, claimed to exceed ``threshold`` (BH1).

    ``correct`` holds one 0/1 per held-out unit. ``base_rate`` is the accuracy of always
    predicting the majority class, fixed from the *training* split so that it is a constant
    for the held-out test (the exact binomial test needs a fixed null probability).
    """
    base = check_finite_number(base_rate, "base_rate")
    margin = check_finite_number(threshold, "threshold")
    if not 0.0 < base + margin < 1.0:
        raise StatsInputError(f"base_rate + threshold must lie in (0, 1), got {base} + {margin}")
    acc = proportion(
        correct, threshold=base + margin, alpha=alpha, name="held-out accuracy", label=label
    )
    name = "held-out accuracy minus base rate"
    ci = (acc.ci[0] - base, acc.ci[1] - base)
    acc_interval = acc.interval_fn
    assert acc_interval is not None

    def interval_fn(level: float) -> tuple[float, float]:
        lo, hi = acc_interval(level)
        return lo - base, hi - base

    return acc.recast(
        AccuracyResult,
        estimate=acc.estimate - base,
        estimate_name=name,
        ci=ci,
        threshold=margin,
        effects={
            "accuracy": acc.estimate,
            "accuracy_ci": list(acc.ci),
            "base_rate": base,
            "correct": acc.effects["successes"],
            "held_out": acc.n,
        },
        unit_label="correct (1) / wrong (0)",
        interval_fn=interval_fn,
    )
