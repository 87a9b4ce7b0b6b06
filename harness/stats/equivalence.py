"""Equivalence by TOST: 'this intervention does (almost) nothing' (CV2, CV3, RS2, CH4, TR2).

A null claim passes only when the (1 - 2 alpha) interval of the mean effect lies inside the
declared margin, i.e. both one-sided t tests (scipy ``ttest_1samp`` with
``alternative='greater'`` at the low bound and ``'less'`` at the high bound) reject. "No
significant difference" never passes. The claim is refuted when the interval lies entirely
outside the margin, and inconclusive when it straddles a margin edge.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from harness.stats.effects import paired_effects
from harness.stats.onesample import t_interval, t_pvalues, t_statistic
from harness.stats.paired import SIGN_TEST
from harness.stats.result import EquivalenceResult, decision, interval_level
from harness.stats.validation import check_alpha, check_finite_number, check_margin, is_constant
from harness.stats.validation import paired_differences as _differences

TEST_NAME = "TOST (two one-sided t tests)"


def equivalence_pvalues(
    d: np.ndarray, low: float, high: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(p_support, p_refute, p_low, p_high) along the last axis.

    p_support is the TOST p-value max(p_low, p_high); p_refute is small when the interval
    lies wholly above ``high`` or wholly below ``low``.
    """
    p_low = t_pvalues(d, low, "greater")
    p_high = t_pvalues(d, high, "less")
    p_refute = np.minimum(t_pvalues(d, high, "greater"), t_pvalues(d, low, "less"))
    return np.maximum(p_low, p_high), p_refute, p_low, p_high


def equivalence(
    x: object,
    y: object | None = None,
    *,
    margin: float | tuple[float, float],
    center: float = 0.0,
    alpha: float = 0.05,
    names: tuple[str, str] = ("x", "y"),
    label: str = "",
) -> EquivalenceResult:
    """TOST of the mean per-unit difference ``x - y`` (or of ``x``) within the margin.

    ``margin`` is ``m`` (meaning ``center ± m``) or explicit ``(low, high)`` bounds.
    """
    alpha = check_alpha(alpha)
    center = check_finite_number(center, "center")
    low, high = check_margin(margin, center)
    d = _differences(x, y, names)
    p_support, p_refute, p_low, p_high = (float(v) for v in equivalence_pvalues(d, low, high))
    level = interval_level(alpha, "equivalence")
    interval_fn = partial(t_interval, d)
    binding = low if p_low >= p_high else high
    statistic, df = t_statistic(d, binding)
    estimate_name = f"mean of {names[0]}" if y is None else "mean difference"
    return EquivalenceResult(
        test=SIGN_TEST if is_constant(d) else TEST_NAME,
        alternative="equivalence",
        statistic=statistic,
        df=df,
        estimate=float(np.mean(d)),
        estimate_name=estimate_name,
        n=int(d.size),
        threshold=center,
        margin=(low, high),
        effects=paired_effects(d, direction="greater", confidence_level=level),
        secondary={
            "lower_bound_test": {"bound": low, "alternative": "greater", "p_value": p_low},
            "upper_bound_test": {"bound": high, "alternative": "less", "p_value": p_high},
        },
        label=label,
        unit_values=d,
        unit_label=names[0] if y is None else f"{names[0]} - {names[1]}",
        **decision(p_support, p_refute, alpha, interval_fn, level),
    )
