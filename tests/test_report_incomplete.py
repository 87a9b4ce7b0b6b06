"""Runs that do not end normally still say what happened: an unwritable report directory is
refused before any claim runs, a report that cannot be written fails the run, Ctrl-C and
SIGTERM leave a valid, marked report listing what never ran, and a claim whose xdist worker
died is an errored claim with the reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.report.schema import validate_report

CLAIM = """
@pytest.mark.claim("{cid}", source="s")
def test_{name}(claim):
    '''{cid} holds.

    the effect is above 0.1'''
    {before}
    claim.conclude(claim.measure(stream, metric(0.3), n=20).test(PairedDifference(threshold=0.1)))
"""

HEADER = """
import os, signal, sys
import numpy as np, pytest
from harness.stats import PairedDifference

def stream(base):
    return iter(range(base, base + 10_000))

def metric(mean):
    return lambda us: np.array([np.random.default_rng(u).normal(mean, 0.2) for u in us])
"""


def suite(*claims: tuple[str, str]) -> str:
    """A suite of claims CV1, CV2, ... in order; each entry is (id, code run before it)."""
    return HEADER + "".join(
        CLAIM.format(cid=cid, name=cid.lower(), before=before or "pass") for cid, before in claims
    )


def read(out) -> tuple[dict, str, str]:
    report = json.loads((out / "report.json").read_text())
    validate_report(report)
    return report, (out / "report.md").read_text(), (out / "report.html").read_text()


# -- the report directory ------------------------------------------------------------------
@pytest.mark.parametrize("where", ["under a file", "the file itself"])
def test_an_unwritable_report_dir_is_a_usage_error_before_any_claim(claims_pytester, where):
    blocker = claims_pytester.path / "F"
    blocker.write_text("a regular file")
    marker = claims_pytester.path / "ran"
    claims_pytester.makepyfile(test_s=suite(("CV1", f"open({str(marker)!r}, 'w').close()")))
    target = blocker / "sub" if where == "under a file" else blocker
    result = claims_pytester.runpytest("--report-dir", str(target))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"--report-dir: {target}" in result.stderr.str()
    assert "is a file, not a directory" in result.stderr.str()
    assert not marker.exists()


def test_a_read_only_report_dir_is_refused(claims_pytester, tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    claims_pytester.makepyfile(test_s=suite(("CV1", "")))
    result = claims_pytester.runpytest("--report-dir", str(locked / "out"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR and "not writable" in result.stderr.str()


def test_a_report_that_cannot_be_written_fails_the_run(claims_pytester):
    out = claims_pytester.path / "out"
    # The directory is fine at the start; the claim replaces it by a file.
    sabotage = f"import shutil; shutil.rmtree({str(out)!r}); open({str(out)!r}, 'w').close()"
    claims_pytester.makepyfile(test_s=suite(("CV1", sabotage)))
    result = claims_pytester.runpytest("--report-dir", str(out))
    assert result.ret == 3, result.stdout.str()
    assert "maze-claims: report not written" in result.stdout.str()


# -- interruption --------------------------------------------------------------------------
def test_ctrl_c_marks_every_report_file_and_lists_what_never_ran(claims_pytester):
    claims_pytester.makepyfile(
        test_s=suite(("CV1", ""), ("CV2", "raise KeyboardInterrupt"), ("CV3", ""))
    )
    out = claims_pytester.path / "out"
    result = claims_pytester.runpytest("--report-dir", str(out), no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    report, md, html = read(out)
    assert [c["id"] for c in report["claims"]] == ["CV1"]
    assert report["run"]["interrupted"] is True
    assert report["run"]["interrupted_by"] == "Ctrl-C (KeyboardInterrupt)"
    assert [e["id"] for e in report["not_run"]] == ["CV2", "CV3"]
    for text in (md, html, result.stdout.str()):
        assert "INCOMPLETE RUN (Ctrl-C (KeyboardInterrupt))" in text
        assert "2 never ran: CV2, CV3" in text


def test_a_complete_run_is_not_marked(claims_pytester):
    claims_pytester.makepyfile(test_s=suite(("CV1", ""), ("CV2", "")))
    out = claims_pytester.path / "out"
    result = claims_pytester.runpytest("--report-dir", str(out))
    report, md, html = read(out)
    assert report["not_run"] == [] and report["run"]["interrupted_by"] is None
    assert all("INCOMPLETE" not in t for t in (md, html, result.stdout.str()))


def test_stopping_at_the_first_failure_lists_the_rest(claims_pytester):
    failing = "assert False, 'boom'"
    claims_pytester.makepyfile(test_s=suite(("CV1", failing), ("CV2", ""), ("CV3", "")))
    out = claims_pytester.path / "out"
    claims_pytester.runpytest("--report-dir", str(out), "-x")
    report, md, _ = read(out)
    assert [e["id"] for e in report["not_run"]] == ["CV2", "CV3"]
    assert "INCOMPLETE RUN (stopped)" in md


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_sigterm_writes_a_marked_report(claims_pytester, workers):
    # The claim signals the controller: itself when serial, its parent under xdist.
    target = "os.getppid()" if workers else "os.getpid()"
    kill = f"os.kill({target}, signal.SIGTERM); import time; time.sleep(30)"
    claims_pytester.makepyfile(
        test_s=suite(("CV1", ""), ("CV2", ""), ("CV3", kill), ("CV4", ""), ("CV5", ""))
    )
    out = claims_pytester.path / "out"
    args = ["--report-dir", str(out), "-p", "no:cacheprovider", *workers]
    if workers:
        args += ["--dist", "loadfile"]  # one worker runs CV1..CV5 in order
    result = claims_pytester.runpytest_subprocess(*args, timeout=120)
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str()
    report, md, html = read(out)
    assert report["run"]["interrupted_by"] == "SIGTERM"
    finished = {c["id"] for c in report["claims"]}
    never = {e["id"] or e["nodeid"].rsplit("_", 1)[-1].upper() for e in report["not_run"]}
    # Serially CV1 and CV2 finished; under xdist a result still in flight from the worker
    # when the controller stops is listed as never run, not lost.
    assert "CV1" in finished and finished | never == {f"CV{i}" for i in range(1, 6)}
    assert not finished & never and {"CV3", "CV4", "CV5"} <= never
    if not workers:
        assert finished == {"CV1", "CV2"}
    for text in (md, html):
        assert "INCOMPLETE RUN (SIGTERM)" in text


# -- crashed workers -----------------------------------------------------------------------
def test_a_claim_whose_worker_dies_is_an_errored_claim(claims_pytester):
    die = "os.kill(os.getpid(), signal.SIGKILL)"
    claims_pytester.makepyfile(test_s=suite(("CV1", ""), ("CV2", die), ("CV3", "")))
    out = claims_pytester.path / "out"
    result = claims_pytester.runpytest_subprocess(
        "--report-dir", str(out), "-n", "2", "-p", "no:cacheprovider", timeout=120
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report, md, _ = read(out)
    assert {c["id"] for c in report["claims"]} == {"CV1", "CV3"}  # the others still ran
    (error,) = report["errors"]
    assert error["id"] == "CV2" and error["phase"] == "worker crash"
    assert "crashed while running" in error["message"] and "out-of-memory" in error["message"]
    assert report["multiplicity"]["errored_claims"] == ["CV2"]  # a p = 1 member of Holm
    assert "CV2" in md and "worker crash" in md
    assert "ERROR CV2" in result.stdout.str()


def test_a_crash_outside_a_claims_run_writes_no_report(claims_pytester):
    claims_pytester.makepyfile(
        test_plain="import os, signal\ndef test_dies():\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = claims_pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", timeout=120)
    assert result.ret == pytest.ExitCode.TESTS_FAILED and "crashed" in result.stdout.str()
    assert not (claims_pytester.path / "reports").exists()


def test_the_sigterm_handler_is_restored(claims_pytester):
    import signal

    before = signal.getsignal(signal.SIGTERM)
    claims_pytester.makepyfile(test_s=suite(("CV1", "")))
    claims_pytester.runpytest("--report-dir", str(claims_pytester.path / "out"))
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_contract_command_exits_before_any_claim_runs(tmp_path):
    """``pytest claims/ -k CV2 --budget quick --report-dir F/sub`` with F a regular file."""
    root = Path(__file__).resolve().parent.parent
    blocker = tmp_path / "F"
    blocker.write_text("a regular file")
    command = ["claims/", "-k", "CV2", "--budget", "quick", "--report-dir", str(blocker / "sub")]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *command, "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "is a file, not a directory" in result.stderr
    assert "passed" not in result.stdout and "failed" not in result.stdout
