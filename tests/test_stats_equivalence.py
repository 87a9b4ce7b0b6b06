"""Equivalence (TOST): passes only when the interval lies inside the margin."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.weightstats import ttost_paired

from harness.stats import StatsInputError, VerdictKind, equivalence


def test_pvalue_matches_statsmodels_ttost_paired():
    rng = np.random.default_rng(2)
    x = rng.normal(0.5, 0.1, 80)
    y = x + rng.normal(0.01, 0.05, 80)
    r = equivalence(x, y, margin=0.03)
    assert r.pvalue == pytest.approx(ttost_paired(x, y, -0.03, 0.03)[0], rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(-1, 1), min_size=5, max_size=60).filter(lambda v: np.ptp(v) > 1e-6),
    st.floats(0.01, 1.0),
)
def test_supported_exactly_when_interval_inside_margin(values, margin):
    r = equivalence(values, margin=margin)
    low, high = r.ci
    assert (r.kind is VerdictKind.SUPPORTED) == (low > -margin and high < margin)
    assert (r.kind is VerdictKind.REFUTED) == (low > margin or high < -margin)


def test_no_significant_difference_is_not_equivalence():
    d = np.random.default_rng(8).normal(0.0, 1.0, 15)
    assert sps.ttest_1samp(d, 0.0).pvalue > 0.05  # "not significant"
    r = equivalence(d, margin=0.1)
    assert r.kind is VerdictKind.INCONCLUSIVE
    assert "not evidence of equivalence" in r.verdict.reason


def test_refuted_when_the_effect_exceeds_the_margin():
    d = np.random.default_rng(9).normal(0.3, 0.05, 50)
    assert equivalence(d, margin=0.1).kind is VerdictKind.REFUTED


def test_asymmetric_bounds_and_center():
    d = np.random.default_rng(4).normal(0.02, 0.01, 100)
    assert equivalence(d, margin=(0.0, 0.05)).kind is VerdictKind.SUPPORTED
    assert equivalence(d, margin=0.01, center=0.02).margin == pytest.approx((0.01, 0.03))


@pytest.mark.parametrize("margin", [0.0, -1.0, (0.1, 0.0), (0.1,), float("nan")])
def test_bad_margins_are_named(margin):
    with pytest.raises(StatsInputError, match="margin"):
        equivalence([0.1, 0.2, 0.3], margin=margin)
