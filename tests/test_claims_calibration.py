"""End-to-end calibration of the claims (issue 12): graded planted policies, replayed samples.

The replay must give exactly the verdict a real run gives on the same mazes, and a small
calibration of a real claim must keep its error rates within the bounds the benchmark
(``benchmarks/calibrate_claims.py``) declares.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from harness.claim.calibrate import (
    CalibrationCase,
    CalibrationError,
    Calibrator,
    calibrate_case,
    detectable_effect,
    effect_of,
)
from harness.claim.options import ClaimOptions
from harness.claim.replay import ClaimFunction, run_claim
from harness.experiments.subject import Subject
from harness.policy import load_planted, planted_spec
from harness.policy.planted import UnknownPlantedPolicyError, graded_name, planted_state_dict
from harness.profiles import resolve_profile

CLAIMS = Path(__file__).resolve().parents[1] / "claims"
CV2 = ("test_cv.py", "test_cv2_adding_the_cheese_vector")


@pytest.fixture(scope="module")
def profile():
    return resolve_profile("planted-graded").with_defaults(resolve_profile("generic"))


def subject_for(profile, **strengths) -> Subject:
    loaded = load_planted(graded_name(**strengths), "cpu")
    return Subject.from_profile(loaded.policy, torch.device("cpu"), profile)


def options(**kwargs) -> ClaimOptions:
    return ClaimOptions(counterexamples=0, diagnostics=False, **kwargs)


def test_graded_family_spans_the_named_planted_policies():
    assert graded_name(1.0) == "graded:gain=1.0"
    for a, b in (("graded:gain=1.0", "cheese-seeker"), ("graded:gain=1.0,cap=1.0", "saturating")):
        left, right = planted_state_dict(a), planted_state_dict(b)
        assert all(torch.equal(left[k], right[k]) for k in left), (a, b)
    assert planted_spec("graded:gain=0.5,stop=2").blind_stop == 2.0


@pytest.mark.parametrize(
    "name, problem",
    [
        ("graded:gain=x", "gain must be a number"),
        ("graded:cap=3", r"cap must lie in \[1, 2\]"),
        ("graded:speed=1", "unknown parameter 'speed'"),
        ("graded:gain=-1", "must be >= 0"),
        ("graded:gain=nan", "must be finite"),
    ],
)
def test_bad_graded_names_are_named(name, problem):
    with pytest.raises(UnknownPlantedPolicyError, match=problem):
        planted_spec(name)


def test_a_replayed_block_is_the_sample_a_real_run_draws_from_its_first_seed(profile):
    claim = ClaimFunction.load(CLAIMS / CV2[0], CV2[1])
    subject = subject_for(profile, gain=1.0, cap=1.05)
    pool = run_claim(claim, subject, profile, options(seeds=36, base_seed=9_000_000))
    block = pool.blocks(12)[1]
    real = run_claim(claim, subject, profile, options(seeds=12, base_seed=block[0]))
    assert real.values.seeds == block
    for sequential in (False, True):
        replayed = pool.replay(list(block), sequential=sequential)
        if sequential:
            real = run_claim(
                claim, subject, profile, options(seeds=12, base_seed=block[0], sequential=True)
            )
        assert replayed.kind == real.result.kind
        assert replayed.estimate == pytest.approx(real.result.estimate, abs=1e-12)
        assert replayed.pvalue == pytest.approx(real.result.pvalue, rel=1e-9)


def test_the_stop_knob_moves_cv1_and_gain_zero_removes_its_effect(profile):
    claim = ClaimFunction.load(CLAIMS / "test_cv.py", "test_cv1_subtracting_the_cheese_vector")
    effects = []
    for strengths in ({"gain": 0.0}, {"gain": 1.0}, {"gain": 1.0, "stop": 6.0}):
        run = run_claim(claim, subject_for(profile, **strengths), profile, options(seeds=40))
        effects.append(effect_of(run.result).estimate)
    # gain 0: subtracting the vector changes nothing, so the relative drop is -0.5 x P(cheese)
    assert effects[0] < effects[1] < effects[2]


def test_cv1_calibrated_end_to_end_stays_within_its_bounds(profile):
    claim = ClaimFunction.load(CLAIMS / "test_cv.py", "test_cv1_subtracting_the_cheese_vector")
    case = CalibrationCase("CV1", "difference", claim, "stop", (0.0, 12.0), budgets=("quick",))
    points = calibrate_case(
        case, profile, budgets=("quick",), replicates=200, pool_factor=4, log=lambda _: None
    )
    by_point = {p.point: p for p in points}
    boundary, zero, alt = by_point["boundary"], by_point["zero"], by_point["alternative"]
    # the pool's effect sits at the threshold to 2 % of one sample's standard error
    assert abs(boundary.true_effect - boundary.boundary) < 0.02 * 0.3 / math.sqrt(boundary.n)
    assert zero.true_effect < boundary.boundary and zero.fixed.supported == 0.0
    assert alt.true_effect > boundary.boundary + 0.5 * detectable_effect(alt.n, 0.05) * 0.1
    failed = [(p.point, p.failed) for p in points if p.failed]
    assert not failed, failed
    # the t design's detectable effect is detected (CV1's per-maze drops are not too skewed)
    assert alt.fixed.supported >= 0.8 - 3 * math.sqrt(0.8 * 0.2 / 200)
    # at the boundary both errors occur (the test is not trivially conservative)
    assert boundary.fixed.supported > 0 and boundary.fixed.refuted > 0


def test_a_target_out_of_reach_is_a_calibration_error(profile):
    case = CalibrationCase(
        "CV2",
        "magnitude",
        ClaimFunction.load(CLAIMS / CV2[0], CV2[1]),
        "cap",
        (1.0, 1.01),
        zero={"cap": 1.0},
    )
    cal = Calibrator(case, profile, pool_units=24, log=lambda _: None)
    with pytest.raises(CalibrationError, match="does not reach the target"):
        cal.solve(lambda run: cal.effect(run).distance, tolerance=1e-6)
    assert math.isfinite(cal.effect(next(iter(cal.runs.values()))).estimate)
