"""Regression checks end to end (pytester): effect tests against a baseline, ``--fail-on``,
the step summary. The toy suite's effect is shifted by an environment variable, so one suite
plays a checkpoint that keeps its mechanism and one that lost it."""

from __future__ import annotations

import json

import pytest

TOY_SUITE = """
import os
import numpy as np, pytest
from harness.stats import PairedDifference

SHIFT = float(os.environ.get("TOY_SHIFT", "0"))

def stream(base):
    return iter(range(base, base + 10_000))

def metric(mean):
    return lambda us: np.array([np.random.default_rng(u).normal(mean, 0.2) for u in us])

@pytest.mark.claim("CV1", source="s")
def test_cv1(claim):
    '''the effect this toy checkpoint may lose

    h
    '''
    n = claim.sample_size({"quick": 10, "default": 30, "paper": 30})
    sample = claim.measure(stream, metric(0.3 + SHIFT), n=n)
    claim.conclude(sample.test(PairedDifference(threshold=0.2)))

@pytest.mark.claim("CV2", source="s")
def test_cv2(claim):
    '''an effect no checkpoint changes

    h
    '''
    n = claim.sample_size({"quick": 10, "default": 30, "paper": 30})
    claim.conclude(claim.measure(stream, metric(0.3), n=n).test(PairedDifference(threshold=0.1)))
"""


def _run(pytester: pytest.Pytester, name: str, *args: str) -> tuple[pytest.RunResult, dict]:
    out = pytester.path / name
    result = pytester.runpytest("--report-dir", str(out), "--base-seed", "0", *args)
    return result, json.loads((out / "report.json").read_text())


@pytest.fixture
def toy(claims_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    claims_pytester.makepyfile(test_toy=TOY_SUITE)
    monkeypatch.delenv("TOY_SHIFT", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    _run(claims_pytester, "A")
    return claims_pytester


def test_the_same_checkpoint_again_has_no_regression(toy):
    result, report = _run(
        toy, "B", "--baseline", str(toy.path / "A" / "report.json"), "--fail-on", "regression"
    )
    assert result.ret == 0
    counts = report["baseline"]["counts"]
    assert counts["regression"] == 0 and counts["equivalent"] == 2
    assert report["gate"] == {
        "fail_on": "regression",
        "exit_status": 0,
        "decision": "pass (0 regression(s), 0 errored claim test(s))",
    }
    tolerance = report["claims"][0]["regression_tolerance"]
    assert tolerance["value"] > 0 and "regression" in tolerance["source"]


def test_a_lost_effect_is_a_regression_and_fails_the_gate(toy, monkeypatch):
    monkeypatch.setenv("TOY_SHIFT", "-0.3")
    summary = toy.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    baseline = str(toy.path / "A" / "report.json")
    result, report = _run(toy, "C", "--baseline", baseline, "--fail-on", "regression")
    assert result.ret == 1
    rows = {r["id"]: r for r in report["baseline"]["rows"]}
    assert rows["CV1"]["status"] == "regression" and rows["CV1"]["design"] == "paired"
    assert rows["CV1"]["change"] == pytest.approx(-0.3)
    assert rows["CV2"]["status"] == "equivalent"
    assert report["baseline"]["counts"]["regression"] == 1
    text = result.stdout.str()
    assert "REGRESSION CV1: the effect fell by 0.3" in text
    assert "gate --fail-on regression: fail (1 regression(s)" in text
    md = summary.read_text()
    assert "Gate (`--fail-on regression`): fail" in md and "| CV1 | refuted |" in md
    assert "regression (supported -> refuted)" in md
    # the same run never fails under --fail-on never, and fails as today under the default
    assert _run(toy, "D", "--baseline", baseline, "--fail-on", "never")[0].ret == 0
    assert _run(toy, "E", "--baseline", baseline)[0].ret == 1


def test_a_smaller_budget_is_not_a_regression(toy):
    """n falls from 30 to 10: the intervals widen and labels may change, but the paired
    change on the common mazes is zero."""
    baseline = str(toy.path / "A" / "report.json")
    result, report = _run(
        toy, "Q", "--budget", "quick", "--baseline", baseline, "--fail-on", "regression"
    )
    assert result.ret == 0 and report["baseline"]["counts"]["regression"] == 0
    assert {r["n"] for r in report["baseline"]["rows"]} == {10}
    mismatch = report["baseline"]["mismatches"]
    assert {"what": "budget", "baseline": "default", "run": "quick"} in mismatch
    assert "baseline mismatch: budget differs: baseline 'default', this run 'quick'" in (
        result.stdout.str()
    )


def test_fail_on_regression_needs_a_baseline(toy):
    result = toy.runpytest("--fail-on", "regression")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--fail-on regression needs --baseline" in result.stderr.str()
