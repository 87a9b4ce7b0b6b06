"""Claims made of several parts: 'all of these hold' and orderings (CH3, CV3, CV7).

An intersection-union test: the conjunction is supported when every part is supported at
level alpha (its p-value is the largest part p-value, valid without any correction because
all parts must hold). It is refuted when any part is refuted; since any one of m parts can
refute, refutation p-values are Bonferroni-adjusted (m times the smallest) so a true
conjunction is wrongly refuted with probability at most alpha. The headline numbers
(estimate, interval) are the weakest part's: the one with the largest p-value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from harness.stats.paired import paired_difference
from harness.stats.result import ConjunctionResult, Result
from harness.stats.validation import check_alpha
from harness.stats.verdict import decide_one


@dataclass(frozen=True, kw_only=True)
class OrderingResult(ConjunctionResult):
    """'condition 1 > condition 2 > ...': consecutive paired differences that must all hold."""

    form: ClassVar[str] = "ordering"


def conjunction_pvalues(
    p_support: np.ndarray, p_refute: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(p_support, p_refute) of 'all parts hold' from per-part p-values on the last axis."""
    ps = np.max(np.asarray(p_support, dtype=float), axis=-1)
    pr = np.nan_to_num(np.asarray(p_refute, dtype=float), nan=1.0)
    m = pr.shape[-1]
    return ps, np.minimum(1.0, m * np.min(pr, axis=-1))


def all_of(
    *parts: Result, label: str = "", result_type: type[ConjunctionResult] = ConjunctionResult
) -> ConjunctionResult:
    """Combine results that must all hold into one result (intersection-union test)."""
    if len(parts) < 2:
        raise ValueError("all_of needs at least two results")
    alphas = {p.alpha for p in parts}
    if len(alphas) != 1:
        raise ValueError(f"all parts must use the same alpha, got {sorted(alphas)}")
    alpha = check_alpha(alphas.pop())
    ps, pr = conjunction_pvalues(
        np.array([p.pvalue for p in parts]),
        np.array([np.nan if p.pvalue_refute is None else p.pvalue_refute for p in parts]),
    )
    weakest = max(parts, key=lambda p: p.pvalue)
    return weakest.recast(
        result_type,
        estimate_name=f"{weakest.estimate_name} of the weakest part ({weakest.part_name})",
        test=f"intersection-union test over {len(parts)} parts",
        pvalue=float(ps),
        pvalue_refute=float(pr),
        kind=decide_one(float(ps), float(pr), alpha),
        parts=tuple(parts),
        label=label,
        effects={"weakest_part": weakest.part_name},
        secondary={},
    )


def ordering(
    *conditions: object,
    names: Sequence[str],
    alternative: str = "greater",
    threshold: float = 0.0,
    alpha: float = 0.05,
    test: str = "t",
    label: str = "",
) -> Result:
    """'condition 1 > condition 2 > ...' on the same units (CH3: all 11 > effective > 55).

    Each consecutive pair is a paired difference; the ordering holds when all of them do.
    """
    if len(conditions) < 2 or len(conditions) != len(names):
        raise ValueError("ordering needs at least two conditions and one name per condition")
    sign = ">" if alternative == "greater" else "<"
    parts = [
        paired_difference(
            conditions[i],
            conditions[i + 1],
            alternative=alternative,
            threshold=threshold,
            alpha=alpha,
            test=test,
            names=(names[i], names[i + 1]),
            label=f"{names[i]} {sign} {names[i + 1]}",
        )
        for i in range(len(conditions) - 1)
    ]
    if len(parts) == 1:
        return parts[0].with_(label=label or parts[0].label)
    return all_of(*parts, label=label, result_type=OrderingResult)
