"""Forward-pass throughput of the IMPALA policy, with and without an active intervention.

    python benchmarks/bench_forward.py [--repeats 21] [--threads 1] [--device cpu]

Prints obs/s for scales 1 and 4 at batch 1, 64 and 256, plain and with an add-vector
intervention at ``embedder.block2.res1.resadd_out``. The last line is the contract:
``intervention_overhead=<ratio>``, the median wall time of a batch-256 scale-1 forward pass
with the intervention divided by the median without it. The two conditions alternate pass
by pass, so load from other processes hits both alike.

One intra-op thread by default: on a shared machine, OpenMP threads waiting for a
descheduled sibling made passes ~10x slower and their times scatter by +-20 %; pass
``--threads 0`` for torch's default (all cores) on an idle machine.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.hooks import intervening
from harness.interventions import AddVector
from harness.policy import ImpalaPolicy, resolve_device

LAYER = "embedder.block2.res1.resadd_out"


def make_policy(scale: int, device: torch.device) -> ImpalaPolicy:
    gen = torch.Generator().manual_seed(scale)
    policy = ImpalaPolicy(scale=scale)
    with torch.no_grad():
        for p in policy.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    return policy.to(device).eval()


def add_vector(policy: ImpalaPolicy, device: torch.device) -> AddVector:
    shape = (32 * policy.scale, 16, 16)
    v = torch.randn(shape, generator=torch.Generator().manual_seed(7)).to(device)
    return AddVector(LAYER, v, -1.0, "random_vector")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_forward(policy: ImpalaPolicy, obs: torch.Tensor) -> float:
    _sync(obs.device)
    start = time.perf_counter()
    with torch.inference_mode():
        policy(obs)
    _sync(obs.device)
    return time.perf_counter() - start


def paired_times(
    policy: ImpalaPolicy,
    obs: torch.Tensor,
    repeats: int | None,
    warmup: int = 1,
    budget: float = 4.0,
) -> tuple[list[float], list[float]]:
    """Alternating plain / intervened forward passes (ABBA order); the context is entered
    outside the timed region, so only the forward pass is measured. ``repeats=None`` picks
    as many pairs as fit in ``budget`` seconds (at least 2, at most 200)."""
    iv = add_vector(policy, obs.device)
    plain, hooked = [], []
    if repeats is None:
        one = timed_forward(policy, obs)
        repeats = max(2, min(200, int(budget / (2 * one))))
    for i in range(warmup + repeats):
        order = (False, True) if i % 2 == 0 else (True, False)
        for active in order:
            ctx = intervening(policy, iv) if active else contextlib.nullcontext()
            with ctx:
                t = timed_forward(policy, obs)
            if i >= warmup:
                (hooked if active else plain).append(t)
    return plain, hooked


def context_cost_us(policy: ImpalaPolicy, device: torch.device, repeats: int = 200) -> float:
    """Validate + install + remove the hooks of one intervention, without a forward pass."""
    iv = add_vector(policy, device)
    start = time.perf_counter()
    for _ in range(repeats):
        with intervening(policy, iv):
            pass
    return (time.perf_counter() - start) / repeats * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="pairs for the overhead ratio")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)"
    )
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}")
    print(f"{'scale':>5} {'batch':>5} {'plain obs/s':>12} {'intervened obs/s':>17} {'ratio':>6}")
    for scale in (1, 4):
        policy = make_policy(scale, device)
        for batch in (1, 64, 256):
            obs = torch.rand(batch, 3, 64, 64, generator=torch.Generator().manual_seed(0))
            obs = obs.to(device)
            plain, hooked = paired_times(policy, obs, None)
            tp, th = statistics.median(plain), statistics.median(hooked)
            print(f"{scale:>5} {batch:>5} {batch / tp:>12.1f} {batch / th:>17.1f} {th / tp:>6.3f}")
    small = make_policy(1, device)
    setup = context_cost_us(small, device)
    print(f"hooks: validate + install + remove one intervention: {setup:.0f} us")
    obs = torch.rand(256, 3, 64, 64, generator=torch.Generator().manual_seed(1)).to(device)
    plain, hooked = paired_times(small, obs, args.repeats, warmup=2)
    ratio = statistics.median(hooked) / statistics.median(plain)
    print(
        f"batch-256 scale-1 forward: plain {statistics.median(plain) * 1e3:.1f} ms, "
        f"with add-vector {statistics.median(hooked) * 1e3:.1f} ms ({args.repeats} pairs)"
    )
    print(f"intervention_overhead={ratio:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
