"""Vector-field throughput against raw forward throughput of the same policy.

    python benchmarks/bench_vfield.py [--checkpoint default] [--mazes 40] [--threads N]

A vector field renders the mouse on every legal cell (procgen, batched ``set_state``) and
runs the policy on all of them; rendering of the next chunk overlaps the forward pass of the
current one. Raw throughput runs the same policy on the same observations already in memory.
The last line is ``vfield_fraction_of_forward=<number>``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_time

from harness.behavior.forward import CHUNK, plain_runner
from harness.behavior.vfield import vector_fields
from harness.maze.render import observations
from harness.maze.streams import maze_stream, take
from harness.policy import open_policy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint", default="default")
    ap.add_argument("--mazes", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = open_policy(args.checkpoint, device="cpu")
    policy, runner = loaded.policy, plain_runner(loaded.policy)
    mazes = take(maze_stream(0), args.mazes)
    cells = sum(len(m.mouse_cells) for m in mazes)
    obs = observations([m.with_mouse(c) for m in mazes for c in m.mouse_cells])

    def forward_only() -> None:
        with torch.inference_mode():
            for i in range(0, len(obs), CHUNK):
                policy(obs[i : i + CHUNK])

    t_fwd = median_time(forward_only, args.repeats)
    t_vf = median_time(lambda: vector_fields(runner, mazes, "cpu"), args.repeats)
    fwd, vf = cells / t_fwd, cells / t_vf
    print(
        f"policy {loaded.info.source} (scale {loaded.info.scale}), {args.mazes} mazes, "
        f"{cells} cells, torch threads {torch.get_num_threads()}"
    )
    print(f"raw batched forward: {fwd:8.0f} obs/s")
    print(f"vector fields:       {vf:8.0f} obs/s (rendering included)")
    print(f"vfield_fraction_of_forward={vf / fwd:.3f}")


if __name__ == "__main__":
    main()
