"""Interval helpers: seeded bootstrap (scipy) and the exact Clopper-Pearson interval."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats

from harness.stats.validation import is_constant

#: Seed of every bootstrap unless a caller passes another: reports must be reproducible.
BOOTSTRAP_SEED = 20230311


def bootstrap_ci(
    values: np.ndarray,
    statistic: Callable[..., np.ndarray],
    *,
    confidence_level: float,
    method: str = "BCa",
    n_resamples: int = 4999,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """``scipy.stats.bootstrap`` interval of ``statistic(values, axis=-1)``, seeded.

    A constant sample has a point interval (the bootstrap distribution is degenerate);
    BCa falls back to the percentile method when its jackknife is degenerate (NaN).
    """
    values = np.asarray(values, dtype=float)
    if is_constant(values):
        point = float(statistic(values, axis=-1))
        return point, point
    # Resamples of small samples can be constant (statistic undefined); scipy then warns
    # and the interval comes out NaN, which the caller reports as missing.
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap(
            (values,),
            statistic,
            confidence_level=confidence_level,
            method=method,
            n_resamples=n_resamples,
            vectorized=True,
            rng=np.random.default_rng(seed),
        )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if method.lower() == "bca" and not (np.isfinite(low) and np.isfinite(high)):
        return bootstrap_ci(
            values,
            statistic,
            confidence_level=confidence_level,
            method="percentile",
            n_resamples=n_resamples,
            seed=seed,
        )
    return low, high


def clopper_pearson(k: int, n: int, confidence_level: float) -> tuple[float, float]:
    """Exact binomial interval for k successes in n (``binomtest(...).proportion_ci``)."""
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level, method="exact")
    return float(ci.low), float(ci.high)
