"""Equivalence of two classifiers' accuracy on the same units, from the discordant pairs.

With paired 0/1 correctness, the accuracy difference is ``(b - c) / n``: ``b`` units only
the first gets right, ``c`` only the second. A TOST on the 0/1 differences fails exactly
where it matters: with no discordant pair the sample is constant and a moment-based test
says "p = 0, interval [0, 0]", although 0 of 120 only bounds each discordance rate near
2.5 %. Here both one-sided claims are exact binomial statements (scipy ``binomtest``):

- supported ("|difference| < margin") when the exact upper bounds of both discordance rates,
  ``P(first only)`` and ``P(second only)``, lie below the margin. The difference lies
  between ``-P(second only)`` and ``P(first only)``, so this implies it (intersection-union,
  each test at alpha; conservative);
- refuted when the interval ``[L_b - U_c, U_b - L_c]`` of the difference, with the two
  Clopper-Pearson intervals Bonferroni-widened, lies wholly outside the margin.

The reported interval uses each exact interval at 1 - 2 alpha: inside the margin whenever
the claim is supported, outside whenever it is refuted.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy import stats

from harness.stats.errors import StatsInputError
from harness.stats.intervals import clopper_pearson
from harness.stats.result import EquivalenceResult, decision, interval_level
from harness.stats.validation import as_sample, check_alpha, check_finite_number

TEST_NAME = "exact binomial bounds on the discordant pairs (intersection-union)"


def _correctness(values: object, name: str) -> np.ndarray:
    x = as_sample(values, name)
    if not np.all((x == 0) | (x == 1)):
        raise StatsInputError(f"{name} must be 0/1 correctness per unit")
    return x.astype(int)


def difference_interval(
    b: int, c: int, n: int, confidence_level: float, bonferroni: bool = False
) -> tuple[float, float]:
    """Interval of ``P(first only) - P(second only)`` from two exact intervals at
    ``confidence_level`` each (or Bonferroni-widened, which the refutation reads)."""
    each = 1.0 - (1.0 - confidence_level) / 2.0 if bonferroni else confidence_level
    lb, ub = clopper_pearson(b, n, each)
    lc, uc = clopper_pearson(c, n, each)
    return lb - uc, ub - lc


def _refute_pvalue(b: int, c: int, n: int, margin: float) -> float:
    """Smallest two-sided level at which the interval lies outside the margin (bisection)."""

    def outside(alpha2: float) -> bool:
        low, high = difference_interval(b, c, n, 1.0 - alpha2, bonferroni=True)
        return low > margin or high < -margin

    if not outside(1.0 - 1e-12):
        return 1.0
    lo, hi = 1e-300, 1.0 - 1e-12  # outside(hi) holds; find the smallest such level
    if outside(lo):
        return lo
    for _ in range(60):
        mid = np.sqrt(lo * hi) if hi / lo > 10 else (lo + hi) / 2
        lo, hi = (lo, mid) if outside(mid) else (mid, hi)
    return float(hi) / 2.0  # one-sided: the verdict reads the 1 - 2 alpha interval


def accuracy_equivalence(
    first: object,
    second: object,
    *,
    margin: float,
    alpha: float = 0.05,
    names: tuple[str, str] = ("first", "second"),
    label: str = "",
) -> EquivalenceResult:
    """Claim: the accuracies of two classifiers on the same units differ by less than
    ``margin`` (``first`` and ``second`` are per-unit 0/1 correctness)."""
    alpha = check_alpha(alpha)
    margin = check_finite_number(margin, "margin")
    if not 0.0 < margin < 1.0:
        raise StatsInputError(f"margin must lie in (0, 1), got {margin}")
    x, y = _correctness(first, names[0]), _correctness(second, names[1])
    if x.size != y.size:
        raise StatsInputError(f"{names[0]} has {x.size} units, {names[1]} has {y.size}")
    n = int(x.size)
    b, c = int(np.sum((x == 1) & (y == 0))), int(np.sum((x == 0) & (y == 1)))
    p_b = stats.binomtest(b, n, margin, alternative="less").pvalue
    p_c = stats.binomtest(c, n, margin, alternative="less").pvalue
    p_support = float(max(p_b, p_c))
    p_refute = _refute_pvalue(b, c, n, margin)
    level = interval_level(alpha, "equivalence")
    discordance = clopper_pearson(b + c, n, level)
    return EquivalenceResult(
        test=TEST_NAME,
        alternative="equivalence",
        statistic=float(b - c),
        estimate=(b - c) / n,
        estimate_name=(
            f"accuracy difference {names[0]} - {names[1]} ((b - c) / n; its absolute size "
            "bounded by the exact discordant-pair rates)"
        ),
        n=n,
        threshold=0.0,
        margin=(-margin, margin),
        effects={
            "first_only_correct": b,
            "second_only_correct": c,
            "discordance_rate": (b + c) / n,
            "discordance_rate_ci": list(discordance),
            "accuracy_first": float(x.mean()),
            "accuracy_second": float(y.mean()),
        },
        secondary={
            "first_only_below_margin": {"k": b, "n": n, "p_value": float(p_b)},
            "second_only_below_margin": {"k": c, "n": n, "p_value": float(p_c)},
        },
        label=label,
        unit_values=(x - y).astype(float),
        unit_label=f"{names[0]} - {names[1]} correctness",
        **decision(p_support, p_refute, alpha, partial(difference_interval, b, c, n), level),
    )
