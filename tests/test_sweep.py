"""``python -m harness sweep``: a real (tiny) sweep over two checkpoints and a broken one,
resuming, refusals, and the pieces the command is made of."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.sweep.plan import (
    SweepError,
    Unit,
    check_pytest_args,
    pytest_option,
    split_pytest_args,
    unit_names,
)
from harness.sweep.progress import progress_line
from harness.sweep.unit import UnitOutcome, UnitResult

ROOT = Path(__file__).resolve().parent.parent
#: One quick claim (TR2 needs about a quarter of CV2's time): the sweep below is ~40 s.
PYTEST_ARGS = ["-k", "TR2", "--budget", "quick"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("sweep") / "out"
    bad = out.parent / "no-such-policy.pth"
    start = time.monotonic()
    checkpoints = ["default", "planted:cheese-blind", bad.name]  # relative to the caller
    pytest_part = ["--", *PYTEST_ARGS]
    done = subprocess.run(
        [sys.executable, "-m", "harness", "sweep", *checkpoints, "--out", out.name, *pytest_part],
        # not the repo root: the sweep must find claims/ itself, and read --out and
        # checkpoint paths relative to the caller's directory
        cwd=out.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return {"out": out, "done": done, "seconds": time.monotonic() - start}


def test_sweep_runs_every_checkpoint_and_writes_the_dashboard(sweep):
    out, done = sweep["out"], sweep["done"]
    assert done.returncode == 1, done.stderr  # the broken checkpoint
    for name in ("default", "planted-cheese-blind"):
        report = json.loads((out / name / "report.json").read_text())
        assert [c["claim_id"] for c in report["claims"]] == ["TR2"]
        assert (out / name / "pytest.log").stat().st_size > 0
    lines = done.stdout.splitlines()
    assert lines[0].startswith("sweep [1/3] default: ") and lines[0].endswith(" s)")
    assert lines[1].startswith("sweep [2/3] planted-cheese-blind: ")
    assert lines[2].startswith("sweep [3/3] no-such-policy: FAILED, pytest exit")
    assert "passed" not in done.stdout  # pytest's own output only in the logs
    assert "no-such-policy" in done.stderr and "1 of 3 checkpoints failed" in done.stderr
    doc = json.loads((out / "dashboard.json").read_text())
    assert [c["name"] for c in doc["checkpoints"]] == ["default", "planted-cheese-blind"]
    assert [len(c["cells"]) for c in doc["claims"]] == [2]
    assert (out / "dashboard.html").is_file()
    assert not (out / "no-such-policy" / "report.json").exists()
    # same options for every unit: the reports are measured on the same mazes
    reports = [
        json.loads((out / n / "report.json").read_text())
        for n in ("default", "planted-cheese-blind")
    ]
    # (the units themselves may differ: claims keep the mazes where each policy qualifies)
    facts = [(r["run"]["base_seed"], r["run"]["budget"], r["run"]["alpha"]) for r in reports]
    assert facts[0] == facts[1] and facts[0][1] == "quick"
    print(f"sweep took {sweep['seconds']:.0f} s")


def test_resume_skips_finished_checkpoints_and_refuses_without_it(sweep, capsys):
    out = sweep["out"]
    argv = ["sweep", "default", "planted:cheese-blind", "--out", str(out), "--", *PYTEST_ARGS]
    assert main(argv) == 2
    assert "already exist" in capsys.readouterr().err
    before = (out / "default" / "report.json").stat().st_mtime_ns
    assert main([*argv[:5], "--resume", *argv[5:]]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert all("skipped" in line for line in printed[:2])
    assert printed[-1].startswith("dashboard: 2 checkpoints x 1 claim,")
    assert (out / "default" / "report.json").stat().st_mtime_ns == before


def test_out_must_not_be_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["sweep", "default", "--out", str(tmp_path / "f")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_pytest_options_after_the_double_dash():
    assert split_pytest_args(["a", "--out", "d", "--", "-k", "--", "x"]) == (
        ["a", "--out", "d"],
        ["-k", "--", "x"],
    )
    assert split_pytest_args(["a"]) == (["a"], [])
    with pytest.raises(SweepError, match="set by the sweep"):
        check_pytest_args(["--checkpoint=x"])
    check_pytest_args(["-k", "CV2"])


def test_unit_names_and_progress_lines(tmp_path):
    names = unit_names(["/a/policy.pth", "/b/policy.pth", "planted:saturating", "default"])
    assert names == ["policy", "policy-2", "planted-saturating", "default"]
    unit = Unit("default", "default", ())
    summary = {"supported": 18, "refuted": 3, "inconclusive": 2, "errors": 0}
    ok = UnitResult(unit, tmp_path, UnitOutcome(ok=True, seconds=41.2, summary=summary))
    assert progress_line(2, 3, ok) == (
        "sweep [2/3] default: 18 supported, 3 refuted, 2 inconclusive (41 s)"
    )
    ok.attempts = 2
    assert progress_line(2, 3, ok).endswith("(41 s, 2 attempts)")
    failed = UnitResult(unit, tmp_path, UnitOutcome.failed("Ray: WorkerCrashedError: died"))
    line = progress_line(1, 3, failed)
    assert line == "sweep [1/3] default: FAILED, Ray: WorkerCrashedError: died"
    (tmp_path / "pytest.log").write_text("x")
    assert progress_line(1, 3, failed).endswith(f"(log: {tmp_path / 'pytest.log'})")
    skipped = UnitResult(unit, tmp_path)
    assert skipped.skipped and skipped.ok and "skipped" in progress_line(3, 3, skipped)


def test_pytest_options_the_units_run_with():
    args = ["-k", "CV1 or CV2", "-n", "2", "--device=cuda", "--budget", "quick"]
    assert pytest_option(args, "-n", "--numprocesses") == "2"
    assert pytest_option(args, "--device") == "cuda"
    assert pytest_option(["-n4"], "-n") == "4"
    assert pytest_option(["--numprocesses=3"], "-n", "--numprocesses") == "3"
    assert pytest_option(["-k", "x"], "--device") is None
    assert pytest_option(["--device"], "--device") is None  # no value: pytest will say so
