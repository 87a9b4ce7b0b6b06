"""The verdict's reason in words: where the interval lies relative to the claimed region."""

from __future__ import annotations

from harness.stats.format import fmt, fmt_interval, fmt_level, fmt_p
from harness.stats.verdict import Verdict, VerdictKind


def directional_reason(
    kind: VerdictKind,
    *,
    alternative: str,
    estimate_name: str,
    ci: tuple[float, float],
    ci_level: float,
    threshold: float,
    test: str,
    pvalue: float,
    alpha: float,
    n: int,
    margin: tuple[float, float] | None = None,
) -> Verdict:
    """Reason for a claim 'estimate > threshold' (or '<', or '!=' for two-sided)."""
    where = f"the {fmt_level(ci_level)} interval {fmt_interval(ci)} of the {estimate_name}"
    thr = fmt(threshold)
    tail = f"{test}, p = {fmt_p(pvalue)}, alpha = {fmt(alpha)}, n = {n}"
    if alternative == "two-sided":
        if kind is VerdictKind.SUPPORTED:
            text = f"{where} excludes {thr} ({tail})"
        elif kind is VerdictKind.REFUTED:
            assert margin is not None
            text = (
                f"{where} lies inside [{fmt(margin[0])}, {fmt(margin[1])}]: no effect beyond "
                f"the margin ({tail})"
            )
        else:
            text = f"{where} contains {thr} and is not inside a margin ({tail})"
        return Verdict(kind, text)
    side, other = ("above", "below") if alternative == "greater" else ("below", "above")
    if kind is VerdictKind.SUPPORTED:
        text = f"{where} lies {side} {thr} ({tail})"
    elif kind is VerdictKind.REFUTED:
        text = f"{where} lies {other} {thr}: the effect is not {side} {thr} as claimed ({tail})"
    elif ci[0] == ci[1] == threshold:
        text = f"every unit's value equals {thr} exactly, so it is not {side} it ({tail})"
    else:
        text = f"{where} contains {thr}: n = {n} units do not decide ({tail})"
    return Verdict(kind, text)


def equivalence_reason(
    kind: VerdictKind,
    *,
    estimate_name: str,
    ci: tuple[float, float],
    ci_level: float,
    bounds: tuple[float, float],
    test: str,
    pvalue: float,
    alpha: float,
    n: int,
) -> Verdict:
    where = f"the {fmt_level(ci_level)} interval {fmt_interval(ci)} of the {estimate_name}"
    margin = f"the margin [{fmt(bounds[0])}, {fmt(bounds[1])}]"
    tail = f"{test}, p = {fmt_p(pvalue)}, alpha = {fmt(alpha)}, n = {n}"
    if kind is VerdictKind.SUPPORTED:
        text = f"{where} lies inside {margin} ({tail})"
    elif kind is VerdictKind.REFUTED:
        text = f"{where} lies entirely outside {margin}: the effect exceeds it ({tail})"
    else:
        text = (
            f"{where} is not inside {margin}; a non-significant difference is not evidence "
            f"of equivalence ({tail})"
        )
    return Verdict(kind, text)


def conjunction_reason(
    kind: VerdictKind, labels: list[str], verdicts: list[VerdictKind], alpha: float
) -> Verdict:
    """Reason for an intersection-union claim ('all of these hold')."""
    listed = "; ".join(f"{lab}: {v.value}" for lab, v in zip(labels, verdicts, strict=True))
    if kind is VerdictKind.SUPPORTED:
        text = f"all {len(labels)} parts are supported at alpha = {fmt(alpha)} ({listed})"
    elif kind is VerdictKind.REFUTED:
        text = (
            "at least one part is refuted (refutations Bonferroni-adjusted over "
            f"{len(labels)} parts) ({listed})"
        )
    else:
        text = f"not every part is decided ({listed})"
    return Verdict(kind, text)
