"""Faster forward passes on this CPU, and whether they give the numbers fp32 gives.

    python benchmarks/bench_precision.py [--checkpoint default] [--mazes 40] [--batch 64]

Measures, at the device's batch size and torch's default threads, plain fp32 eager (what
the claims run), ``torch.compile`` of the same module, and bf16 autocast (this CPU has
AVX512_BF16), and compares each one's vector-field move distributions on the same mazes
with fp32 eager: the largest absolute difference in a probability and the share of cells
whose most likely move changes. The agreement tolerance is declared here, before any
result: 1e-4 on a probability, a fiftieth of the smallest margin a claim states (0.005, the
CH3 distance slope) and far below the 1e-3 at which the GPU notes saw behavioural draws
flip. The last lines are ``compile_speedup=``, ``compile_max_abs_dp=``, ``bf16_speedup=``,
``bf16_max_abs_dp=``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_time

from harness.behavior.forward import batch_rows
from harness.maze.render import observations
from harness.maze.streams import maze_stream, take
from harness.policy import open_policy
from harness.policy.probs import probs5

TOLERANCE = 1e-4


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="default")
    ap.add_argument("--mazes", type=int, default=40)
    ap.add_argument("--batch", type=int, default=batch_rows("cpu"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    policy = open_policy(args.checkpoint, device="cpu").policy
    mazes = take(maze_stream(0), args.mazes)
    obs = observations([m.with_mouse(c) for m in mazes for c in m.mouse_cells])
    obs = obs[: len(obs) // args.batch * args.batch]
    b = args.batch

    def bf16(x: torch.Tensor):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return policy(x)

    compiled = torch.compile(policy)
    variants = {"fp32": policy, "compile": compiled, "bf16": bf16}
    probs, rate = {}, {}
    for name, fn in variants.items():

        def run(fn=fn) -> list[torch.Tensor]:
            with torch.inference_mode():
                return [fn(obs[i : i + b])[0].float() for i in range(0, len(obs), b)]

        with contextlib.redirect_stderr(sys.stdout):
            probs[name] = probs5(torch.cat(run()))  # also the warm-up (compilation)
        rate[name] = len(obs) / median_time(run, args.repeats)
    threads = torch.get_num_threads()
    print(
        f"{len(obs)} observations of {args.mazes} mazes, batch {b}, {threads} threads; "
        f"tolerance {TOLERANCE:g} on a probability"
    )
    ref = probs["fp32"]
    lines = []
    for name in ("compile", "bf16"):
        dp = float((probs[name] - ref).abs().max())
        flips = float((probs[name].argmax(1) != ref.argmax(1)).float().mean())
        verdict = "agrees" if dp <= TOLERANCE else "does NOT agree"
        print(
            f"{name:8s} {rate[name]:7.0f} obs/s ({rate[name] / rate['fp32']:.2f}x fp32's "
            f"{rate['fp32']:.0f}); max |dp| {dp:.2e}, most likely move changed on "
            f"{flips:.1%} of cells: {verdict}"
        )
        lines += [f"{name}_speedup={rate[name] / rate['fp32']:.2f}", f"{name}_max_abs_dp={dp:.2e}"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
