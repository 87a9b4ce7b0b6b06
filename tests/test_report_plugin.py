"""The report plugin end to end: the example suite's contract, xdist merging, report dirs,
baseline comparison, interrupted runs."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.report.build import strip_timings
from harness.report.schema import validate_report

EXAMPLE_DIR = Path(__file__).resolve().parent / "example_claims"
CONTRACT_KEYS = ("id", "verdict", "estimate", "ci", "n", "p_value", "p_value_holm", "seeds")

SMALL_SUITE = """
import numpy as np, pytest
from harness.stats import PairedDifference

def stream(base):
    return iter(range(base, base + 10_000))

def metric(mean):
    return lambda us: np.array([np.random.default_rng(u).normal(mean, 0.2) for u in us])

@pytest.mark.claim("CV1", source="s")
def test_cv1(claim):
    '''a

    h
    '''
    claim.conclude(claim.measure(stream, metric(0.3), n=30).test(PairedDifference()))

@pytest.mark.claim("CV2", source="s")
def test_cv2(claim):
    '''b

    the title and the hypothesis come from the docstring'''
    claim.conclude(claim.measure(stream, metric(0.3), n=30).test(PairedDifference(threshold=0.1)))
"""


def copy_example(pytester: pytest.Pytester) -> Path:
    target = pytester.path / "example_claims"
    shutil.copytree(EXAMPLE_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture(scope="module")
def example_reports(tmp_path_factory) -> dict[str, dict]:
    """The contract command ``pytest tests/example_claims --report-dir DIR``, run as a user
    would (a subprocess from the project root), serially and with ``-n 2``."""
    root = EXAMPLE_DIR.parent.parent
    quiet = ["-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark"]
    reports = {}
    for mode, extra in (("serial", []), ("xdist", ["-n", "2"])):
        out = tmp_path_factory.mktemp(mode)
        command = [sys.executable, "-m", "pytest", "tests/example_claims", "--report-dir", str(out)]
        proc = subprocess.run(
            [*command, *quiet, *extra], cwd=root, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 1, proc.stdout + proc.stderr  # EX2 is refuted on purpose
        reports[mode] = {
            "json": json.loads((out / "report.json").read_text()),
            "dir": out,
            "stdout": proc.stdout,
        }
    return reports


def test_contract_of_the_example_suite(example_reports):
    report = example_reports["serial"]["json"]
    assert "schema_version" in report and "claims" in report
    validate_report(report)
    for claim in report["claims"]:
        for key in CONTRACT_KEYS:
            assert key in claim, f"{claim['id']} lacks {key}"
        assert claim["verdict"] in ("supported", "refuted", "inconclusive")
        assert len(claim["ci"]) == 2 and claim["ci"][0] <= claim["estimate"] <= claim["ci"][1]
        assert claim["seeds"] and all(isinstance(s, int) for s in claim["seeds"])
        assert claim["p_value_holm"] >= claim["p_value"]
    verdicts = {c["id"]: c["verdict"] for c in report["claims"]}
    assert {"supported", "refuted", "inconclusive"} <= set(verdicts.values())
    assert verdicts["EX2"] == "refuted" and verdicts["EX3"] == "inconclusive"
    assert report["run"]["checkpoint_sha256"] and report["run"]["profile"] == "example-synthetic"


def test_example_suite_writes_every_report_file(example_reports):
    out = example_reports["serial"]["dir"]
    md = (out / "report.md").read_text()
    assert "| EX2 | refuted |" in md
    html = (out / "report.html").read_text()
    assert "maze-claims report" in html and html.count("data:image/png;base64,") >= 10
    # self-contained: nothing is loaded from elsewhere
    assert not re.search(r'(src|href)="(?!data:|#)', html)
    for data in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html):
        assert base64.b64decode(data).startswith(b"\x89PNG")
    assert "maze-claims summary" in example_reports["serial"]["stdout"]


def test_xdist_report_equals_the_serial_report(example_reports):
    serial, xdist = example_reports["serial"]["json"], example_reports["xdist"]["json"]
    assert len(xdist["claims"]) == len(serial["claims"]) == 9
    assert strip_timings(xdist) == strip_timings(serial)


def test_example_suite_is_collected_only_when_named(claims_pytester):
    tests = claims_pytester.mkdir("tests")
    shutil.copy(EXAMPLE_DIR.parent / "conftest.py", tests / "conftest.py")
    (tests / "test_framework.py").write_text("def test_a():\n    pass\n")
    example = tests / "example_claims"
    example.mkdir()
    (example / "test_examples.py").write_text("def test_b():\n    pass\n")
    result = claims_pytester.runpytest("tests", "--collect-only", "-q")
    assert "test_framework.py::test_a" in result.stdout.str()
    assert "example_claims" not in result.stdout.str()
    result = claims_pytester.runpytest("tests/example_claims", "--collect-only", "-q")
    assert "tests/example_claims/test_examples.py::test_b" in result.stdout.str()


def test_default_report_dir_and_latest(claims_pytester):
    claims_pytester.makepyfile(test_small=SMALL_SUITE)
    claims_pytester.runpytest().assert_outcomes(passed=2)
    claims_pytester.runpytest("-k", "CV1").assert_outcomes(passed=1)
    reports = claims_pytester.path / "reports"
    runs = sorted(p for p in reports.iterdir() if p.name != "latest")
    assert len(runs) == 2
    latest = json.loads((reports / "latest" / "report.json").read_text())
    assert [c["id"] for c in latest["claims"]] == ["CV1"]


def test_no_report_when_no_claim_ran(claims_pytester):
    claims_pytester.makepyfile("def test_plain():\n    pass\n")
    claims_pytester.runpytest().assert_outcomes(passed=1)
    assert not (claims_pytester.path / "reports").exists()


def test_baseline_regressions_are_listed_first(claims_pytester):
    claims_pytester.makepyfile(test_small=SMALL_SUITE)
    first = claims_pytester.path / "first"
    # The asserted verdicts depend on the seeds drawn: pin the stream, not the default.
    claims_pytester.runpytest("--report-dir", str(first), "--base-seed", "0")
    baseline = json.loads((first / "report.json").read_text())
    # Pretend CV2 used to have a far-away interval and CV1 used to be refuted (labels only).
    by_id = {c["id"]: c for c in baseline["claims"]}
    by_id["CV1"]["verdict"] = "refuted"
    by_id["CV2"]["ci"] = [10.0, 11.0]
    (first / "report.json").write_text(json.dumps(baseline))
    claims_pytester.makepyfile(
        test_small=SMALL_SUITE.replace(
            "metric(0.3), n=30).test(PairedDifference(threshold=0.1))",
            "metric(0.0), n=30).test(PairedDifference(threshold=0.1))",
        )
    )
    second = claims_pytester.path / "second"
    result = claims_pytester.runpytest(
        "--report-dir", str(second), "--baseline", str(first / "report.json"), "--base-seed", "0"
    )
    report = json.loads((second / "report.json").read_text())
    rows = report["baseline"]["rows"]
    # CV1's label flipped (pretended), its effect did not: equivalent, the label change beside
    assert [(r["id"], r["status"]) for r in rows] == [("CV2", "regression"), ("CV1", "equivalent")]
    lines = result.stdout.lines
    header = next(i for i, ln in enumerate(lines) if ln.startswith("id ") and "verdict" in ln)
    first_row, second_row = lines[header + 1], lines[header + 2]
    assert first_row.startswith("CV2") and "regression (supported -> refuted)" in first_row
    assert second_row.startswith("CV1") and "equivalent (refuted -> supported)" in second_row
    assert "1 regressions" in result.stdout.str()


def test_errors_are_listed_not_lost(claims_pytester):
    claims_pytester.makepyfile(
        """
import pytest
@pytest.fixture
def broken():
    raise RuntimeError("policy failed to load")
@pytest.mark.claim(id="CV1", title="t", source="s", hypothesis="h")
def test_cv1(claim, broken):
    pass
"""
    )
    out = claims_pytester.path / "out"
    claims_pytester.runpytest("--report-dir", str(out)).assert_outcomes(errors=1)
    report = json.loads((out / "report.json").read_text())
    assert report["errors"][0]["claim_id"] == "CV1"
    assert "policy failed to load" in report["errors"][0]["message"]
    assert report["summary"]["errors"] == 1


def test_interrupted_run_still_writes_a_valid_report(claims_pytester):
    claims_pytester.makepyfile(
        test_small=SMALL_SUITE + "\n\ndef test_zz_interrupt():\n    raise KeyboardInterrupt\n"
    )
    out = claims_pytester.path / "out"
    result = claims_pytester.runpytest("--report-dir", str(out), no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    report = json.loads((out / "report.json").read_text())
    validate_report(report)
    assert report["run"]["interrupted"] is True and len(report["claims"]) == 2
