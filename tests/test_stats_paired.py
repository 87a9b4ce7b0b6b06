"""Paired differences: scipy agreement, verdict/interval consistency, effect sizes, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from harness.stats import StatsInputError, VerdictKind, paired_difference
from harness.stats.signed_rank import hodges_lehmann, signed_rank_pvalues

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
samples = st.lists(finite, min_size=5, max_size=40).filter(lambda v: np.ptp(v) > 1e-6)


@pytest.fixture
def xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    x = rng.normal(0.6, 0.2, 60)
    return x, x - rng.normal(0.15, 0.2, 60)


def test_t_test_is_scipys_paired_t(xy):
    x, y = xy
    result = paired_difference(x, y, threshold=0.0, alternative="greater")
    reference = sps.ttest_rel(x, y, alternative="greater")
    assert result.pvalue == pytest.approx(reference.pvalue, rel=1e-12)
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-12)
    two_sided = sps.ttest_rel(x, y).confidence_interval(0.95)
    assert result.confidence_interval(0.95) == pytest.approx((two_sided.low, two_sided.high))


def test_threshold_shifts_the_null(xy):
    x, y = xy
    result = paired_difference(x, y, threshold=0.1)
    assert result.pvalue == pytest.approx(
        sps.ttest_1samp(x - y, 0.1, alternative="greater").pvalue, rel=1e-12
    )


def test_wilcoxon_p_value_is_scipys(xy):
    x, y = xy
    result = paired_difference(x, y, threshold=0.05, test="wilcoxon", alternative="less")
    reference = sps.wilcoxon(x - y - 0.05, alternative="less")
    assert result.pvalue == pytest.approx(reference.pvalue, rel=1e-12)
    assert result.secondary["paired_t"]["p_value"] == pytest.approx(
        sps.ttest_1samp(x - y, 0.05, alternative="less").pvalue
    )


@settings(max_examples=25, deadline=None)
@given(samples, finite, st.sampled_from(["greater", "less"]))
def test_t_verdict_is_where_the_interval_lies(values, threshold, alternative):
    r = paired_difference(values, threshold=threshold, alternative=alternative)
    low, high = r.ci
    above, below = low > threshold, high < threshold
    claimed, opposite = (above, below) if alternative == "greater" else (below, above)
    assert (r.kind is VerdictKind.SUPPORTED) == claimed
    assert (r.kind is VerdictKind.REFUTED) == opposite
    assert r.ci_level == pytest.approx(0.9)


@settings(max_examples=20, deadline=None)
@given(samples, finite)
def test_signed_rank_interval_inverts_the_test(values, threshold):
    d = np.asarray(values)
    # Duality is exact only without differences equal to the threshold: the signed-rank
    # test's handling of such zeros has no counterpart in the Walsh-average interval
    # (hypothesis found [0, 0, 1, 1, 1] at threshold 0: supported, interval low exactly 0).
    assume(not np.any(d == threshold))
    r = paired_difference(d, threshold=threshold, test="wilcoxon")
    low, high = r.ci
    assert low <= r.estimate <= high
    assert (r.kind is VerdictKind.SUPPORTED) == (low > threshold)
    assert (r.kind is VerdictKind.REFUTED) == (high < threshold)
    if np.isfinite(low):  # just inside the interval the one-sided test does not reject
        assert float(signed_rank_pvalues(d, low + 1e-9, "greater")) >= 0.05


def test_hodges_lehmann_is_shift_equivariant():
    d = np.random.default_rng(3).standard_t(3, 31)
    assert hodges_lehmann(d + 2.5) == pytest.approx(hodges_lehmann(d) + 2.5)


def test_three_verdicts(xy):
    x, y = xy
    assert paired_difference(x, y, threshold=0.0).kind is VerdictKind.SUPPORTED
    assert paired_difference(x, y, threshold=0.5).kind is VerdictKind.REFUTED
    assert paired_difference(x[:6], y[:6], threshold=0.15).kind is VerdictKind.INCONCLUSIVE


def test_reason_states_interval_and_threshold(xy):
    x, y = xy
    r = paired_difference(x, y, threshold=0.5)
    assert "below 0.5" in r.verdict.reason
    assert f"n = {x.size}" in r.verdict.reason


def test_effect_sizes(xy):
    x, y = xy
    d = x - y
    effects = paired_difference(x, y).effects
    assert effects["mean_difference"] == pytest.approx(d.mean())
    assert effects["median_difference"] == pytest.approx(np.median(d))
    assert effects["cohen_dz"] == pytest.approx(d.mean() / d.std(ddof=1))
    low, high = effects["median_difference_ci"]
    assert low <= effects["median_difference"] <= high
    moved = effects["fraction_moved"]
    assert moved["k"] == int((d > 0).sum())
    ci = sps.binomtest(moved["k"], d.size).proportion_ci(0.9, method="exact")
    assert moved["ci"] == pytest.approx([ci.low, ci.high])
    assert -1.0 <= effects["rank_biserial"] <= 1.0
    assert paired_difference(np.abs(d) + 0.01).effects["rank_biserial"] == 1.0
    assert paired_difference(-np.abs(d) - 0.01).effects["rank_biserial"] == -1.0


def test_bootstrap_intervals_are_reproducible(xy):
    x, y = xy
    a, b = paired_difference(x, y).effects, paired_difference(x, y).effects
    assert a["median_difference_ci"] == b["median_difference_ci"]
    assert a["cohen_dz_ci"] == b["cohen_dz_ci"]


def test_constant_samples_are_exact():
    zero = paired_difference(np.zeros(12), threshold=0.0)
    assert zero.kind is VerdictKind.INCONCLUSIVE and zero.ci == (0.0, 0.0)
    assert "exactly" in zero.verdict.reason
    assert paired_difference(np.full(12, 0.5), threshold=0.1).kind is VerdictKind.SUPPORTED
    assert paired_difference(np.full(12, 0.5), threshold=0.6).kind is VerdictKind.REFUTED
    json.dumps(paired_difference(np.full(12, 0.5)).to_dict(), allow_nan=False)


def test_two_sided_needs_a_margin_to_refute():
    d = np.random.default_rng(5).normal(0.0, 0.01, 200)
    assert paired_difference(d, alternative="two-sided").kind is VerdictKind.INCONCLUSIVE
    with_margin = paired_difference(d, alternative="two-sided", margin=0.05)
    assert with_margin.kind is VerdictKind.REFUTED
    assert with_margin.margin == (-0.05, 0.05)
    assert paired_difference(d + 0.2, alternative="two-sided").kind is VerdictKind.SUPPORTED


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": [1.0, np.nan, 2.0, 3.0]}, "non-finite value"),
        ({"x": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 2.0, 3.0]}, "one value per unit"),
        ({"x": [1.0, 2.0]}, "at least 3 units"),
        ({"x": [[1.0, 2.0], [3.0, 4.0]]}, "1-D"),
        ({"x": [1.0, 2.0, 3.0], "alpha": 0.7}, "alpha"),
        ({"x": [1.0, 2.0, 3.0], "alternative": "bigger"}, "alternative"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(StatsInputError, match=message):
        paired_difference(**kwargs)


def test_nan_positions_are_reported():
    with pytest.raises(StatsInputError) as info:
        paired_difference([1.0, 2.0, np.nan, 4.0, np.inf])
    assert info.value.positions == (2, 4)


def test_unknown_test_and_misplaced_margin():
    with pytest.raises(ValueError, match="test must be"):
        paired_difference([1.0, 2.0, 3.0], test="sign")
    with pytest.raises(ValueError, match="margin applies to two-sided"):
        paired_difference([1.0, 2.0, 3.0], margin=0.1)


def test_result_vocabulary_and_serialization(xy):
    x, y = xy
    r = paired_difference(x, y, names=("unpatched", "patched"))
    assert r.alternative == "greater"
    assert r.confidence_interval() == r.ci
    wide, narrow = r.confidence_interval(0.99), r.confidence_interval(0.5)
    assert wide.low < narrow.low < narrow.high < wide.high
    with pytest.raises(ValueError, match="confidence_level"):
        r.confidence_interval(1.5)
    data = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert data["verdict"] == "supported" and data["n"] == x.size
    assert r.unit_label == "unpatched - patched"
    assert "supported" in str(r) and "90% CI" in str(r)
