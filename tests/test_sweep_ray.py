"""``sweep --engine ray`` on a real local Ray instance (started by the sweep on the loopback
interface, shut down by it): the same reports as the local engine, a worker killed mid-task
retried, a bad checkpoint failing only its unit, and an interrupted sweep resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.report.build import strip_timings
from harness.sweep.resume import RECORD_NAME

pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")

#: One quick claim on two small checkpoints (about 15 s per unit on one core).
PYTEST_ARGS = ["-k", "TR2", "--budget", "quick"]
CHECKPOINTS = ["default", "planted:cheese-blind"]
NAMES = ["default", "planted-cheese-blind"]
TIMEOUT = 600


def sweep_command(out: Path, checkpoints: list[str], *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "harness",
        "sweep",
        *checkpoints,
        "--out",
        str(out),
        *options,
        "--",
        *PYTEST_ARGS,
    ]


def run_sweep(out: Path, checkpoints: list[str], *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        sweep_command(out, checkpoints, *options),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def report(out: Path, name: str) -> dict:
    return strip_timings(json.loads((out / name / "report.json").read_text()))


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("sweep [")]


def _processes() -> dict[int, tuple[int, list[bytes]]]:
    """pid -> (parent pid, argv) of every process now."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        table[int(entry.name)] = (ppid, argv)
    return table


def descendants(root: int) -> dict[int, tuple[int, list[bytes]]]:
    """The processes below ``root`` (the sweep's Ray instance, workers, claims runs)."""
    table = _processes()
    found: dict[int, tuple[int, list[bytes]]] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, argv) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = (ppid, argv)
                frontier.append(pid)
    return found


def claims_processes(root: int, spec: str) -> list[tuple[int, int]]:
    """(pid, parent pid) of the pytest claims runs on checkpoint ``spec`` below ``root``
    (never another test's: xdist may run a sweep beside this one)."""
    return [
        (pid, ppid)
        for pid, (ppid, argv) in descendants(root).items()
        if b"pytest" in argv and spec.encode() in argv
    ]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie left for an absent reaper does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(predicate, what: str, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "sweep"
    done = run_sweep(out, CHECKPOINTS)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def ray_sweep(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The two checkpoints and a broken file on Ray; the worker running the planted
    policy's claims is killed (SIGKILL) a few seconds into its task."""
    out = tmp_path_factory.mktemp("ray") / "sweep"
    broken = out.parent / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    process = subprocess.Popen(
        sweep_command(out, [*CHECKPOINTS, str(broken)], "--engine", "ray"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        (child, worker), *_ = wait_for(
            lambda: claims_processes(process.pid, "planted:cheese-blind"),
            "the planted unit's claims run",
        )
        time.sleep(3)  # mid-task
        os.kill(worker, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
    return {
        "out": out,
        "returncode": process.returncode,
        "stdout": stdout,
        "stderr": stderr,
        "killed": (child, worker),
    }


def test_ray_sweep_writes_the_same_reports_as_the_local_engine(local_sweep, ray_sweep):
    out = ray_sweep["out"]
    for name in NAMES:
        assert report(out, name) == report(local_sweep, name), name
    dash = [json.loads((d / "dashboard.json").read_text()) for d in (local_sweep, out)]
    assert dash[0]["claims"] == dash[1]["claims"]
    for checkpoints in zip(dash[0]["checkpoints"], dash[1]["checkpoints"], strict=True):
        local, ray = ({k: v for k, v in c.items() if k != "report"} for c in checkpoints)
        assert local == ray


def test_a_killed_worker_is_retried_and_nothing_is_lost(ray_sweep):
    child, _worker = ray_sweep["killed"]
    assert not alive(child)  # the claims run died with its worker
    (line,) = [x for x in lines(ray_sweep["stdout"]) if "planted-cheese-blind:" in x]
    assert line.endswith(" s, 2 attempts)"), line
    record = json.loads((ray_sweep["out"] / "planted-cheese-blind" / RECORD_NAME).read_text())
    assert record["attempts"] == 2 and record["engine"] == "ray"
    assert report(ray_sweep["out"], "planted-cheese-blind")["summary"]["errors"] == 0


def test_a_bad_checkpoint_fails_its_unit_and_the_rest_finish(ray_sweep):
    out = ray_sweep["out"]
    assert ray_sweep["returncode"] == 1, ray_sweep["stderr"]
    printed = lines(ray_sweep["stdout"])
    assert len(printed) == 3 and sum("FAILED" in x for x in printed) == 1
    (failed,) = [x for x in printed if "broken:" in x]
    assert "FAILED, pytest exit 4" in failed and "log: " in failed
    assert "1 of 3 checkpoints failed: broken" in ray_sweep["stderr"]
    assert (out / "broken" / "pytest.log").is_file()
    assert not (out / "broken" / "report.json").exists()
    assert not (out / "broken" / RECORD_NAME).exists()
    doc = json.loads((out / "dashboard.json").read_text())
    assert [c["name"] for c in doc["checkpoints"]] == NAMES
    assert not [p for p in out.iterdir() if p.name.endswith(".running")]


def test_an_interrupted_sweep_keeps_finished_reports_and_resumes(tmp_path, local_sweep):
    out = tmp_path / "sweep"
    # one unit at a time (2 CPUs each), so the first finishes while the second runs
    options = ("--engine", "ray", "--cpus-per-unit", "2")
    process = subprocess.Popen(
        sweep_command(out, CHECKPOINTS, *options),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("sweep [1/2] "), first
        done_name = first.split()[2].rstrip(":")
        (other,) = [n for n in NAMES if n != done_name]
        spec = CHECKPOINTS[NAMES.index(other)]
        wait_for(lambda: claims_processes(process.pid, spec), "the second unit's claims run")
        below = descendants(process.pid)  # Ray's processes and the running claims
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "run the same command with --resume" in stderr
    wait_for(lambda: not any(alive(pid) for pid in below), "Ray and the claims run to end", 60)
    assert report(out, done_name) == report(local_sweep, done_name)
    assert (out / done_name / RECORD_NAME).is_file()
    assert not (out / other).exists()
    doc = json.loads((out / "dashboard.json").read_text())
    assert [c["name"] for c in doc["checkpoints"]] == [done_name]

    again = run_sweep(out, CHECKPOINTS, *options)
    assert again.returncode == 2 and "--resume" in again.stderr  # refuses to overwrite
    resumed = run_sweep(out, CHECKPOINTS, *options, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    printed = lines(resumed.stdout)
    assert printed[0] == (
        f"sweep [1/2] {done_name}: already done (same checkpoint and options in "
        f"{out / done_name / 'report.json'}), skipped"
    )
    assert printed[1].startswith(f"sweep [2/2] {other}: ")
    for name in NAMES:
        assert report(out, name) == report(local_sweep, name), name
