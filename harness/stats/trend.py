"""Monotone trend over an ordered parameter measured on the same units (CV4, CH3).

Design decision: the mazes are the independent units, and each maze is measured at every
level (offset 0, 1, 2, 3, 5 in CV4; several targets per maze in CH3). So the trend is
summarized *within* each unit -- its least-squares slope over the levels (default), or its
Spearman rank correlation with the levels -- and the per-unit summaries are tested with
scipy's one-sample t test. This is the random-slope ("summary statistics") approach: it
respects the pairing, handles units measured at different or missing levels (NaN), gives
an estimate with units ("change per offset step") and an interval, and therefore a
three-way verdict. Page's L test (scipy ``page_trend_test``, the repeated-measures cousin of
Jonckheere-Terpstra) is reported beside it when the matrix is complete; it gives a p-value
but no interval, so it cannot refute. A unit whose values are all equal has Spearman
correlation 0 (no monotone association). For one level per unit (e.g. maze size), use
:func:`harness.stats.association.association`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import stats

from harness.stats.effects import cohen_dz, fraction_moved
from harness.stats.errors import StatsInputError
from harness.stats.onesample import mean_test
from harness.stats.paired import MEAN_TESTS, difference_pvalues
from harness.stats.result import DirectionalResult, decision, interval_level
from harness.stats.validation import (
    MIN_UNITS,
    check_alpha,
    check_alternative,
    check_finite_number,
)

PER_UNIT = ("slope", "spearman")


@dataclass(frozen=True, kw_only=True)
class TrendResult(DirectionalResult):
    """The mean per-unit trend over an ordered parameter against a threshold."""

    form: ClassVar[str] = "trend"


_NAMES = {"slope": "mean per-unit slope", "spearman": "mean per-unit Spearman correlation"}


def _rowwise_correlation_parts(
    x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NaN-aware centred cross-products along the last axis: (sxy, sxx, syy)."""
    mask = np.isfinite(x) & np.isfinite(y)
    xm = np.where(mask, x, np.nan)
    ym = np.where(mask, y, np.nan)
    with np.errstate(invalid="ignore"):
        xc = xm - np.nanmean(xm, axis=-1, keepdims=True)
        yc = ym - np.nanmean(ym, axis=-1, keepdims=True)
    return (
        np.nansum(xc * yc, axis=-1),
        np.nansum(xc * xc, axis=-1),
        np.nansum(yc * yc, axis=-1),
    )


def unit_trends(values: np.ndarray, levels: np.ndarray, per_unit: str = "slope") -> np.ndarray:
    """Per-unit trend of ``values`` (..., units, k) over ``levels`` (k,) or (..., units, k)."""
    values = np.asarray(values, dtype=float)
    levels = np.broadcast_to(np.asarray(levels, dtype=float), values.shape)
    if per_unit == "slope":
        sxy, sxx, _ = _rowwise_correlation_parts(levels, values)
        with np.errstate(divide="ignore", invalid="ignore"):
            return sxy / sxx
    if per_unit == "spearman":
        mask = np.isfinite(values) & np.isfinite(levels)
        rv = stats.rankdata(np.where(mask, values, np.nan), axis=-1, nan_policy="omit")
        rl = stats.rankdata(np.where(mask, levels, np.nan), axis=-1, nan_policy="omit")
        sxy, sxx, syy = _rowwise_correlation_parts(rl, rv)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = sxy / np.sqrt(sxx * syy)
        return np.where(syy == 0, 0.0, rho)
    raise ValueError(f"per_unit must be one of {PER_UNIT}, got {per_unit!r}")


