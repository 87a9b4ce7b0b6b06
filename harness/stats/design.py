"""Sample sizes per budget, and the design effects at which power is promised.

``--budget`` picks a sample size per claim; ``--seeds`` overrides it. A claim may declare
its own default-budget size (an int, scaled for the other budgets) or one size per budget.
The design points below are the effects at which the calibration simulations (see
:mod:`harness.stats.calibration` and ``tests/test_stats_calibration.py``) check that the
default sample size has power >= 0.8; they are stated in standardized units so they apply
to any metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

BUDGETS = ("quick", "default", "paper")
#: Units per claim at the default budget when a claim does not say otherwise.
DEFAULT_SAMPLE_SIZE = 100
#: How a claim's default-budget size scales for the other budgets.
BUDGET_SCALE = {"quick": 0.3, "default": 1.0, "paper": 4.0}
#: No budget goes below this many units.
MIN_SAMPLE_SIZE = 10


def sample_size(
    budget: str, n: int | Mapping[str, int] | None = None, override: int | None = None
) -> int:
    """Units to draw for one claim: ``override`` (``--seeds``) wins, then ``n``, then default."""
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {BUDGETS}, got {budget!r}")
    if override is not None:
        if int(override) < 3:
            raise ValueError(f"--seeds must be >= 3, got {override}")
        return int(override)
    if isinstance(n, Mapping):
        missing = [b for b in BUDGETS if b not in n]
        if missing:
            raise ValueError(f"per-budget sample sizes lack {missing}; give all of {BUDGETS}")
        return int(n[budget])
    base = DEFAULT_SAMPLE_SIZE if n is None else int(n)
    if base < 3:
        raise ValueError(f"a sample size must be >= 3, got {base}")
    return max(min(base, MIN_SAMPLE_SIZE), math.ceil(base * BUDGET_SCALE[budget]))


@dataclass(frozen=True)
class DesignPoint:
    """An effect, in words and numbers, at which a test type must have power >= 0.8."""

    test: str
    description: str
    n: int
    effect: float


DESIGN_POINTS: dict[str, DesignPoint] = {
    p.test: p
    for p in (
        DesignPoint("paired_t", "normal differences, mean 0.3 SD above the threshold", 100, 0.3),
        DesignPoint(
            "paired_johnson",
            "skewed differences (centred gamma, skewness 1), mean 0.4 SD above the threshold",
            60,
            0.4,
        ),
        DesignPoint(
            "wilcoxon",
            "t(3) differences, centre 0.35 scale units above the threshold",
            100,
            0.35,
        ),
        DesignPoint("equivalence", "true effect 0, margin +-0.4 SD (TOST)", 100, 0.4),
        DesignPoint(
            "magnitude",
            "half-normal per-unit magnitudes, mean 0.3 SD below the margin (one-sided)",
            100,
            0.3,
        ),
        DesignPoint("ratio", "log ratios normal, mean 0.3 SD above log(threshold)", 100, 0.3),
        DesignPoint(
            "trend",
            "per-unit slopes over levels 0,1,2,3,5: mean 0.3 SD of the slopes below 0",
            100,
            0.3,
        ),
        DesignPoint(
            "association",
            "independent units, standardized slope 0.45, noise SD 1 + 0.5 |x| (heteroskedastic)",
            100,
            0.45,
        ),
        DesignPoint("ordering", "three conditions, each consecutive difference 0.35 SD", 100, 0.35),
        DesignPoint("proportion", "true proportion 0.9 vs threshold 0.8", 100, 0.1),
        DesignPoint("accuracy", "held-out accuracy 0.82 vs base rate 0.7", 100, 0.12),
        DesignPoint(
            "sequential",
            "paired t, mean 0.3 SD above the threshold, 5 looks, cap 100",
            100,
            0.3,
        ),
    )
}
