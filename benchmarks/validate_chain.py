"""Validate exact episode outcomes (the (cell, facing) Markov chain) against procgen rollouts.

    python benchmarks/validate_chain.py [--checkpoint PATH] [--episodes 600] [--horizon 64]

For several mazes, samples episodes in procgen with the policy's full 15-way softmax and
compares the fraction that reach the cheese (and the top-right region first) with the exact
chain probability, in standard errors. The last line is ``max_abs_z=<number>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.behavior.chain import episode_outcome, top_right_region
from harness.behavior.forward import plain_runner
from harness.behavior.rollout import sample_episodes
from harness.behavior.vfield import vector_fields
from harness.maze.maze import Maze
from harness.policy.impala import ImpalaPolicy


def load(path: str | None) -> torch.nn.Module:
    if path is None:
        torch.manual_seed(3)
        return ImpalaPolicy(scale=1).eval()
    sd = torch.load(path, weights_only=True)
    sd = sd.get("model_state_dict", sd)
    scale = sd["embedder.block1.conv.weight"].shape[0] // 16
    model = ImpalaPolicy(scale=scale)
    model.load_state_dict(sd)
    return model.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint", default=None, help="policy .pth (default: random weights)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 3, 12, 25])
    ap.add_argument("--episodes", type=int, default=600)
    ap.add_argument("--horizon", type=int, default=64)
    args = ap.parse_args()
    runner = plain_runner(load(args.checkpoint))
    zs, total = [], 0
    for seed in args.seeds:
        maze = Maze.from_seed(seed)
        fields = {f: vector_fields(runner, [maze], "cpu", reflected=f)[0] for f in (False, True)}
        region = set(top_right_region(maze, 2))
        exact = episode_outcome(maze, fields, region=region, horizon=args.horizon)
        t = time.perf_counter()
        s = sample_episodes(
            runner, maze, args.episodes, args.horizon, "cpu", seed=seed, region=region
        )
        total += args.episodes
        for name, p, hits in (
            ("reach cheese", exact.p_cheese, s.reached_cheese),
            ("top-right first", exact.p_region_first, s.reached_region_first),
        ):
            se = np.sqrt(max(p * (1 - p), 1e-12) / args.episodes)
            z = (hits.mean() - p) / se
            zs.append(abs(z))
            print(
                f"seed {seed:3d} ({maze.size}x{maze.size}) {name:15s}: exact {p:.4f}, "
                f"sampled {hits.mean():.4f} ({args.episodes} episodes), z = {z:+.2f}"
            )
        print(f"  {time.perf_counter() - t:.1f} s of rollouts")
    print(f"episodes={total}")
    print(f"max_abs_z={max(zs):.2f}")


if __name__ == "__main__":
    main()
