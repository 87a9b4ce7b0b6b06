"""The generic sampler: seeded streams, batched metrics, columns, errors that name seeds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from harness.stats import (
    AllOf,
    Equivalence,
    Measurement,
    MetricError,
    PairedDifference,
    SamplingPlan,
    StatsInputError,
    Trend,
    VerdictKind,
    sample_size,
)
from harness.stats.sampling import ColumnError, unit_seed


@dataclass(frozen=True)
class FakeMaze:
    seed: int


def even_mazes(base_seed: int):
    seed = base_seed
    while True:
        if seed % 2 == 0:
            yield FakeMaze(seed)
        seed += 1


def paired_metric(units):
    rng = [np.random.default_rng(u.seed) for u in units]
    before = np.array([g.uniform(0.5, 0.9) for g in rng])
    return {"unpatched": before, "patched": before - 0.3}


def paired_metric_with_levels(units):
    """The paired metric plus both conditions as one (units, 2) column, for trends."""
    cols = paired_metric(units)
    return {**cols, "both": np.stack([cols["unpatched"], cols["patched"]], 1)}


def plan(n: int = 40, **kw) -> SamplingPlan:
    return SamplingPlan(n=n, progress=False, **kw)


def test_units_come_from_the_base_seed_in_batches():
    batches: list[int] = []

    def metric(units):
        batches.append(len(units))
        return paired_metric(units)

    m = Measurement(even_mazes, metric, plan(45, base_seed=10, batch_size=16))
    r = m.test(PairedDifference("unpatched", "patched", threshold=0.1))
    assert batches == [16, 16, 13]
    assert r.sample.seeds == tuple(range(10, 100, 2))
    assert r.sample.base_seed == 10
    assert set(r.sample.values) == {"unpatched", "patched"}
    assert r.kind is VerdictKind.SUPPORTED


def test_same_base_seed_same_numbers():
    a = Measurement(even_mazes, paired_metric, plan(30, base_seed=4))
    b = Measurement(even_mazes, paired_metric, plan(30, base_seed=4, batch_size=7))
    ra, rb = (
        a.test(PairedDifference("unpatched", "patched")),
        b.test(PairedDifference("unpatched", "patched")),
    )
    assert ra.sample.seeds == rb.sample.seeds
    assert ra.to_dict() == rb.to_dict()


def test_plain_ints_and_two_column_arrays():
    m = Measurement(
        lambda base: iter(range(base, base + 100)),
        lambda us: np.column_stack([np.ones(len(us)), np.zeros(len(us)) + 0.1 * np.array(us) % 1]),
        plan(20),
        columns=("a", "b"),
    )
    r = m.test(PairedDifference("a", "b"))
    assert r.n == 20 and r.sample.seeds == tuple(range(20))


def test_matrix_column_for_trends():
    levels = np.array([0.0, 1.0, 2.0])
    m = Measurement(
        lambda base: iter(range(base, base + 100)),
        lambda us: np.array([[1.0, 0.5, 0.2 + 0.01 * (u % 3)] for u in us]),
        plan(12),
    )
    r = m.test(Trend(levels=levels, alternative="less"))
    assert r.kind is VerdictKind.SUPPORTED
    assert m.values.value.shape == (12, 3)


def test_second_analysis_reuses_the_drawn_units():
    calls = []
    m = Measurement(even_mazes, lambda us: calls.append(len(us)) or paired_metric(us), plan(20))
    m.test(PairedDifference("unpatched", "patched"))
    m.test(Equivalence("unpatched", "patched", margin=0.5))
    assert sum(calls) == 20


def test_finite_streams_stop_early():
    m = Measurement(
        lambda _base: iter([FakeMaze(1), FakeMaze(2), FakeMaze(3), FakeMaze(9)]),
        lambda us: np.arange(len(us), dtype=float) + 1.0,
        plan(50),
    )
    r = m.test(PairedDifference())
    assert r.n == 4 and r.sample.exhausted


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (lambda us: np.ones(len(us) - 1), "one entry per unit"),
        (lambda _us: 1.0, "one entry per unit"),
        (lambda _us: {}, "empty dict"),
        (lambda us: ["x"] * len(us), "not numeric"),
    ],
)
def test_bad_metric_output_is_named(metric, message):
    m = Measurement(even_mazes, metric, plan(10))
    with pytest.raises(MetricError, match=message):
        m.test(PairedDifference())


def test_columns_must_stay_the_same():
    flip = iter([{"a": np.ones(5)}, {"b": np.ones(5)}])
    m = Measurement(even_mazes, lambda _us: next(flip), plan(10, batch_size=5))
    with pytest.raises(MetricError, match="returned columns"):
        m.test(PairedDifference("a"))


def test_missing_column_lists_the_available_ones():
    m = Measurement(even_mazes, paired_metric, plan(10))
    with pytest.raises(ColumnError, match="unpatched"):
        m.test(PairedDifference("patchd"))


def test_nan_values_are_reported_with_their_seeds():
    def metric(units):
        return np.array([np.nan if u.seed in (6, 12) else 1.0 + u.seed for u in units])

    m = Measurement(even_mazes, metric, plan(10))
    with pytest.raises(StatsInputError, match=r"seeds \[6, 12\]"):
        m.test(PairedDifference())


def test_units_need_an_int_seed():
    assert unit_seed(FakeMaze(3)) == 3 and unit_seed(np.int64(5)) == 5
    for bad in (True, "7", FakeMaze(None), 2.0):  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="seed"):
            unit_seed(bad)


def test_plan_and_budget_validation():
    with pytest.raises(ValueError, match="n >= 3"):
        SamplingPlan(n=2)
    with pytest.raises(TypeError, match="factory"):
        Measurement([1, 2, 3], paired_metric, plan())  # type: ignore[arg-type]
    assert sample_size("default") == 100
    assert sample_size("quick") < sample_size("default") < sample_size("paper")
    assert sample_size("paper", n=50) == 200
    assert sample_size("quick", n={"quick": 7, "default": 20, "paper": 90}) == 7
    assert sample_size("paper", n=50, override=12) == 12
    with pytest.raises(ValueError, match="budget"):
        sample_size("huge")
    with pytest.raises(ValueError, match="per-budget"):
        sample_size("quick", n={"quick": 7})


@dataclass(frozen=True)
class BrokenForm:
    """A verdict form that forgets to return a result."""

    def evaluate(self, values, alpha):
        return values.n * alpha


def test_a_form_must_return_a_result():
    m = Measurement(even_mazes, paired_metric, plan(10))
    with pytest.raises(TypeError, match=r"must return a harness\.stats Result, got float"):
        m.test(BrokenForm())


def test_every_part_of_a_form_is_tested_at_the_plans_alpha():
    """A form carries no alpha: the measurement passes its own to every part (a forgotten
    ``alpha=`` used to test a part at 0.05 under --alpha 0.01)."""
    m = Measurement(even_mazes, paired_metric_with_levels, plan(30, alpha=0.01))
    r = m.test(
        AllOf(
            PairedDifference("unpatched", "patched", threshold=0.1, label="drop"),
            Equivalence("unpatched", "patched", margin=0.5, label="small"),
            Trend("both", levels=(0, 1)),
        )
    )
    assert [c.alpha for c in r.components] == [0.01, 0.01, 0.01] and r.alpha == 0.01
    assert all(c.ci_level == pytest.approx(0.98) for c in r.components)
    assert [c.label for c in r.components][:2] == ["drop", "small"]
    assert "all 3 parts are supported at alpha = 0.01" in r.reason


def test_a_form_is_a_value_and_a_single_part_is_that_part():
    form = PairedDifference("unpatched", "patched", threshold=0.1)
    assert form == PairedDifference("unpatched", "patched", threshold=0.1)
    m = Measurement(even_mazes, paired_metric, plan(20))
    assert m.test(AllOf(form)).form == "difference"
    assert m.test(form).to_dict()["p_value"] == m.test(AllOf(form)).to_dict()["p_value"]
