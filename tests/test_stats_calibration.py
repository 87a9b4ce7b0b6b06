"""Calibration by simulation: error rates at most alpha + 3 SE, power >= 0.8 at design points.

Each simulation runs the decision code the claims use on thousands of synthetic
experiments at once (see harness/stats/calibration.py). The default run uses 4,000
experiments per vectorized check (2,000 for the looped HC3 association); the ``slow``
versions use 20,000 and also the quick budget's small samples.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from harness.stats import calibration as cal
from harness.stats.design import DESIGN_POINTS

ALPHA = 0.05
N_SIM = 4000


@pytest.fixture
def rng(request) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))


def assert_error_rates(rates: cal.Rates) -> None:
    bound = cal.error_bound(ALPHA, rates.experiments)
    assert rates.experiments >= 2000
    assert rates.supported <= bound, f"false 'supported' rate {rates.supported:.4f} > {bound:.4f}"
    assert rates.refuted <= bound, f"false 'refuted' rate {rates.refuted:.4f} > {bound:.4f}"


def dp(name: str):
    return DESIGN_POINTS[name]


# Under the null the true effect sits on the edge of the claimed region, where both the
# 'supported' and the 'refuted' error are largest.
NULLS = {
    "paired_t": lambda rng, n, k=N_SIM: cal.simulate_paired(rng, k, n, 0.0),
    "paired_johnson": lambda rng, n, k=N_SIM: cal.simulate_paired(
        rng, k, n, 0.0, test="johnson", noise="skewed"
    ),
    "wilcoxon": lambda rng, n, k=N_SIM: cal.simulate_paired(
        rng, k, n, 0.0, test="wilcoxon", noise="t3"
    ),
    "equivalence": lambda rng, n, k=N_SIM: cal.simulate_equivalence(
        rng, k, n, dp("equivalence").effect, dp("equivalence").effect
    ),
    "magnitude": lambda rng, n, k=N_SIM: cal.simulate_magnitude(rng, k, n, 0.0),
    "ratio": lambda rng, n, k=N_SIM: cal.simulate_ratio(rng, k, n, 0.0),
    "trend": lambda rng, n, k=N_SIM: cal.simulate_trend(rng, k, n, 0.0),
    "trend_spearman_missing": lambda rng, n, k=N_SIM: cal.simulate_trend(
        rng, k, n, 0.0, per_unit="spearman", missing=0.2
    ),
    "association": lambda rng, n, k=N_SIM: cal.simulate_association(rng, k // 2, n, 0.0),
    "ordering": lambda rng, n, k=N_SIM: cal.simulate_ordering(rng, k, n, (0.0, 1.0)),
    "proportion": lambda rng, n, k=N_SIM: cal.simulate_proportion(rng, k, n, 0.8, 0.8),
    "accuracy": lambda rng, n, k=N_SIM: cal.simulate_proportion(rng, k, n, 0.7, 0.7),
    "sequential": lambda rng, n, k=N_SIM: cal.simulate_sequential(rng, k, n, 0.0),
    "sequential_equivalence": lambda rng, n, k=N_SIM: cal.simulate_sequential(
        rng, k, n, 0.4, form="equivalence", margin=0.4
    ),
}

POWER = {
    "paired_t": lambda rng: cal.simulate_paired(
        rng, N_SIM, dp("paired_t").n, dp("paired_t").effect
    ),
    "wilcoxon": lambda rng: cal.simulate_paired(
        rng, N_SIM, dp("wilcoxon").n, dp("wilcoxon").effect, test="wilcoxon", noise="t3"
    ),
    "paired_johnson": lambda rng: cal.simulate_paired(
        rng,
        N_SIM,
        dp("paired_johnson").n,
        dp("paired_johnson").effect,
        test="johnson",
        noise="skewed",
    ),
    "equivalence": lambda rng: cal.simulate_equivalence(
        rng, N_SIM, dp("equivalence").n, 0.0, dp("equivalence").effect
    ),
    "magnitude": lambda rng: cal.simulate_magnitude(
        rng, N_SIM, dp("magnitude").n, dp("magnitude").effect
    ),
    "ratio": lambda rng: cal.simulate_ratio(rng, N_SIM, dp("ratio").n, dp("ratio").effect),
    "trend": lambda rng: cal.simulate_trend(rng, N_SIM, dp("trend").n, dp("trend").effect),
    "association": lambda rng: cal.simulate_association(
        rng, 2000, dp("association").n, dp("association").effect
    ),
    "ordering": lambda rng: cal.simulate_ordering(
        rng, N_SIM, dp("ordering").n, (dp("ordering").effect,) * 2
    ),
    "proportion": lambda rng: cal.simulate_proportion(rng, N_SIM, dp("proportion").n, 0.9, 0.8),
    "accuracy": lambda rng: cal.simulate_proportion(rng, N_SIM, dp("accuracy").n, 0.82, 0.7),
    "sequential": lambda rng: cal.simulate_sequential(
        rng, N_SIM, dp("sequential").n, dp("sequential").effect
    ),
}


def test_every_design_point_has_a_power_check():
    assert set(POWER) == set(DESIGN_POINTS)


@pytest.mark.parametrize("form", sorted(NULLS))
def test_false_positive_rate(form, rng):
    assert_error_rates(NULLS[form](rng, 100))


@pytest.mark.parametrize("form", sorted(POWER))
def test_power_at_the_design_effect(form, rng):
    rates = POWER[form](rng)
    assert rates.supported >= 0.8, f"power {rates.supported:.3f} < 0.8 for {form}"


def test_sequential_stops_early_under_the_alternative(rng):
    rates = cal.simulate_sequential(rng, N_SIM, 100, 0.5)
    assert rates.supported >= 0.95
    assert rates.mean_n < 70


def test_naive_repeated_testing_would_fail_this_check(rng):
    """Testing every look at the full alpha inflates the error: the check has teeth."""
    naive = cal.simulate_sequential(rng, N_SIM, 100, 0.0, naive=True)
    assert naive.supported > cal.error_bound(ALPHA, N_SIM)


@pytest.mark.slow
@pytest.mark.parametrize("n", [30, 100])
@pytest.mark.parametrize(
    "form", ["paired_t", "wilcoxon", "equivalence", "trend", "ordering", "sequential"]
)
def test_false_positive_rate_long(form, n, rng):
    assert_error_rates(NULLS[form](rng, n, 20_000))
