"""Precision and determinism on CUDA: strict by default, fast only when asked, and said.

No GPU here: ``torch.cuda`` is mocked to say one exists, which is all the resolver and the
flag setting look at (no kernel runs).
"""

from __future__ import annotations

import os

import pytest
import torch

from harness.policy import load_planted
from harness.policy.numerics import (
    CUBLAS_WORKSPACE,
    FAST,
    STRICT,
    Numerics,
    NumericsError,
    configure_numerics,
    prepare_device,
)
from harness.report.text import inexact_numerics_text, run_notes, run_warnings


def _flags() -> dict:
    return {
        "conv": torch.backends.cudnn.conv.fp32_precision,
        "matmul": torch.backends.cuda.matmul.fp32_precision,
        "benchmark": torch.backends.cudnn.benchmark,
        "deterministic": torch.backends.cudnn.deterministic,
        "algorithms": torch.are_deterministic_algorithms_enabled(),
    }


@pytest.fixture()
def mocked_cuda(monkeypatch):
    """A machine that says it has two GPUs; torch's global flags restored afterwards."""
    before = _flags()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    yield
    torch.backends.cudnn.conv.fp32_precision = before["conv"]
    torch.backends.cuda.matmul.fp32_precision = before["matmul"]
    torch.backends.cudnn.benchmark = before["benchmark"]
    torch.backends.cudnn.deterministic = before["deterministic"]
    torch.use_deterministic_algorithms(before["algorithms"])


@pytest.mark.usefixtures("mocked_cuda")
def test_resolving_cuda_turns_tf32_off_and_determinism_on():
    torch.backends.cudnn.conv.fp32_precision = "tf32"  # torch's own default for convolutions
    device, numerics = prepare_device("cuda:1")
    assert device == torch.device("cuda:1")
    assert _flags() == {
        "conv": "ieee",
        "matmul": "ieee",
        "benchmark": False,
        "deterministic": True,
        "algorithms": True,
    }
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_WORKSPACE
    assert numerics.exact and numerics.mode == STRICT and numerics.device_type == "cuda"
    assert "TF32 off" in numerics.describe()


@pytest.mark.usefixtures("mocked_cuda")
def test_auto_on_a_gpu_machine_is_strict_too():
    device, numerics = prepare_device("auto")
    assert device.type == "cuda" and numerics.exact and _flags()["conv"] == "ieee"


@pytest.mark.usefixtures("mocked_cuda")
def test_fast_allows_tf32_and_autotuning_and_says_it_is_not_exact():
    _, numerics = prepare_device("cuda", FAST)
    assert _flags() == {
        "conv": "tf32",
        "matmul": "tf32",
        "benchmark": True,
        "deterministic": False,
        "algorithms": False,
    }
    assert not numerics.exact
    assert "planted policies' ground truth is not exact" in numerics.describe()


def test_the_cpu_changes_no_flag_and_is_exact():
    before = _flags()
    for mode in (STRICT, FAST):
        numerics = configure_numerics(torch.device("cpu"), mode)
        assert numerics.exact and _flags() == before
    assert "changes nothing" in configure_numerics(torch.device("cpu"), FAST).describe()


def test_an_unknown_mode_is_refused_before_anything_is_set():
    with pytest.raises(NumericsError, match="strict or fast"):
        prepare_device("cpu", "quick")


def test_loaded_policies_carry_their_numerics():
    info = load_planted("cheese-seeker", device="cpu").info
    assert info.numerics == Numerics(STRICT, "cpu")
    assert info.to_dict()["numerics"]["exact"] is True


def test_reports_mark_inexact_numerics_above_the_verdicts():
    fast = Numerics(FAST, "cuda", tf32=True, deterministic=False, cudnn_benchmark=True)
    report = {"run": {"numerics": fast.to_dict()}, "not_run": []}
    assert inexact_numerics_text(report).startswith("FAST NUMERICS (fast: TF32")
    assert run_warnings(report) == [inexact_numerics_text(report)]
    assert ("numerics", fast.describe()) in run_notes(report["run"])
    strict = {"run": {"numerics": Numerics(STRICT, "cuda").to_dict()}, "not_run": []}
    assert inexact_numerics_text(strict) is None and run_warnings(strict) == []
