"""``train --keep-every``: a checkpoint series with its training progress beside each file,
which sweeps and dashboards order by."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from harness.policy.checkpoint import load_policy
from harness.train.bc import PROGRESS_FORMAT, progress_path

ROOT = Path(__file__).resolve().parent.parent


def test_keep_every_writes_a_series_with_progress(tmp_path):
    run = tmp_path / "run"
    command = [
        *(sys.executable, "-m", "harness", "train", "--run-dir", str(run)),
        *("--total-samples", "600", "--keep-every", "256", "--batch-size", "64"),
        *("--max-size", "7", "--threads", "1", "--eval-every-samples", "100000"),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    snapshots = sorted((run / "snapshots").glob("*.pth"))
    seen = [json.loads(progress_path(p).read_text())["samples_seen"] for p in snapshots]
    assert seen[0] == 0 and len(seen) == 3 and seen == sorted(seen)
    assert all(256 * k <= s < 256 * k + 64 for k, s in enumerate(seen))  # first batch past k x 256
    assert [p.name for p in snapshots] == [f"policy-{s:09d}.pth" for s in seen]
    sidecar = json.loads(progress_path(snapshots[1]).read_text())
    assert sidecar == {"format": PROGRESS_FORMAT, "samples_seen": seen[1], "total_samples": 600}
    final = json.loads(progress_path(run / "policy.pth").read_text())
    assert final["samples_seen"] >= 600
    # each snapshot is a loadable policy, and training changed the weights
    first, last = (torch.load(p, weights_only=True)["model_state_dict"] for p in snapshots[::2])
    assert any(not torch.equal(first[k], last[k]) for k in first)
    load_policy(snapshots[-1])
