"""Ratios on the log scale; proportions and held-out accuracy with exact binomial tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from harness.stats import (
    StatsInputError,
    VerdictKind,
    accuracy_vs_base_rate,
    paired_difference,
    proportion,
    ratio,
)


def test_ratio_is_a_log_scale_paired_difference():
    rng = np.random.default_rng(1)
    before = rng.uniform(0.05, 0.3, 50)
    after = before * np.exp(rng.normal(0.5, 0.4, 50))
    r = ratio(after, before, threshold=1.2)
    logs = paired_difference(np.log(after), np.log(before), threshold=math.log(1.2))
    assert r.estimate == pytest.approx(math.exp(np.mean(np.log(after / before))))
    assert r.ci == pytest.approx((math.exp(logs.ci[0]), math.exp(logs.ci[1])))
    assert r.pvalue == pytest.approx(logs.pvalue)
    assert r.kind is logs.kind is VerdictKind.SUPPORTED
    assert r.confidence_interval(0.99).low < r.ci[0]
    assert "geometric mean ratio" in r.estimate_name
    assert ratio(after, before, threshold=3.0).kind is VerdictKind.REFUTED


def test_ratio_rejects_non_positive_values():
    with pytest.raises(StatsInputError, match="must be > 0") as info:
        ratio([0.1, 0.0, 0.3, -1.0], [0.1, 0.2, 0.3, 0.4])
    assert info.value.positions == (1, 3)
    with pytest.raises(StatsInputError, match="threshold"):
        ratio([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], threshold=0.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(5, 200), st.data(), st.floats(0.05, 0.95))
def test_proportion_is_the_exact_binomial_test(n, data, p0):
    k = data.draw(st.integers(0, n))
    successes = np.r_[np.ones(k), np.zeros(n - k)]
    r = proportion(successes, threshold=p0)
    assert r.pvalue == pytest.approx(sps.binomtest(k, n, p0, alternative="greater").pvalue)
    assert r.pvalue_refute == pytest.approx(sps.binomtest(k, n, p0, alternative="less").pvalue)
    ci = sps.binomtest(k, n).proportion_ci(0.9, method="exact")
    assert r.ci == pytest.approx((ci.low, ci.high))
    # Clopper-Pearson inverts the exact one-sided tests: verdict and interval agree.
    assert (r.kind is VerdictKind.SUPPORTED) == (r.ci[0] > p0)
    assert (r.kind is VerdictKind.REFUTED) == (r.ci[1] < p0)


def test_proportion_input_errors():
    with pytest.raises(StatsInputError, match="True/False or 0/1") as info:
        proportion([1, 0, 0.5, 2], threshold=0.5)
    assert info.value.positions == (2, 3)
    with pytest.raises(StatsInputError, match=r"\(0, 1\)"):
        proportion([1, 0, 1], threshold=1.0)


def test_accuracy_minus_base_rate():
    correct = np.r_[np.ones(85), np.zeros(15)].astype(bool)
    r = accuracy_vs_base_rate(correct, base_rate=0.7)
    assert r.estimate == pytest.approx(0.15)
    ci = sps.binomtest(85, 100).proportion_ci(0.9, method="exact")
    assert r.ci == pytest.approx((ci.low - 0.7, ci.high - 0.7))
    assert r.pvalue == pytest.approx(sps.binomtest(85, 100, 0.7, alternative="greater").pvalue)
    assert r.kind is VerdictKind.SUPPORTED
    assert r.effects["accuracy"] == pytest.approx(0.85)
    assert accuracy_vs_base_rate(correct, base_rate=0.7, threshold=0.25).kind is VerdictKind.REFUTED
    low, high = r.confidence_interval(0.95)
    assert low < r.ci[0] and high > r.ci[1]
    with pytest.raises(StatsInputError, match="base_rate"):
        accuracy_vs_base_rate(correct, base_rate=0.95, threshold=0.1)
