"""A sweep over a few checkpoints on the local engine and on Ray: wall times and Ray's cost.

    python benchmarks/bench_sweep.py [CKPT ...] [-- pytest options]
    (default: default planted:cheese-seeker planted:cheese-blind planted:saturating
     -- -k "CV1 or CV2" --budget quick)

Runs ``python -m harness sweep`` three times into fresh directories: the local engine (one
unit after another), Ray with one CPU per unit (units in parallel on a local instance), and
Ray with every core per unit (one after another, like the local engine). It checks that the
three give the same reports (timings stripped), and times starting and stopping a local Ray
instance on its own. Overhead per unit is a sweep's wall time minus its claims runs' own
(``seconds`` in each ``sweep-unit.json``), per unit: filing, the dashboard, and on Ray the
task's scheduling, worker start, fingerprint and file transfer (the serial Ray sweep, less the
instance's start and stop). Last lines: ``sweep_local_s=``, ``sweep_ray_s=``,
``sweep_ray_serial_s=``, ``ray_start_stop_s=``, ``local_overhead_per_unit_s=``,
``ray_overhead_per_task_s=`` and ``reports_identical=`` (1 or 0).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.report.build import strip_timings
from harness.sweep.plan import split_pytest_args, unit_names
from harness.sweep.ray_engine import LOCAL_INSTANCE_ENV

DEFAULT_CHECKPOINTS = [
    "default",
    "planted:cheese-seeker",
    "planted:cheese-blind",
    "planted:saturating",
]
DEFAULT_PYTEST = ["-k", "CV1 or CV2", "--budget", "quick"]


def timed_sweep(out: Path, checkpoints: list[str], options: list[str], pytest: list[str]) -> float:
    command = [sys.executable, "-m", "harness", "sweep", *checkpoints, "--out", str(out)]
    start = time.monotonic()
    done = subprocess.run([*command, *options, "--", *pytest], capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"sweep {' '.join(options) or '(local)'} failed:\n{done.stdout}\n{done.stderr}")
    print(done.stdout.strip(), flush=True)
    return seconds


def ray_start_stop() -> float:
    """Start and stop a local instance in a fresh process, as the sweep does."""
    code = (
        "import logging, ray\n"
        "ray.init(address='local', include_dashboard=False, log_to_driver=False, "
        "logging_level=logging.WARNING)\n"
        "ray.shutdown()\n"
    )
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        env={**os.environ, **LOCAL_INSTANCE_ENV},
    )
    return time.monotonic() - start


def claims_seconds(out: Path, names: list[str]) -> float:
    return sum(json.loads((out / n / "sweep-unit.json").read_text())["seconds"] for n in names)


def reports(out: Path, names: list[str]) -> list[dict]:
    return [strip_timings(json.loads((out / n / "report.json").read_text())) for n in names]


def main() -> None:
    ours, pytest = split_pytest_args(sys.argv[1:])
    checkpoints = ours or DEFAULT_CHECKPOINTS
    pytest = pytest or DEFAULT_PYTEST
    cores = len(os.sched_getaffinity(0))
    names = unit_names(checkpoints)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = {
            "local": [],
            "ray": ["--engine", "ray", "--cpus-per-unit", "1"],
            "ray_serial": ["--engine", "ray", "--cpus-per-unit", str(cores)],
        }
        seconds = {
            key: timed_sweep(root / key, checkpoints, opts, pytest) for key, opts in runs.items()
        }
        inside = {key: claims_seconds(root / key, names) for key in runs}
        same = (
            reports(root / "local", names)
            == reports(root / "ray", names)
            == reports(root / "ray_serial", names)
        )
    start_stop = ray_start_stop()
    n = len(checkpoints)
    local_overhead = (seconds["local"] - inside["local"]) / n
    ray_overhead = (seconds["ray_serial"] - start_stop - inside["ray_serial"]) / n
    print(f"units={len(checkpoints)} cores={cores} pytest={' '.join(pytest)}")
    print(f"sweep_local_s={seconds['local']:.1f}")
    print(f"sweep_ray_s={seconds['ray']:.1f}")
    print(f"sweep_ray_serial_s={seconds['ray_serial']:.1f}")
    print(f"ray_start_stop_s={start_stop:.1f}")
    print(f"local_overhead_per_unit_s={local_overhead:.2f}")
    print(f"ray_overhead_per_task_s={ray_overhead:.2f}")
    print(f"reports_identical={int(same)}")


if __name__ == "__main__":
    main()
