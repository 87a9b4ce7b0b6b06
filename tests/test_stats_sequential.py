"""Group-sequential design: spending, boundaries, stage-wise p, and the sampler's rounds."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats import (
    Equivalence,
    GroupSequentialDesign,
    Measurement,
    PairedDifference,
    SamplingPlan,
    VerdictKind,
)
from harness.stats.paired import difference_pvalues
from harness.stats.sequential import first_decisive, look_sizes, obrien_fleming_spending
from harness.stats.verdict import INCONCLUSIVE_CODE, REFUTED_CODE, SUPPORTED_CODE, decide

FIVE = (0.2, 0.4, 0.6, 0.8, 1.0)


def test_spending_grows_to_alpha():
    t = np.linspace(0.05, 1.0, 20)
    spent = obrien_fleming_spending(t, 0.05)
    assert np.all(np.diff(spent) > 0)
    assert spent[-1] == pytest.approx(0.05)
    assert spent[0] < 1e-6  # O'Brien-Fleming keeps early looks strict


def test_boundaries_spend_alpha_as_planned():
    """Monte Carlo of the canonical Brownian motion: crossing rates follow the spending."""
    design = GroupSequentialDesign(0.05, FIVE)
    rng = np.random.default_rng(0)
    paths = 400_000
    increments = rng.standard_normal((paths, len(FIVE))) * np.sqrt(np.diff((0.0, *FIVE)))
    z = np.cumsum(increments, axis=1) / np.sqrt(FIVE)
    crossed = np.cumsum(z >= np.array(design.critical_z), axis=1) > 0
    observed = crossed.mean(axis=0)
    planned = np.array(design.cumulative_alpha)
    se = np.sqrt(planned * (1 - planned) / paths)
    assert np.all(np.abs(observed - planned) <= 4 * se + 1e-6)


def test_design_is_reproducible_and_validated():
    a = GroupSequentialDesign(0.05, FIVE).nominal_alphas
    assert a == GroupSequentialDesign(0.05, FIVE).nominal_alphas
    assert list(a) == sorted(set(a))
    assert GroupSequentialDesign(0.05, (1.0,)).nominal_alphas == pytest.approx((0.05,))
    for bad in [(0.5, 0.4, 1.0), (0.5, 0.9), (0.0, 1.0)]:
        with pytest.raises(ValueError, match="information"):
            GroupSequentialDesign(0.05, bad)


def test_stagewise_pvalue_agrees_with_the_boundary():
    design = GroupSequentialDesign(0.05, FIVE)
    for look, nominal in enumerate(design.nominal_alphas):
        assert design.stagewise_pvalue(look, nominal * 0.9) < 0.05
        assert design.stagewise_pvalue(look, nominal * 1.1) > design.cumulative_alpha[look]
        ps = [design.stagewise_pvalue(look, p) for p in (1e-6, 1e-3, 0.1, 0.5)]
        assert ps == sorted(ps)
    assert design.stagewise_pvalue(0, 0.2) == 0.2
    assert design.stagewise_pvalue(4, 0.5) > 0.05


def test_look_sizes():
    assert look_sizes(100, 5) == (20, 40, 60, 80, 100)
    assert look_sizes(30, 5) == (30,)  # no look on fewer than 20 new units
    assert look_sizes(60, 5) == (20, 40, 60)
    assert look_sizes(30, 5, min_per_look=10) == (10, 20, 30)
    assert look_sizes(8, 5) == (8,)
    with pytest.raises(ValueError):
        look_sizes(100, 0)


def test_first_decisive():
    codes = np.array(
        [
            [0, 0, SUPPORTED_CODE, REFUTED_CODE],
            [0, 0, 0, 0],
            [REFUTED_CODE, 0, 0, SUPPORTED_CODE],
        ]
    )
    final, stop = first_decisive(codes)
    assert final.tolist() == [SUPPORTED_CODE, INCONCLUSIVE_CODE, REFUTED_CODE]
    assert stop.tolist() == [2, 3, 0]


def _plan(n: int, sequential: bool = True) -> SamplingPlan:
    return SamplingPlan(n=n, sequential=sequential, rounds=5, alpha=0.05, progress=False)


def test_sampler_stops_at_the_first_decisive_look():
    drawn: list[int] = []

    def metric(units):
        drawn.extend(units)
        return np.full(len(units), 1.0) + 0.01 * np.arange(len(units))

    m = Measurement(lambda base: iter(range(base, base + 10_000)), metric, _plan(100))
    r = m.test(PairedDifference(threshold=0.0))
    assert r.kind is VerdictKind.SUPPORTED
    assert len(drawn) == 20 and r.n == 20
    assert r.sequential["stopped_at_look"] == 1 and r.sequential["stopped_early"]
    assert r.pvalue_nominal is not None and r.pvalue == pytest.approx(r.pvalue_nominal)
    assert "group-sequential" in r.verdict.reason


def test_sampler_reaches_the_cap_when_nothing_decides():
    def metric(units):  # +1, -1, +1, ... : mean exactly 0 at every look
        return np.array([1.0 if u % 2 else -1.0 for u in units])

    m = Measurement(lambda base: iter(range(base, base + 10_000)), metric, _plan(100))
    r = m.test(PairedDifference(threshold=0.0))
    assert r.kind is VerdictKind.INCONCLUSIVE
    assert r.n == 100 and not r.sequential["stopped_early"]
    assert [look["n"] for look in r.sequential["looks"]] == [20, 40, 60, 80, 100]
    assert r.pvalue > 0.05


def test_sampler_rule_is_the_simulated_rule():
    """The driver and the calibration simulation stop at the same look with the same verdict."""
    design_sizes = look_sizes(60, 5)
    design = GroupSequentialDesign.for_sizes(0.05, design_sizes)
    rng = np.random.default_rng(4)
    data = rng.normal(0.25, 1.0, (12, 60))
    codes = np.stack(
        [
            decide(*difference_pvalues(data[:, :s], 0.0, "greater"), design.nominal_alphas[k])
            for k, s in enumerate(design_sizes)
        ],
        axis=-1,
    )
    final, stop = first_decisive(codes)
    for row, code, look in zip(data, final, stop, strict=True):
        m = Measurement(lambda _base: iter(range(60)), lambda us, row=row: row[us], _plan(60))
        r = m.test(PairedDifference(threshold=0.0))
        assert r.sequential["stopped_at_look"] == look + 1
        assert r.kind is VerdictKind.from_code(int(code))


def test_two_sided_claims_cannot_be_sequential():
    m = Measurement(lambda _b: iter(range(1000)), lambda us: np.ones(len(us)), _plan(50))
    with pytest.raises(ValueError, match="one-sided or equivalence"):
        m.test(PairedDifference(alternative="two-sided"))


def test_sequential_equivalence():
    m = Measurement(
        lambda _b: iter(range(1000)),
        lambda us: np.array([0.001 * ((u % 3) - 1) for u in us]),
        _plan(100),
    )
    r = m.test(Equivalence(margin=0.05))
    assert r.kind is VerdictKind.SUPPORTED and r.sequential["stopped_at_look"] == 1
