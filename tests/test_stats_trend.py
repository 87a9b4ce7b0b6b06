"""Monotone trend over an ordered parameter (per-unit summaries) and cross-unit association."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps

from harness.stats import StatsInputError, VerdictKind, association, trend
from harness.stats.trend import unit_trends

OFFSETS = np.array([0.0, 1.0, 2.0, 3.0, 5.0])


def decaying(n: int, rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 0.5 * np.exp(-rate * OFFSETS) + rng.normal(0, 0.05, (n, OFFSETS.size))


def test_unit_slopes_are_least_squares_slopes():
    values = decaying(7, 0.4, 1)
    expected = [np.polyfit(OFFSETS, row, 1)[0] for row in values]
    assert unit_trends(values, OFFSETS) == pytest.approx(expected)


def test_missing_measurements_use_the_remaining_levels():
    values = decaying(4, 0.4, 2)
    values[1, 3] = np.nan
    keep = ~np.isnan(values[1])
    slopes = unit_trends(values, OFFSETS)
    assert slopes[1] == pytest.approx(np.polyfit(OFFSETS[keep], values[1, keep], 1)[0])
    assert trend(values, OFFSETS).n == 4


def test_spearman_per_unit_matches_scipy_and_constant_units_count_as_zero():
    values = decaying(5, 0.4, 3)
    values[2] = 0.3
    rho = unit_trends(values, OFFSETS, "spearman")
    for i in (0, 1, 3, 4):
        assert rho[i] == pytest.approx(sps.spearmanr(OFFSETS, values[i]).statistic)
    assert rho[2] == 0.0


def test_verdicts_follow_the_direction():
    assert trend(decaying(40, 0.4, 4), OFFSETS, alternative="less").kind is VerdictKind.SUPPORTED
    assert trend(decaying(40, 0.4, 4), OFFSETS, alternative="greater").kind is VerdictKind.REFUTED
    opposite = np.array([s * OFFSETS for s in (0.1, -0.1, 0.12, -0.09)])  # mean slope ~ 0
    assert trend(opposite, OFFSETS).kind is VerdictKind.INCONCLUSIVE


def test_page_test_is_reported_beside_it():
    values = decaying(30, 0.4, 6)
    r = trend(values, OFFSETS, alternative="less")
    page = sps.page_trend_test(values, predicted_ranks=sps.rankdata(-OFFSETS))
    assert r.secondary["page"]["p_value"] == pytest.approx(page.pvalue)
    assert r.effects["mean_by_level"] == pytest.approx(values.mean(axis=0).tolist())


def test_per_unit_levels_of_different_lengths():
    levels = np.array([[0, 1, 2, np.nan], [0, 2, 4, 6], [1, 3, 5, 7], [0, 1, np.nan, np.nan]])
    values = -0.1 * np.nan_to_num(levels) + np.random.default_rng(7).normal(0, 0.01, levels.shape)
    values[np.isnan(levels)] = np.nan
    r = trend(values, levels, alternative="less")
    assert r.estimate == pytest.approx(-0.1, abs=0.02)
    assert "page" not in r.secondary


def test_bad_trend_input_is_named():
    values = decaying(5, 0.4, 8)
    values[3, 1:] = np.nan
    with pytest.raises(StatsInputError, match="fewer than 2 distinct levels") as info:
        trend(values, OFFSETS)
    assert info.value.positions == (3,)
    with pytest.raises(StatsInputError, match="levels given"):
        trend(values, OFFSETS[:3])
    with pytest.raises(StatsInputError, match=r"\(units, levels\)"):
        trend(values[0], OFFSETS)
    with pytest.raises(ValueError, match="per_unit"):
        trend(decaying(5, 0.4, 8), OFFSETS, per_unit="kendall")


def test_association_is_the_hc3_ols_slope():
    rng = np.random.default_rng(9)
    x = rng.choice(np.arange(3, 26, 2), 120).astype(float)
    y = 0.02 * x + rng.normal(0, 0.1 + 0.01 * x)
    r = association(x, y, names=("maze size", "success"))
    fit = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HC3", use_t=True)
    assert r.estimate == pytest.approx(fit.params[1])
    low, high = fit.conf_int(alpha=0.1)[1]
    assert r.ci == pytest.approx((low, high))
    assert r.pvalue == pytest.approx(sps.t.sf(fit.tvalues[1], fit.df_resid))
    assert r.kind is VerdictKind.SUPPORTED
    assert association(x, y, alternative="less").kind is VerdictKind.REFUTED
    assert r.effects["kendall_tau"] == pytest.approx(sps.kendalltau(x, y).statistic)


def test_association_needs_varying_levels():
    with pytest.raises(StatsInputError, match="constant"):
        association([3.0] * 6, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
