"""Wilcoxon signed-rank test (scipy), its Hodges-Lehmann estimate and test-inverted interval.

The interval is the set of shifts the one-sided signed-rank tests do not reject, so it
agrees with the test by construction: 'supported' (p < alpha) happens exactly when the
(1 - 2 alpha) interval lies beyond the threshold. The signed-rank statistic only changes at
Walsh averages (pairwise means), so the interval's ends are Walsh averages; they are found
by bisection over them, calling ``scipy.stats.wilcoxon`` at points between them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats

from harness.stats.onesample import constant_sample_pvalues
from harness.stats.validation import is_constant


def _method(shifted: np.ndarray) -> str:
    """Exact null distribution for small samples without ties or zeros, else the normal
    approximation with tie correction. (scipy's 'auto' falls back to a random permutation
    test for small tied samples: slow and not reproducible.)"""
    if shifted.shape[-1] > 50:
        return "asymptotic"
    magnitudes = np.sort(np.abs(shifted), axis=-1)
    tied = np.any(np.diff(magnitudes, axis=-1) == 0) or np.any(magnitudes == 0)
    return "asymptotic" if tied else "exact"


def signed_rank_pvalues(d: np.ndarray, popmean: float | np.ndarray, alternative: str) -> np.ndarray:
    """p-value of the signed-rank test of 'd symmetric about popmean' along the last axis."""
    d = np.asarray(d, dtype=float)
    shifted = d - np.asarray(popmean, dtype=float)[..., None]
    all_zero = np.all(shifted == 0, axis=-1)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        safe = np.where(all_zero[..., None], 1.0, shifted)
        method = _method(safe)
        p = np.asarray(stats.wilcoxon(safe, axis=-1, alternative=alternative, method=method).pvalue)
    p = np.where(all_zero, 1.0, p)
    const = is_constant(d)
    if np.any(const):
        p = np.where(const, constant_sample_pvalues(d, popmean, alternative), p)
    return p


def signed_rank_statistic(d: np.ndarray, popmean: float, alternative: str) -> float:
    """scipy's signed-rank statistic for ``d - popmean`` (R+ for one-sided alternatives)."""
    shifted = np.asarray(d, dtype=float) - popmean
    if np.all(shifted == 0):
        return 0.0
    return float(
        stats.wilcoxon(shifted, alternative=alternative, method=_method(shifted)).statistic
    )


def walsh_averages(d: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(d.size)
    return np.sort((d[i] + d[j]) / 2.0)


def hodges_lehmann(d: np.ndarray) -> float:
    """The pseudo-median estimated by the median of the Walsh averages."""
    return float(np.median(walsh_averages(np.asarray(d, dtype=float))))


def _first_true(size: int, predicate: Callable[[int], bool]) -> int:
    """Smallest index in [0, size) where a monotone predicate turns true (size if never)."""
    lo, hi = 0, size
    while lo < hi:
        mid = (lo + hi) // 2
        if predicate(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def signed_rank_interval(d: np.ndarray, confidence_level: float) -> tuple[float, float]:
    """Two-sided interval for the pseudo-median by inverting the one-sided signed-rank tests.

    Either end is infinite when even the most extreme shift is not rejected (tiny n).
    """
    d = np.asarray(d, dtype=float)
    if is_constant(d):
        return float(d.mean()), float(d.mean())
    tail = (1.0 - confidence_level) / 2.0
    w = np.unique(walsh_averages(d))
    mids = np.concatenate([[w[0] - 1.0], (w[:-1] + w[1:]) / 2.0, [w[-1] + 1.0]])

    def p_at(index: int, alternative: str) -> float:
        return float(signed_rank_pvalues(d, mids[index], alternative))

    # p('greater') rises with the shift: shifts below the first non-rejected one are excluded.
    i = _first_true(mids.size, lambda k: p_at(k, "greater") >= tail)
    low = -np.inf if i == 0 else float(w[i - 1])
    # p('less') falls with the shift: shifts from the first rejected one on are excluded.
    j = _first_true(mids.size, lambda k: p_at(k, "less") < tail) - 1
    high = np.inf if j >= mids.size - 1 else float(w[j])
    return low, high