def _check_matrix(values: object, levels: object) -> tuple[np.ndarray, np.ndarray]:
    try:
        v = np.asarray(values, dtype=float)
        lv = np.asarray(levels, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(f"trend values and levels must be numeric: {exc}") from None
    if v.ndim != 2:
        raise StatsInputError(f"trend values must be (units, levels), got shape {v.shape}")
    if lv.ndim == 1:
        if lv.size != v.shape[1]:
            raise StatsInputError(
                f"{lv.size} levels given for {v.shape[1]} columns of trend values"
            )
        if not np.all(np.isfinite(lv)):
            raise StatsInputError(f"trend levels must be finite, got {lv.tolist()}")
        lv = np.broadcast_to(lv, v.shape)
    elif lv.shape != v.shape:
        raise StatsInputError(
            f"per-unit levels must have the values' shape {v.shape}, got {lv.shape}"
        )
    if np.any(np.isinf(v)):
        bad = np.flatnonzero(np.isinf(v).any(axis=1))
        raise StatsInputError(
            f"trend values contain inf for units at positions {bad[:10].tolist()}",
            positions=bad.tolist(),
        )
    ok = np.isfinite(v) & np.isfinite(lv)
    distinct = np.array([np.unique(row[m]).size for row, m in zip(lv, ok, strict=True)], dtype=int)
    bad = np.flatnonzero(distinct < 2)
    if bad.size:
        raise StatsInputError(
            f"{bad.size} unit(s) have fewer than 2 distinct levels with finite values "
            f"(positions {bad[:10].tolist()}); a trend needs at least two",
            positions=bad.tolist(),
        )
    if v.shape[0] < MIN_UNITS:
        raise StatsInputError(f"a trend needs at least {MIN_UNITS} units, got {v.shape[0]}")
    return v, np.array(lv)


def _page(values: np.ndarray, levels: np.ndarray, alternative: str) -> dict[str, Any] | None:
    """Page's L test when it applies: complete matrix, common distinct levels, k >= 3."""
    common = levels[0]
    if (
        alternative == "two-sided"
        or np.isnan(values).any()
        or values.shape[1] < 3
        or not np.all(levels == common)
        or np.unique(common).size != common.size
    ):
        return None
    order = common if alternative == "greater" else -common
    predicted = stats.rankdata(order)
    res = stats.page_trend_test(values, predicted_ranks=predicted)
    return {
        "test": "Page's L test",
        "statistic": float(res.statistic),
        "p_value": float(res.pvalue),
    }


def trend(
    values: object,
    levels: object,
    *,
    alternative: str = "less",
    threshold: float = 0.0,
    alpha: float = 0.05,
    per_unit: str = "slope",
    name: str = "value",
    level_name: str = "level",
    label: str = "",
    test: str = "t",
) -> TrendResult:
    """Test 'value falls (``less``) / rises (``greater``) with level' over units.

    ``values`` is (units, k); ``levels`` is the k common levels or a (units, k) array
    (NaN marks a missing measurement). ``threshold`` is in the per-unit statistic's units.
    """
    alpha = check_alpha(alpha)
    alternative = check_alternative(alternative)
    threshold = check_finite_number(threshold, "threshold")
    if per_unit not in PER_UNIT:
        raise ValueError(f"per_unit must be one of {PER_UNIT}, got {per_unit!r}")
    v, lv = _check_matrix(values, levels)
    u = unit_trends(v, lv, per_unit)
    if test not in MEAN_TESTS:
        raise ValueError(f"a trend is tested with one of {MEAN_TESTS}, got {test!r}")
    p_support, p_refute = (float(p) for p in difference_pvalues(u, threshold, alternative, test))
    level = interval_level(alpha, alternative)
    statistic, df, interval_fn = mean_test(u, threshold, test)
    direction = alternative if alternative != "two-sided" else "greater"
    secondary: dict[str, Any] = {}
    page = _page(v, lv, alternative)
    if page is not None:
        secondary["page"] = page
    common = np.all(lv == lv[0]) and not np.isnan(v).any()
    effects: dict[str, Any] = {
        "per_unit": per_unit,
        "cohen_dz": cohen_dz(u),
        "fraction_moved": fraction_moved(u, direction, level),
    }
    if common:
        effects["levels"] = lv[0].tolist()
        effects["mean_by_level"] = v.mean(axis=0).tolist()
    return TrendResult(
        test="t test on per-unit trends" + (", skewness-corrected" if test == "johnson" else ""),
        alternative=alternative,
        statistic=statistic,
        df=df,
        estimate=float(np.mean(u)),
        estimate_name=f"{_NAMES[per_unit]} of {name} over {level_name}",
        n=int(u.size),
        threshold=threshold,
        effects=effects,
        secondary=secondary,
        label=label,
        unit_values=u,
        unit_label=f"per-unit {per_unit} of {name} over {level_name}",
        **decision(p_support, p_refute, alpha, interval_fn, level),
    )
