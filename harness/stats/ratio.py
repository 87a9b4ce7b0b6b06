"""Ratios on the log scale: 'the patch multiplies the path probability by more than r' (CH3).

A ratio of positive per-unit quantities is tested as a paired difference of logarithms, so
the estimate is the geometric mean ratio and its interval is the back-transformed interval
of the mean log ratio; the threshold 1 means "any increase".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from harness.stats.errors import StatsInputError
from harness.stats.paired import MEAN_TESTS, paired_difference
from harness.stats.result import DirectionalResult
from harness.stats.validation import as_sample, check_finite_number


@dataclass(frozen=True, kw_only=True)
class RatioResult(DirectionalResult):
    """A per-unit ratio (geometric mean) against a threshold ratio."""

    form: ClassVar[str] = "ratio"


def _positive(values: object, name: str) -> np.ndarray:
    arr = as_sample(values, name)
    bad = np.flatnonzero(arr <= 0)
    if bad.size:
        raise StatsInputError(
            f"{name} must be > 0 for a ratio; {bad.size} value(s) are <= 0 at positions "
            f"{bad[:10].tolist()}",
            positions=bad.tolist(),
        )
    return arr


def ratio(
    x: object,
    y: object,
    *,
    threshold: float = 1.0,
    alternative: str = "greater",
    alpha: float = 0.05,
    test: str = "t",
    names: tuple[str, str] = ("x", "y"),
    label: str = "",
) -> RatioResult:
    """Test the per-unit ratio ``x / y`` against ``threshold`` (a ratio, > 0)."""
    threshold = check_finite_number(threshold, "threshold")
    if threshold <= 0:
        raise StatsInputError(f"a ratio threshold must be > 0, got {threshold}")
    a, b = _positive(x, names[0]), _positive(y, names[1])
    log_result = paired_difference(
        np.log(a),
        np.log(b),
        alternative=alternative,
        threshold=math.log(threshold),
        alpha=alpha,
        test=test,
        names=(f"log {names[0]}", f"log {names[1]}"),
    )
    ci = (math.exp(log_result.ci[0]), math.exp(log_result.ci[1]))
    what = "geometric mean ratio" if test in MEAN_TESTS else "Hodges-Lehmann ratio"
    name = f"{what} {names[0]} / {names[1]}"
    log_interval = log_result.interval_fn
    assert log_interval is not None

    def interval_fn(level: float) -> tuple[float, float]:
        lo, hi = log_interval(level)
        return math.exp(lo), math.exp(hi)

    effects = dict(log_result.effects)
    effects["mean_log_ratio"] = effects.pop("mean_difference")
    effects["median_log_ratio"] = effects.pop("median_difference")
    effects["median_log_ratio_ci"] = effects.pop("median_difference_ci")
    effects["median_ratio"] = math.exp(effects["median_log_ratio"])
    return log_result.recast(
        RatioResult,
        test=f"{log_result.test} on log ratios",
        estimate=math.exp(log_result.estimate),
        estimate_name=name,
        ci=ci,
        threshold=threshold,
        effects=effects,
        label=label,
        unit_label=f"log({names[0]} / {names[1]})",
        interval_fn=interval_fn,
    )
