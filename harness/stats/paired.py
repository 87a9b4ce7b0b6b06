"""Paired differences: 'condition x exceeds condition y on the same units' (CV1, RS1, TR1...).

The claim is ``effect > threshold`` (``alternative='greater'``), ``effect < threshold``
(``'less'``) or ``effect != threshold`` (``'two-sided'``). ``threshold`` is the smallest
effect the claim asserts: with the default 0 a true effect of exactly 0 sits on the edge and
is rarely refuted; give a positive threshold (a minimal meaningful drop) when "no effect at
all" should be refutable. Tests: scipy's one-sample t on the differences (``t``, the default
of this function), its skewness-corrected form (``johnson``, the default of the verdict
forms; :mod:`harness.stats.onesample` says why) or the Wilcoxon signed-rank test
(Hodges-Lehmann estimate, test-inverted interval).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import numpy as np

from harness.stats.effects import paired_effects
from harness.stats.onesample import johnson_pvalues, mean_test, t_pvalues
from harness.stats.result import DirectionalResult, decision, interval_level
from harness.stats.signed_rank import (
    hodges_lehmann,
    signed_rank_interval,
    signed_rank_pvalues,
    signed_rank_statistic,
)
from harness.stats.validation import (
    check_alpha,
    check_alternative,
    check_finite_number,
    check_margin,
    is_constant,
    paired_differences,
)

TESTS = ("t", "johnson", "wilcoxon")
TEST_NAMES = {
    "t": "paired t test",
    "johnson": "paired t test, skewness-corrected (Johnson-Hall)",
    "wilcoxon": "Wilcoxon signed-rank test",
}
#: Tests whose estimate is the mean (the others estimate a pseudo-median).
MEAN_TESTS = ("t", "johnson")
#: What the verdict forms use: per-maze effects are skewed (harness.stats.onesample).
DEFAULT_TEST = "johnson"
#: What a constant sample is tested with instead (:mod:`harness.stats.onesample`).
SIGN_TEST = "exact sign test (every unit has the same value)"
_OPPOSITE = {"greater": "less", "less": "greater"}


@dataclass(frozen=True, kw_only=True)
class DifferenceResult(DirectionalResult):
    """A paired difference (or one column) against a threshold."""

    form: ClassVar[str] = "difference"


def _pfun(test: str):
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, got {test!r}")
    return {"t": t_pvalues, "johnson": johnson_pvalues, "wilcoxon": signed_rank_pvalues}[test]


def difference_pvalues(
    d: np.ndarray,
    threshold: float,
    alternative: str,
    test: str = "t",
    margin: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(p_support, p_refute) along the last axis; the calibration tests call this directly.

    One-sided claims are refuted by the opposite one-sided test at the same threshold;
    a two-sided claim is refuted only by equivalence within ``margin`` (else never).
    """
    pfun = _pfun(test)
    if alternative in _OPPOSITE:
        return pfun(d, threshold, alternative), pfun(d, threshold, _OPPOSITE[alternative])
    p_support = pfun(d, threshold, "two-sided")
    if margin is None:
        return p_support, np.full(np.shape(p_support), np.nan)
    p_refute = np.maximum(pfun(d, margin[0], "greater"), pfun(d, margin[1], "less"))
    return p_support, p_refute


def paired_difference(
    x: object,
    y: object | None = None,
    *,
    alternative: str = "greater",
    threshold: float = 0.0,
    alpha: float = 0.05,
    test: str = "t",
    margin: float | tuple[float, float] | None = None,
    names: tuple[str, str] = ("x", "y"),
    label: str = "",
) -> DifferenceResult:
    """Test the per-unit difference ``x - y`` (or ``x`` alone) against ``threshold``.

    ``margin`` (two-sided claims only) lets 'no effect beyond the margin' refute the claim.
    """
    alpha = check_alpha(alpha)
    alternative = check_alternative(alternative)
    threshold = check_finite_number(threshold, "threshold")
    _pfun(test)
    bounds = None
    if margin is not None:
        if alternative != "two-sided":
            raise ValueError("margin applies to two-sided claims; one-sided ones use threshold")
        bounds = check_margin(margin, center=threshold)
    d = paired_differences(x, y, names)
    p_support, p_refute = difference_pvalues(d, threshold, alternative, test, bounds)
    level = interval_level(alpha, alternative)
    what = "mean" if test in MEAN_TESTS else "Hodges-Lehmann pseudo-median"
    estimate_name = f"{what} of {names[0]}" if y is None else f"{what} difference"
    if test in MEAN_TESTS:
        estimate = float(np.mean(d))
        statistic, df, interval_fn = mean_test(d, threshold, test)
        other = {"wilcoxon": _secondary(d, threshold, alternative, "wilcoxon")}
        if test == "johnson":
            other["paired_t"] = _secondary(d, threshold, alternative, "t")
    else:
        estimate = hodges_lehmann(d)
        interval_fn = partial(signed_rank_interval, d)
        statistic, df = signed_rank_statistic(d, threshold, alternative), None
        other = {"paired_t": _secondary(d, threshold, alternative, "t")}
    direction = alternative if alternative != "two-sided" else "greater"
    return DifferenceResult(
        test=SIGN_TEST if is_constant(d) else TEST_NAMES[test],
        alternative=alternative,
        statistic=statistic,
        df=df,
        estimate=estimate,
        estimate_name=estimate_name,
        n=int(d.size),
        threshold=threshold,
        margin=bounds,
        effects=paired_effects(d, direction=direction, confidence_level=level),
        secondary=other,
        label=label,
        unit_values=d,
        unit_label=names[0] if y is None else f"{names[0]} - {names[1]}",
        **decision(p_support, p_refute, alpha, interval_fn, level),
    )


def _secondary(d: np.ndarray, threshold: float, alternative: str, test: str) -> dict:
    p = float(_pfun(test)(d, threshold, alternative))
    return {"test": TEST_NAMES[test], "alternative": alternative, "p_value": p}
