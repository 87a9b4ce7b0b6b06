"""A verdict as a test outcome: supported passes, refuted fails, inconclusive follows
``--inconclusive``; the failure text states estimate, interval, n, claimed region and test."""

from __future__ import annotations

import pytest

from harness.claim.options import INCONCLUSIVE_POLICIES
from harness.stats.format import fmt, fmt_interval, fmt_level, fmt_p
from harness.stats.result import Result
from harness.stats.verdict import VerdictKind


def verdict_message(result: Result, claim_id: str, expect: str = "supported") -> str:
    """The failure text: verdict, estimate, interval, n, claimed region, test, p, reason."""
    return (
        f"{claim_id} {result.kind.value} (expected {expect}): {result.estimate_name} = "
        f"{fmt(result.estimate)}, {fmt_level(result.ci_level)} CI {fmt_interval(result.ci)}, "
        f"n = {result.n}; claimed {result.requirement()} ({result.test}, "
        f"p = {fmt_p(result.pvalue)}, alpha = {fmt(result.alpha)}).\nReason: {result.reason}"
    )


def assert_verdict(
    result: Result,
    *,
    expect: str = "supported",
    inconclusive: str = "fail",
    claim_id: str = "claim",
    unexpected: str = "fail",
) -> Result:
    """Pass when the verdict is the expected one; otherwise fail, or for an inconclusive
    verdict fail / xfail / skip as ``inconclusive`` says. ``unexpected="xfail"`` turns every
    other verdict into an expected failure (a run that checks the device, not the claims)."""
    expected = VerdictKind(expect)
    if inconclusive not in INCONCLUSIVE_POLICIES:
        raise ValueError(f"inconclusive must be one of {INCONCLUSIVE_POLICIES}")
    if result.kind is expected:
        return result
    message = verdict_message(result, claim_id, expected.value)
    if unexpected == "xfail":
        pytest.xfail(message)
    if result.kind is VerdictKind.INCONCLUSIVE:
        if inconclusive == "xfail":
            pytest.xfail(message)
        if inconclusive == "skip":
            pytest.skip(message)
    pytest.fail(message, pytrace=False)


def junit_properties(result: Result) -> dict[str, object]:
    """The key numbers as JUnit XML properties (raw p only: Holm needs the whole run), as
    plain Python numbers: pytest-xdist ships them between processes and cannot serialize
    numpy scalars."""

    def plain(value: object) -> object:
        return None if value is None else float(value)  # type: ignore[arg-type]

    return {
        "claim_verdict": result.kind.value,
        "claim_estimate": plain(result.estimate),
        "claim_ci_low": plain(result.ci[0]),
        "claim_ci_high": plain(result.ci[1]),
        "claim_n": int(result.n),
        "claim_p_value": plain(result.pvalue),
        "claim_alpha": plain(result.alpha),
        "claim_threshold": plain(result.threshold),
    }
