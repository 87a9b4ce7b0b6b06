"""The claims suite on the bundled policy: wall time, forward rows, and how close the run
comes to what the forward pass alone would take.

    python benchmarks/bench_suite.py [--budget quick|default] [--checkpoint default]
                                     [--workers N] [-- more pytest options]

Runs ``pytest claims/`` in a subprocess (with the counterexample database off, so a run
depends only on its options) and counts, in every pytest process, the rows the policy ran
forward and the hit rates of the results shared across claims. The forward bound is the
best obs/s of the same policy over batch sizes 16..256 at 1 and all threads, measured here
before the suite. The last lines are ``suite_seconds=<s>``, ``suite_forward_rows=<rows>``
and ``suite_fraction_of_forward_bound=<ratio>`` (rows / bound obs/s, divided by seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_time

from fixtures.workload import WORKLOAD_ENV
from harness.policy import open_policy

ROOT = Path(__file__).resolve().parents[1]


def forward_bound(checkpoint: str, repeats: int = 3) -> tuple[float, str]:
    """Best raw forward obs/s of the checkpoint's policy, and where it was reached."""
    policy = open_policy(checkpoint, device="cpu").policy
    obs = torch.rand(512, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    obs = obs.contiguous(memory_format=torch.channels_last)
    cores = torch.get_num_threads()
    best, where = 0.0, ""
    for threads in sorted({1, cores}):
        torch.set_num_threads(threads)
        for batch in (16, 32, 64, 128, 256):

            def run(batch: int = batch) -> None:
                with torch.inference_mode():
                    for i in range(0, len(obs), batch):
                        policy(obs[i : i + batch])

            rate = len(obs) / median_time(run, repeats)
            if rate > best:
                best, where = rate, f"{threads} thread(s), batch {batch}"
    torch.set_num_threads(cores)
    return best, where


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", default="default", choices=["quick", "default", "paper"])
    ap.add_argument("--checkpoint", default="default")
    ap.add_argument("--workers", type=int, default=0, help="pytest-xdist workers (0: serial)")
    ap.add_argument("--report-dir", default=None, help="keep the report here")
    ap.add_argument("pytest_args", nargs="*", help="more pytest options (after --)")
    args = ap.parse_args()

    bound, where = forward_bound(args.checkpoint)
    print(f"forward bound: {bound:.0f} obs/s ({where})", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        workload = Path(tmp) / "workload"
        report = Path(args.report_dir or Path(tmp) / "report").resolve()
        cmd = [
            sys.executable, "-m", "pytest", "claims/", "-q", "-p", "no:cacheprovider",
            "--budget", args.budget, "--checkpoint", args.checkpoint,
            "--counterexample-db", "off", "--report-dir", str(report),
        ]  # fmt: skip
        if args.workers:
            cmd += ["-n", str(args.workers)]
        cmd += args.pytest_args
        env = {**os.environ, WORKLOAD_ENV: str(workload)}
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        tail = done.stdout.strip().splitlines()[-1:] or done.stderr.strip().splitlines()[-1:]
        print(f"pytest exit {done.returncode}: {tail[0] if tail else ''}")
        if done.returncode not in (0, 1):
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
            return 2
        parts = [json.loads(p.read_text()) for p in sorted(workload.glob("workload-*.json"))]
    rows = sum(p["forward_rows"] for p in parts)
    shared: dict[str, list[int]] = {}
    for p in parts:
        for what, c in p["shared_results"].items():
            got = shared.setdefault(what, [0, 0])
            got[0] += c["hits"]
            got[1] += c["misses"]
    for what, (hits, misses) in sorted(shared.items()):
        rate = hits / (hits + misses) if hits + misses else 0.0
        print(f"shared {what}: {hits} hits, {misses} misses (hit rate {rate:.2f})")
    print(f"processes: {len(parts)}; forward rows at the bound would take {rows / bound:.1f} s")
    print(f"suite_seconds={seconds:.1f}")
    print(f"suite_forward_rows={rows}")
    print(f"suite_fraction_of_forward_bound={rows / bound / seconds:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
