"""``--fake-device`` as a user runs it: a device bug in a claim errors that claim (and fails
the run) where a plain CPU run passes; verdicts are reported but do not fail the run; the
report and the terminal say it was a device check and count the host syncs."""

from __future__ import annotations

import json

import numpy as np
import pytest

SUITE = """
import numpy as np, pytest, torch
from harness.stats import PairedDifference

def stream(base):
    return iter(range(base, base + 10_000))

def p_left(subject, cpu_only):
    def metric(units):
        obs = torch.rand(len(units), 3, 64, 64, generator=torch.Generator().manual_seed(units[0]))
        if not cpu_only:
            obs = obs.to(subject.device)
        logits, _ = subject.policy(obs)  # a CPU batch into the policy: fine on the CPU only
        rng = np.random.default_rng(units[0])
        return logits[:, 0].cpu().numpy() * 0 + rng.normal({mean}, 0.2, len(units))
    return metric

@pytest.mark.claim("CV1", source="s")
def test_cv1(claim, subject):
    '''CV1 holds.

    the effect is above 0.1'''
    m = p_left(subject, cpu_only=False)
    claim.conclude(claim.measure(stream, m, n=20).test(PairedDifference(threshold=0.1)))

@pytest.mark.claim("CV2", source="s")
def test_cv2(claim, subject):
    '''CV2 holds.

    the effect is above 0.1'''
    m = p_left(subject, cpu_only={bug})
    claim.conclude(claim.measure(stream, m, n=20).test(PairedDifference(threshold=0.1)))
"""

ARGS = ("--checkpoint", "planted:cheese-seeker", "--budget", "quick", "-p", "no:cacheprovider")


def _run(pytester, out, *extra, mean=0.3, bug=False):
    pytester.makepyfile(test_suite=SUITE.format(mean=mean, bug=bug))
    result = pytester.runpytest_subprocess(*ARGS, "--report-dir", str(out), *extra)
    return result, json.loads((out / "report.json").read_text())


@pytest.mark.parametrize("fake", [False, True], ids=["cpu", "fake-device"])
def test_a_cpu_tensor_fed_to_the_policy_errors_only_under_the_device_check(claims_pytester, fake):
    out = claims_pytester.path / "out"
    extra = ("--fake-device",) if fake else ()
    result, report = _run(claims_pytester, out, *extra, bug=True)
    errors = {e["id"]: e["message"] for e in report["errors"]}
    if fake:
        assert result.ret == 1
        assert list(errors) == ["CV2"]
        assert "FakeDeviceError" in errors["CV2"] and "CPU tensors of shape" in errors["CV2"]
        assert report["run"]["device"] == "privateuseone:0"
        assert "--fake-device" in report["run"]["device_check"]
        result.stdout.fnmatch_lines(["device check: * host syncs at * call sites*"])
    else:
        assert result.ret == 0 and errors == {}
        assert report["run"]["device"] == "cpu" and "device_check" not in report["run"]
        assert report["run"]["numerics"]["mode"] == "strict" and report["run"]["numerics"]["exact"]


def test_under_the_device_check_a_refuted_claim_is_reported_not_failed(claims_pytester):
    out = claims_pytester.path / "out"
    result, report = _run(claims_pytester, out, "--fake-device", mean=-0.3)
    assert result.ret == 0, result.stdout.str()[-2000:]
    verdicts = {c["id"]: c["verdict"] for c in report["claims"]}
    assert verdicts == {"CV1": "refuted", "CV2": "refuted"}
    assert report["run"]["unexpected"] == "xfail"
    result.assert_outcomes(xfailed=2)
    # the same suite without the check fails, as a refuted claim should
    plain, _ = _run(claims_pytester, claims_pytester.path / "plain", mean=-0.3)
    assert plain.ret == 1


def test_fake_device_with_a_real_cuda_device_is_a_usage_error(claims_pytester):
    import torch

    if not torch.cuda.is_available():  # pragma: no branch - no GPU here: the resolver refuses
        result = claims_pytester.runpytest_subprocess(*ARGS, "--fake-device", "--device", "cuda")
        assert result.ret == 4
        result.stderr.fnmatch_lines(["*--device cuda*"])
        return
    result = claims_pytester.runpytest_subprocess(*ARGS, "--fake-device", "--device", "cuda")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--fake-device*cannot be combined with --device cuda*"])


def test_the_sync_counts_of_workers_reach_the_summary(claims_pytester):
    out = claims_pytester.path / "out"
    result, report = _run(claims_pytester, out, "--fake-device", "-n", "2")
    assert result.ret == 0
    line = next(x for x in result.stdout.lines if x.startswith("device check:"))
    assert int(line.split()[2]) > 0, line
    assert np.isfinite([c["estimate"] for c in report["claims"]]).all()
