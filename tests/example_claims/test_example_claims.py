"""A tiny claim suite over synthetic metrics: one claim per verdict form.

EX2 is built to be refuted and EX3 to be inconclusive, so this suite fails on purpose; it
is not collected by ``pytest tests/`` and runs inside pytester in the report tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from matplotlib.figure import Figure
from synthetic import PTarget, rng_for

from harness import stats
from harness.stats import (
    Equivalence,
    Ordering,
    PairedDifference,
    Proportion,
    Ratio,
    Trend,
)


@pytest.mark.claim("EX1", source="tests/example_claims (synthetic)")
def test_ex1_subtracting_the_vector_lowers_p_target(claim, units):
    """Subtracting the synthetic vector lowers P(target).

    P(target) at the decision square drops by more than 0.1 when c = -1
    """
    params = claim.params
    sample = claim.measure(units, PTarget(drop_mean=0.5, drop_sd=0.12, salt=1), n=80)
    result = sample.test(PairedDifference("unpatched", "patched", threshold=params.threshold))
    fig = Figure(figsize=(3, 3))
    ax = fig.subplots()
    grid = np.mgrid[0:5, 0:5]
    ax.quiver(grid[1], grid[0], np.ones((5, 5)), np.zeros((5, 5)))
    ax.set_title("example vector field")
    claim.add_figure(f"vector field, seed {result.sample.seeds[0]}", fig, "a stand-in figure")
    claim.add_note("synthetic data: the generator's true mean drop is 0.5")
    claim.conclude(result)


@pytest.mark.claim("EX2", source="tests/example_claims (synthetic)")
def test_ex2_placebo_lowers_p_target(claim, units):
    """A placebo patch lowers P(target) by more than 0.1.

    built false: the placebo changes P(target) by about 0
    """
    sample = claim.measure(units, PTarget(drop_mean=0.0, drop_sd=0.05, salt=2), n=80)
    result = sample.test(PairedDifference("unpatched", "patched", threshold=claim.params.threshold))
    rises = [s for s, d in zip(result.sample.seeds, result.unit_values, strict=True) if d < 0]
    for seed in rises[:3]:
        claim.add_counterexample("P(target) rises under the patch", seed=seed, n_rises=len(rises))
    claim.conclude(result)


@pytest.mark.claim("EX3", source="tests/example_claims (synthetic)")
def test_ex3_weak_patch(claim, units):
    """A weak patch lowers P(target).

    built undecidable: a tiny drop in noisy data with few seeds
    """
    sample = claim.measure(units, PTarget(drop_mean=0.01, drop_sd=0.3, salt=3), n=claim.params.n)
    claim.conclude(
        sample.test(PairedDifference("unpatched", "patched", threshold=claim.params.threshold))
    )


@pytest.mark.claim("EX4", source="tests/example_claims (synthetic)")
def test_ex4_adding_does_nothing(claim, units):
    """Adding the synthetic vector does (almost) nothing.

    |mean change in P(target)| < 0.05 (TOST)
    """
    sample = claim.measure(units, PTarget(drop_mean=0.0, drop_sd=0.03, salt=4), n=80)
    claim.conclude(sample.test(Equivalence("unpatched", "patched", margin=claim.params.margin)))


@pytest.mark.claim("EX5", source="tests/example_claims (synthetic)")
def test_ex5_effect_decreases_with_offset(claim, units):
    """The transferred vector's effect decreases with the cheese offset.

    per-maze drop falls as the offset grows through 0, 1, 2, 3, 5
    """
    offsets = np.array(claim.params.require("offsets"), dtype=float)

    def drops(us):
        return np.array(
            [0.5 * np.exp(-offsets / 2.0) + rng_for(u, 5).normal(0, 0.08, offsets.size) for u in us]
        )

    sample = claim.measure(units, drops, n=60)
    claim.conclude(
        sample.test(Trend(levels=offsets, alternative="less", threshold=claim.params.threshold))
    )


@pytest.mark.claim("EX6", source="tests/example_claims (synthetic)")
def test_ex6_ordering_of_channel_sets(claim, units):
    """All cheese channels > effective subset > one channel.

    retargeting success is ordered all-11 > effective > channel 55
    """

    def success(us):
        base = np.array([rng_for(u, 6).normal(0.3, 0.05) for u in us])
        return {
            "all": base + 0.3 + np.array([rng_for(u, 7).normal(0, 0.1) for u in us]),
            "effective": base + 0.15 + np.array([rng_for(u, 8).normal(0, 0.1) for u in us]),
            "ch55": base,
        }

    sample = claim.measure(units, success, n=60)
    claim.conclude(sample.test(Ordering("all", "effective", "ch55")))


@pytest.mark.claim("EX7", source="tests/example_claims (synthetic)")
def test_ex7_clamp_ratio(claim, units):
    """Clamping raises the path probability to the target.

    normalized path probability patched / unpatched > 1 (geometric mean)
    """

    def path_probability(us):
        before = np.array([rng_for(u, 9).uniform(0.05, 0.3) for u in us])
        factor = np.exp(np.array([rng_for(u, 10).normal(0.8, 0.5) for u in us]))
        return {"patched": np.clip(before * factor, 1e-6, 1.0), "unpatched": before}

    sample = claim.measure(units, path_probability, n=60)
    claim.conclude(sample.test(Ratio("patched", "unpatched", threshold=claim.params.threshold)))


@dataclass(frozen=True)
class ThresholdRuleAccuracy:
    """A verdict form of one's own: fit a one-feature rule on the first 80% of the units and
    test its accuracy on the rest against the training majority rate."""

    threshold: float = 0.0

    def evaluate(self, values: stats.Values, alpha: float) -> stats.Result:
        n_train = int(0.8 * values.n)
        y, x = values["got_cheese"], values["distance"]
        base_rate = max(y[:n_train].mean(), 1 - y[:n_train].mean())
        cut = np.median(x[:n_train][y[:n_train] == 1])  # a one-feature rule fit on the train split
        predictions = (x[n_train:] < cut * 1.5).astype(float)
        correct = predictions == y[n_train:]
        return stats.accuracy_vs_base_rate(
            correct, base_rate=base_rate, threshold=self.threshold, alpha=alpha
        )


@pytest.mark.claim("EX8", source="tests/example_claims (synthetic)")
def test_ex8_held_out_accuracy(claim, units):
    """A distance feature predicts cheese-getting above the base rate.

    held-out accuracy of a threshold rule exceeds the training majority rate
    """

    def episode(us):
        distance = np.array([rng_for(u, 11).uniform(0, 10) for u in us])
        noise = np.array([rng_for(u, 12).normal(0, 1.5) for u in us])
        return {"distance": distance, "got_cheese": (distance + noise < 6).astype(float)}

    sample = claim.measure(units, episode, n=400)
    claim.conclude(sample.test(ThresholdRuleAccuracy(threshold=claim.params.threshold)))


@pytest.mark.claim("EX9", source="tests/example_claims (synthetic)")
def test_ex9_sign_stability(claim):
    """The distance coefficient is negative in almost every split.

    share of splits with a negative coefficient exceeds 0.8
    """

    def split_signs(splits):
        return np.array([rng_for(s, 13).normal(-1.0, 0.4) < 0 for s in splits], dtype=float)

    sample = claim.measure(lambda base: iter(range(base, base + 10_000)), split_signs, n=100)
    claim.conclude(sample.test(Proportion(threshold=claim.params.threshold, name="negative share")))
