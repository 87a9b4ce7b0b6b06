"""Association across independent units: 'success falls with maze size' (CH3).

When each unit has a single level (a maze has one size), there is no within-unit trend;
the slope of an ordinary least-squares fit (statsmodels) with heteroskedasticity-robust HC3
standard errors and t reference distribution gives the estimate, its interval and both
one-sided tests, so the three-way verdict is consistent with the interval. Kendall's tau-b
(scipy) is reported beside it as a rank-based check.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import numpy as np
from scipy import stats

from harness.stats.errors import StatsInputError
from harness.stats.result import DirectionalResult, decision, interval_level
from harness.stats.validation import (
    as_sample,
    check_alpha,
    check_alternative,
    check_finite_number,
)

TEST_NAME = "OLS slope t test (HC3)"


@dataclass(frozen=True, kw_only=True)
class AssociationResult(DirectionalResult):
    """The slope of a value on a level across units against a threshold."""

    form: ClassVar[str] = "association"


def _fit(x: np.ndarray, y: np.ndarray):
    # statsmodels is imported here, not at module level: it costs seconds at start-up.
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    return OLS(y, add_constant(x, has_constant="add")).fit(cov_type="HC3", use_t=True)


def slope_pvalues(
    slope: float, se: float, df: float, threshold: float, alternative: str
) -> tuple[float, float]:
    """(p_support, p_refute) of the slope's t statistic against the threshold."""
    if se == 0:
        t = 0.0 if slope == threshold else np.sign(slope - threshold) * np.inf
    else:
        t = (slope - threshold) / se
    p_greater, p_less = float(stats.t.sf(t, df)), float(stats.t.cdf(t, df))
    if alternative == "greater":
        return p_greater, p_less
    if alternative == "less":
        return p_less, p_greater
    return min(1.0, 2.0 * min(p_greater, p_less)), float("nan")


def association_pvalues(
    x: np.ndarray, y: np.ndarray, threshold: float, alternative: str
) -> tuple[float, float]:
    """(p_support, p_refute) of the HC3 slope test; the calibration simulations call this."""
    fit = _fit(x, y)
    return slope_pvalues(
        float(fit.params[1]), float(fit.bse[1]), float(fit.df_resid), threshold, alternative
    )


def _interval(fit, level: float) -> tuple[float, float]:
    low, high = fit.conf_int(alpha=1.0 - level)[1]
    return float(low), float(high)


def association(
    x: object,
    y: object,
    *,
    alternative: str = "greater",
    threshold: float = 0.0,
    alpha: float = 0.05,
    names: tuple[str, str] = ("level", "value"),
    label: str = "",
) -> AssociationResult:
    """Test 'y rises (``greater``) / falls (``less``) with x' by the OLS slope of y on x."""
    alpha = check_alpha(alpha)
    alternative = check_alternative(alternative)
    threshold = check_finite_number(threshold, "threshold")
    xs, ys = as_sample(x, names[0], min_n=4), as_sample(y, names[1], min_n=4)
    if xs.size != ys.size:
        raise StatsInputError(f"{names[0]} has {xs.size} units but {names[1]} has {ys.size}")
    if np.ptp(xs) == 0:
        raise StatsInputError(f"{names[0]} is constant; a slope needs at least two levels")
    fit = _fit(xs, ys)
    slope, se, df = float(fit.params[1]), float(fit.bse[1]), float(fit.df_resid)
    p_support, p_refute = slope_pvalues(slope, se, df, threshold, alternative)
    level = interval_level(alpha, alternative)
    interval_fn = partial(_interval, fit)
    tau = stats.kendalltau(xs, ys, alternative=alternative)
    return AssociationResult(
        test=TEST_NAME,
        alternative=alternative,
        statistic=(slope - threshold) / se if se else np.sign(slope - threshold) * np.inf,
        df=df,
        estimate=slope,
        estimate_name=f"slope of {names[1]} on {names[0]}",
        n=int(xs.size),
        threshold=threshold,
        effects={
            "kendall_tau": float(tau.statistic),
            "spearman_rho": float(stats.spearmanr(xs, ys).statistic),
            "r_squared": float(fit.rsquared),
        },
        secondary={
            "kendall": {"test": "Kendall's tau-b", "p_value": float(tau.pvalue)},
        },
        label=label,
        unit_values=ys,
        unit_label=names[1],
        **decision(p_support, p_refute, alpha, interval_fn, level),
    )
