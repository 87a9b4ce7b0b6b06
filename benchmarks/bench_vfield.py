"""Vector-field throughput against the best raw forward throughput of the same policy, and
against a re-enactment of the reference tooling's algorithm on the same mazes.

    python benchmarks/bench_vfield.py [--checkpoint default] [--mazes 40] [--repeats 3]

* **forward bound**: the policy on observations already in memory, at every batch size of
  ``--batches`` and every thread count of ``--threads``; the best is the reference.
* **vector fields**: :func:`harness.behavior.vfield.vector_fields` as the claims call it
  (rendering included), at the device's default batch size and torch's default threads.
* **reference algorithm**: what procgen-tools does per maze -- a fresh procgen environment
  with one sub-environment per legal cell, ``set_state`` on each, one forward pass per maze.

All three run in this process on the same mazes. The last lines are
``vfield_speedup_vs_reference=<ratio>`` and ``vfield_fraction_of_forward=<number>``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_time

from harness.behavior.forward import batch_rows, plain_runner, set_channel_scale
from harness.behavior.vfield import vector_fields
from harness.maze.maze import Maze, state_bytes_many
from harness.maze.procgen_env import _make_env
from harness.maze.render import observations, to_tensor
from harness.maze.streams import maze_stream, take
from harness.policy import open_policy


def forward_bound(
    policy: torch.nn.Module, obs: torch.Tensor, batches: list[int], threads: list[int], repeats: int
) -> tuple[float, int, int, list[tuple[int, int, float]]]:
    """Best obs/s over (threads, batch) and every measurement."""
    rows = []
    default_threads = torch.get_num_threads()
    for t in threads:
        torch.set_num_threads(t)
        for b in batches:
            full = len(obs) // b * b  # whole batches only, as the pipeline runs them

            def run(b: int = b, full: int = full) -> None:
                with torch.inference_mode():
                    for i in range(0, full, b):
                        policy(obs[i : i + b])

            rows.append((t, b, full / median_time(run, repeats)))
    torch.set_num_threads(default_threads)
    t, b, best = max(rows, key=lambda r: r[2])
    return best, t, b, rows


def reference_vector_fields(policy: torch.nn.Module, mazes: list[Maze]) -> list[np.ndarray]:
    """The reference tooling's algorithm: per maze, a new environment with one
    sub-environment per legal mouse cell, their states set, one forward pass."""
    out = []
    for m in mazes:
        states = state_bytes_many(m.with_mice(m.mouse_cells))
        env = _make_env(len(states))
        try:
            env.callmethod("set_state", states)
            _, frames, _ = env.observe()
            with torch.inference_mode():
                logits = policy(to_tensor(frames["rgb"]))[0]
            out.append(torch.softmax(logits, -1).numpy())
        finally:
            env.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="default")
    ap.add_argument("--mazes", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batches", default="16,32,64,128,256", help="forward batch sizes")
    ap.add_argument("--threads", default="", help="thread counts (default: 1 and all cores)")
    args = ap.parse_args()
    cores = torch.get_num_threads()
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, cores})
    batches = [int(b) for b in args.batches.split(",")]
    loaded = open_policy(args.checkpoint, device="cpu")
    policy, runner = loaded.policy, plain_runner(loaded.policy)
    set_channel_scale(loaded.info.scale)  # the batch the claims would use for this network
    mazes = take(maze_stream(0), args.mazes)
    cells = sum(len(m.mouse_cells) for m in mazes)
    obs = observations([m.with_mouse(c) for m in mazes for c in m.mouse_cells])

    best, best_t, best_b, rows = forward_bound(policy, obs, batches, threads, args.repeats)
    t_vf = median_time(lambda: vector_fields(runner, mazes, "cpu"), args.repeats)
    t_ref = median_time(lambda: reference_vector_fields(policy, mazes), args.repeats)
    vf, ref = cells / t_vf, cells / t_ref
    print(
        f"policy {loaded.info.source} (scale {loaded.info.scale}), {args.mazes} mazes, "
        f"{cells} cells, {cores} cores"
    )
    for t, b, rate in rows:
        print(f"raw forward, {t} thread(s), batch {b:>4}: {rate:8.0f} obs/s")
    print(f"forward bound (best): {best:8.0f} obs/s ({best_t} thread(s), batch {best_b})")
    print(
        f"vector fields:        {vf:8.0f} obs/s (rendering included; batch "
        f"{batch_rows('cpu')}, {torch.get_num_threads()} thread(s))"
    )
    print(f"reference algorithm:  {ref:8.0f} obs/s (a procgen env per cell, a forward per maze)")
    print(f"vfield_speedup_vs_reference={vf / ref:.2f}")
    print(f"vfield_fraction_of_forward={vf / best:.3f}")


if __name__ == "__main__":
    main()
