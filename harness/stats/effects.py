"""Effect sizes of a paired design: how large, how consistent, in which direction."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from harness.stats.intervals import bootstrap_ci, clopper_pearson
from harness.stats.validation import is_constant


def cohen_dz(d: np.ndarray) -> float:
    """Standardized mean difference of paired data: mean / SD of the differences."""
    sd = float(np.std(d, ddof=1))
    mean = float(np.mean(d))
    if is_constant(d):
        return 0.0 if mean == 0 else float(np.sign(mean)) * np.inf
    return mean / sd


def rank_biserial(d: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation: (R+ - R-) / (R+ + R-), zeros dropped.

    R+ and R- are the sums of the ranks of |d| (scipy ``rankdata``) over the positive and
    negative differences: +1 when every unit moved up, -1 when every unit moved down.
    """
    nz = d[d != 0]
    if nz.size == 0:
        return 0.0
    ranks = stats.rankdata(np.abs(nz))
    r_plus, r_minus = ranks[nz > 0].sum(), ranks[nz < 0].sum()
    return float((r_plus - r_minus) / (r_plus + r_minus))


def fraction_moved(d: np.ndarray, direction: str, confidence_level: float) -> dict[str, Any]:
    """Units that moved in the claimed direction, with the exact (Clopper-Pearson) interval."""
    moved = d < 0 if direction == "less" else d > 0
    k, n = int(moved.sum()), int(d.size)
    return {
        "direction": "down" if direction == "less" else "up",
        "k": k,
        "n": n,
        "estimate": k / n,
        "ci": list(clopper_pearson(k, n, confidence_level)),
        "ci_level": confidence_level,
    }


def paired_effects(d: np.ndarray, *, direction: str, confidence_level: float) -> dict[str, Any]:
    """Mean and median difference, d_z, rank-biserial r and the fraction that moved.

    The median's interval is a seeded percentile bootstrap (BCa is unreliable for the
    median of small discrete samples); d_z's is a seeded BCa bootstrap.
    """
    return {
        "mean_difference": float(np.mean(d)),
        "median_difference": float(np.median(d)),
        "median_difference_ci": list(
            bootstrap_ci(d, np.median, confidence_level=confidence_level, method="percentile")
        ),
        "cohen_dz": cohen_dz(d),
        "cohen_dz_ci": list(_dz_ci(d, confidence_level)),
        "rank_biserial": rank_biserial(d),
        "fraction_moved": fraction_moved(d, direction, confidence_level),
    }


def _dz(x: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(x, axis=axis) / np.std(x, axis=axis, ddof=1)


def _dz_ci(d: np.ndarray, confidence_level: float) -> tuple[float, float]:
    if is_constant(d):
        point = cohen_dz(d)
        return point, point
    return bootstrap_ci(d, _dz, confidence_level=confidence_level, method="BCa")
