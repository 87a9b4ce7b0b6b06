"""benchmarks/gpu_check.py: the no-CUDA refusal, its report comparisons on synthetic
reports, and one end-to-end run of its pipeline on the CPU (``--device cpu``)."""

from __future__ import annotations

import copy
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def claim(rid: str, verdict: str = "supported", estimate: float = 0.25) -> dict[str, Any]:
    return {
        "id": rid,
        "claim_id": rid.partition("[")[0],
        "verdict": verdict,
        "estimate": estimate,
        "ci": [estimate - 0.1, estimate + 0.1],
        "wall_time_s": 1.5,
    }


def report(*claims: dict[str, Any]) -> dict[str, Any]:
    return {
        "run": {"device": "cpu"},
        "claims": [copy.deepcopy(c) for c in claims],
        "errors": [],
        "timing": {"created": "2025-01-01T00:00:00+00:00", "duration_s": 12.0},
    }


@pytest.fixture
def pair() -> tuple[dict[str, Any], dict[str, Any]]:
    claims = (claim("CV1"), claim("CV4[offset=2]", "refuted", 0.01), claim("RS2", estimate=2e-3))
    return report(*claims), report(*claims)


def test_identical_reports_are_identical_and_agree(gpu_check, pair):
    first, second = pair
    second["timing"] = {"created": "later", "duration_s": 99.0}
    second["claims"][0]["wall_time_s"] = 7.0
    assert gpu_check.reports_identical(first, second) == (True, [])
    assert gpu_check.verdicts_agree(first, second) == (True, [])


def test_an_estimate_beyond_tolerance_disagrees_and_names_the_record(gpu_check, pair):
    gpu, cpu = pair
    gpu["claims"][1]["estimate"] = 0.01 + 2 * (gpu_check.ABS_TOL + 0.01 * gpu_check.REL_TOL)
    agree, problems = gpu_check.verdicts_agree(gpu, cpu)
    assert not agree
    assert len(problems) == 1 and problems[0].startswith("CV4[offset=2]: estimate")
    identical, diffs = gpu_check.reports_identical(gpu, cpu)
    assert not identical and diffs[0].startswith("/claims[1]/estimate")


def test_an_estimate_within_tolerance_agrees(gpu_check, pair):
    gpu, cpu = pair
    gpu["claims"][2]["estimate"] += 0.5 * gpu_check.ABS_TOL
    gpu["claims"][0]["ci"][1] *= 1 + 0.5 * gpu_check.REL_TOL
    assert gpu_check.verdicts_agree(gpu, cpu) == (True, [])
    assert not gpu_check.reports_identical(gpu, cpu)[0]  # identical means exactly


def test_a_changed_verdict_disagrees(gpu_check, pair):
    gpu, cpu = pair
    gpu["claims"][0]["verdict"] = "inconclusive"
    agree, problems = gpu_check.verdicts_agree(gpu, cpu)
    assert not agree and problems == ["CV1: verdict inconclusive on cuda, supported on cpu"]


def test_missing_records_errors_and_empty_reports_disagree(gpu_check, pair):
    gpu, cpu = pair
    del gpu["claims"][2]
    cpu["errors"] = [{"id": "CH1", "nodeid": "claims/test_ch.py::x", "message": "boom"}]
    agree, problems = gpu_check.verdicts_agree(gpu, cpu)
    assert not agree
    assert any(p.startswith("RS2: only in the cpu report") for p in problems)
    assert any(p.startswith("CH1: errored on cpu") for p in problems)
    assert not gpu_check.verdicts_agree(report(), report())[0]


def test_nan_and_none_compare_equal_only_to_themselves(gpu_check):
    close = gpu_check.within_tolerance
    assert close(None, None) and close(float("nan"), float("nan"))
    assert not close(None, 0.0) and not close(float("nan"), 0.0)
    assert close(float("inf"), float("inf")) and not close(float("inf"), 1e300)


def test_ground_truth_uses_the_planted_profile(gpu_check):
    planted = report(claim("CV2", "refuted"), claim("CV4[offset=1]", "supported"))
    assert gpu_check.ground_truth_problems(planted) == (1, [])  # offset=1 is undecided
    planted["claims"][0]["verdict"] = "supported"
    assert gpu_check.ground_truth_problems(planted) == (1, ["CV2: supported (expected refuted)"])


def test_throughput_measures_both_scales(gpu_check):
    for scale in (1, 4):
        rate, repeats = gpu_check.forward_throughput(scale, "cpu", batch=2, budget_s=0.01)
        assert rate > 0 and repeats >= 5


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_the_default_device_exits_2_with_one_line():
    done = run_script()
    assert done.returncode == 2
    lines = (done.stdout + done.stderr).splitlines()
    assert len(lines) == 1 and "CUDA" in lines[0], lines
    assert done.stdout == ""


def test_the_pipeline_runs_end_to_end_on_the_cpu(tmp_path):
    done = run_script(
        "--device",
        "cpu",
        "-k",
        "CH1",
        "--skip-throughput",
        "--skip-ground-truth",
        "--out",
        str(tmp_path),
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines[-2:] == ["gpu_reports_identical=true", "gpu_cpu_verdicts_agree=true"]
    assert "NOT a GPU check" in done.stdout
    assert {"run1", "run2", "cpu"} <= {p.name for p in tmp_path.iterdir()}


def test_a_run_without_a_report_fails_the_check(gpu_check, monkeypatch, capsys, tmp_path):
    def no_report(*_args: Any) -> dict[str, Any]:
        raise gpu_check.StepFailed("step 2/4 cpu run 1: pytest exit status 5", 5)

    monkeypatch.setattr(gpu_check, "run_pytest", no_report)
    argv = ["--device", "cpu", "--skip-throughput", "--skip-ground-truth", "--out", str(tmp_path)]
    assert gpu_check.main(argv) == 1
    out = capsys.readouterr().out
    assert "FAILED: step 2/4 cpu run 1: pytest exit status 5" in out
    assert out.splitlines()[-2:] == ["gpu_reports_identical=false", "gpu_cpu_verdicts_agree=false"]
