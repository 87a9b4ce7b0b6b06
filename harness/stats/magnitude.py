"""'Does nothing' as a claim about size: the mean per-unit |change| lies below a margin.

A signed mean lets rises and falls cancel: a vector that moves every maze's P(cheese) by
0.3, up in half of them and down in the other half, has mean change 0 and passes a TOST
on the signed mean. The claim "does (almost) nothing" is about the *size* of each maze's
change, so this test reads the per-unit magnitude ``|a - b|`` (or a non-negative column,
e.g. a field's total variation) and asks, one-sided, whether its mean lies below the
margin: a one-sample t test of ``magnitude - allowance`` against 0 ('less' supports,
'greater' refutes). Magnitudes are skewed to the right (many small changes, a few large
ones), and there the plain t test's lower tail is too liberal -- it would call "does
nothing" too often (6.4 % at alpha 0.05, n = 100, half-normal magnitudes; 7.6 % for
exponential ones) -- so the statistic carries Johnson's (1978) skewness correction in
Hall's (1992) monotone form (:func:`johnson_statistic`), which brings both error rates back
to alpha (``harness.stats.calibration`` simulates it). A constant sample gets the exact sign test.

The margin is an absolute ``floor``, or -- where the claim compares with another effect
("much smaller than the own vector's drop") -- a per-unit *allowance*
``max(floor, fraction * reference_i)`` from a reference effect measured on the same unit
in the same run. Testing ``magnitude_i - allowance_i`` keeps the design paired and the test
exact at alpha, with no second estimate to propagate; the reported margin is the mean
allowance, and the interval is that of the mean magnitude relative to it.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from harness.stats.effects import paired_effects
from harness.stats.errors import StatsInputError
from harness.stats.onesample import (
    johnson_interval,
    johnson_pvalues,
    johnson_statistic,
    t_statistic,
)
from harness.stats.paired import SIGN_TEST
from harness.stats.result import EquivalenceResult, decision, interval_level
from harness.stats.validation import as_sample, check_alpha, check_finite_number, is_constant

TEST_NAME = (
    "one-sided t test of the mean magnitude against the margin (Johnson's skewness correction)"
)


def allowances(
    n: int, floor: float, fraction: float = 0.0, reference: np.ndarray | None = None
) -> np.ndarray:
    """Per-unit margin: ``floor``, or ``max(floor, fraction * reference)`` per unit."""
    floor = check_finite_number(floor, "margin")
    if floor < 0:
        raise StatsInputError(f"a magnitude margin must be >= 0, got {floor}")
    if reference is None:
        return np.full(n, floor)
    fraction = check_finite_number(fraction, "fraction")
    if fraction <= 0.0:
        raise StatsInputError(f"a relative margin's fraction must be > 0, got {fraction}")
    ref = as_sample(reference, "reference effect")
    if ref.size != n:
        raise StatsInputError(f"the reference effect has {ref.size} units, the magnitudes {n}")
    return np.maximum(floor, fraction * ref)


def magnitude_pvalues(magnitudes: np.ndarray, allowance: float | np.ndarray) -> tuple:
    """(p_support, p_refute) along the last axis; the calibration simulates with this."""
    d = np.asarray(magnitudes, dtype=float) - allowance
    return johnson_pvalues(d, 0.0, "less"), johnson_pvalues(d, 0.0, "greater")


def shifted_interval(d: np.ndarray, shift: float, confidence_level: float) -> tuple[float, float]:
    """The interval of mean(d) (:func:`johnson_interval`), moved by ``shift`` (the mean
    allowance): the mean magnitude's interval relative to the mean margin."""
    low, high = johnson_interval(d, confidence_level)
    return float(low + shift), float(high + shift)


def magnitude_below(
    magnitudes: object,
    *,
    margin: float,
    fraction: float = 0.0,
    reference: object | None = None,
    alpha: float = 0.05,
    name: str = "mean |change|",
    reference_name: str = "",
    label: str = "",
) -> EquivalenceResult:
    """Claim: the mean of the non-negative per-unit ``magnitudes`` lies below the margin.

    ``margin`` is the absolute floor; with ``reference`` (per-unit effects) and ``fraction``
    each unit's allowance is ``max(margin, fraction * reference_i)``.
    """
    alpha = check_alpha(alpha)
    mag = as_sample(magnitudes, name)
    if np.any(mag < 0):
        raise StatsInputError(f"{name}: magnitudes must be >= 0 (got {float(mag.min()):.3g})")
    allow = allowances(
        mag.size, margin, fraction, None if reference is None else np.asarray(reference, float)
    )
    d = mag - allow
    mean_allowance = float(np.mean(allow))
    p_support, p_refute = (float(p) for p in magnitude_pvalues(mag, allow))
    level = interval_level(alpha, "less")

    if is_constant(d):
        statistic, df = t_statistic(d, 0.0)
    else:
        statistic, df = float(johnson_statistic(d, 0.0)), float(d.size - 1)
    secondary = {
        "margin_rule": (
            f"per unit max({margin:g}, {fraction:g} x {reference_name or 'reference'})"
            if reference is not None
            else f"absolute margin {margin:g}"
        ),
        "floor": float(margin),
    }
    if reference is not None:
        secondary.update(
            fraction=float(fraction),
            reference=reference_name,
            reference_mean=float(np.mean(np.asarray(reference, float))),
            units_at_floor=int(np.sum(allow == margin)),
        )
    return EquivalenceResult(
        test=SIGN_TEST if is_constant(d) else TEST_NAME,
        alternative="less",
        statistic=statistic,
        df=df,
        estimate=float(np.mean(mag)),
        estimate_name=name,
        n=int(mag.size),
        threshold=None,
        margin=(0.0, mean_allowance),
        effects={
            **paired_effects(d, direction="less", confidence_level=level),
            "max_magnitude": float(np.max(mag)),
        },
        secondary=secondary,
        label=label,
        unit_values=mag,
        unit_label=name,
        **decision(p_support, p_refute, alpha, partial(shifted_interval, d, mean_allowance), level),
    )
