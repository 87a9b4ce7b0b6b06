"""Validate exact episode outcomes (the (cell, facing) Markov chain) against procgen rollouts.

    python benchmarks/validate_chain.py [--checkpoint default] [--temperature 3]
        [--seeds 92 14 138 90 153 67] [--episodes 400] [--horizon 48] [--region-size 5]

For each maze, the exact chain (:mod:`harness.behavior.chain`, built from the policy's vector
fields for both facings) gives P(reach the cheese within the horizon) and P(enter the
top-right ``region-size`` x ``region-size`` region before the cheese); procgen itself samples
episodes with the policy's full 15-way softmax (:func:`harness.behavior.rollout.sample_episodes`).
Per maze and outcome it prints the exact p, the sampled rate and z; then ``episodes=<total>``
and, last, ``max_abs_z=<number>``.

Policy. ``--checkpoint`` takes ``default`` (the bundled trained policy; the default),
``planted[:name]``, a ``.pth`` path (all through :func:`harness.policy.open_policy`, which
loads with ``weights_only=True``) or ``random`` (seeded random weights, what this script used
before it took checkpoints). The bundled policy is nearly deterministic (at T = 1 its most
likely move has mean probability 0.98 over maze cells, above 0.95 on about 90% of them),
which would make the comparison nearly vacuous, so its logits are divided by
``--temperature`` (default 3: mean max move probability about 0.88). The division happens in
a wrapper module around the policy (:class:`Tempered`), so the vector fields (5-way groups of
the 15-way softmax) and the sampler (15-way softmax) see the same tempered logits. ``-T 1``
is the untempered policy.

Facing. The chain's state is (cell, facing). The script prints the mean and largest total
variation between the two facings' move distributions, and scores the samples against a
facing-blind chain too (the level-start facing's field used for both facings): on the
default mazes that chain is rejected by many standard errors, so the facing dimension is
exercised, not just carried along.

Same distribution, checked. The sampler's runner memoizes logits by observation bytes and
is primed by the vector fields' own renders, so every sampled observation that is
byte-identical to a chain (cell, facing) render gets exactly the chain's logits, and any
other one runs through the policy. The script prints how many sampled observations matched
(all of them, on procgen as installed: the observation is a function of (cell, facing)).
``--no-cache`` runs the policy on every sampled observation instead (about 3x slower).

z. Each z is the two-sided exact binomial p-value of the sampled count under the exact p,
as a standard-normal quantile, signed sampled - exact. Where n p (1 - p) is large this is
the usual (rate - p) / sqrt(p (1 - p) / n); it stays valid where p is near 0 or 1 (a single
hit of an impossible event gives z = inf). For k z-values under the null,
P(max |z| > c) <= k * 2 * (1 - Phi(c)) (Bonferroni); the script prints the c at family-wise
1%. It exits with status 1 if max |z| exceeds ``--bound`` (default 4.0: family-wise
probability <= 0.1% for up to 15 z-values).

Defaults: six mazes of sizes 9..23, picked from level seeds 0..159 (a scan of the exact chain
at T = 3, horizon 48) so that P(reach the cheese) is between 0.2 and 0.6 on five of them
(the 15 x 15 one, seed 90, is there for its top-right outcome, 0.45) and on three the
facing-blind chain is off by many standard errors; 400 episodes each, 2,400 in all. About
2 minutes on the 2-core development machine (procgen's stepping dominates).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.stats import binomtest, norm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.behavior.chain import EpisodeOutcome, episode_outcome, top_right_region
from harness.behavior.compare import total_variation
from harness.behavior.forward import Runner, plain_runner, probs5_from_logits
from harness.behavior.rollout import SampledEpisodes, sample_episodes
from harness.behavior.vfield import VectorField, vector_fields
from harness.maze.maze import Maze
from harness.maze.render import observations
from harness.policy import ImpalaPolicy, open_policy

DEFAULT_SEEDS = (92, 14, 138, 90, 153, 67)  # sizes 9, 11, 13, 15, 19, 23
DEFAULT_TEMPERATURE = 3.0
DEFAULT_BOUND = 4.0


class Tempered(torch.nn.Module):
    """``policy`` with its action logits divided by ``temperature`` (other outputs as is)."""

    def __init__(self, policy: torch.nn.Module, temperature: float) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.policy = policy
        self.temperature = float(temperature)

    def forward(self, obs: torch.Tensor):
        out = self.policy(obs)
        if isinstance(out, tuple):
            return (out[0] / self.temperature, *out[1:])
        return out / self.temperature


class ObservationCache:
    """A runner that memoizes ``runner``'s logits by the exact bytes of each observation.

    The policy is deterministic, so this changes no distribution; it lets the sampler reuse
    the logits the vector fields computed and counts how many sampled observations were
    byte-identical to one of those renders (``hits``) or not (``misses``).
    """

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.table: dict[bytes, torch.Tensor] = {}
        self.hits = self.misses = 0

    def __call__(self, obs: torch.Tensor, owners: np.ndarray) -> torch.Tensor:
        # tobytes() is C-order whatever the layout (the sampler's batches are permuted views).
        keys = [row.tobytes() for row in obs.detach().cpu().numpy()]
        new = [i for i, k in enumerate(keys) if k not in self.table]
        if new:
            logits = self.runner(obs[new], np.asarray(owners)[new]).float().cpu()
            for i, row in zip(new, logits, strict=True):
                self.table[keys[i]] = row
        self.misses += len(new)
        self.hits += len(keys) - len(new)
        return torch.stack([self.table[k] for k in keys])


def load(spec: str) -> torch.nn.Module:
    if spec == "random":
        torch.manual_seed(3)
        return ImpalaPolicy(scale=1).eval()
    return open_policy(spec, device="cpu").policy


def z_score(hits: int, n: int, p: float) -> float:
    """Signed normal quantile of the two-sided exact binomial p-value (see the docstring)."""
    p = min(max(p, 0.0), 1.0)
    z = float(norm.isf(binomtest(int(hits), n, p).pvalue / 2))
    return (z if hits >= n * p else -z) + 0.0  # + 0.0: no "-0.00"


def bonferroni_threshold(k: int, alpha: float) -> float:
    """c with k * P(|Z| > c) = alpha: max |z| of k null z-values exceeds it w.p. <= alpha."""
    return float(norm.isf(alpha / (2 * k)))


def both_facings(runner: Runner, maze: Maze) -> dict[bool, VectorField]:
    return {f: vector_fields(runner, [maze], "cpu", reflected=f)[0] for f in (False, True)}


def stochasticity(fields: dict[bool, VectorField]) -> tuple[np.ndarray, np.ndarray]:
    """Per (cell, facing): the largest move probability and the move entropy (nats)."""
    p = np.concatenate([fields[False].probs, fields[True].probs])
    ent = -(p * np.log(np.where(p > 0, p, 1.0))).sum(1)
    return p.max(1), ent


def facing_tv(fields: dict[bool, VectorField]) -> np.ndarray:
    """Per cell: total variation between the two facings' move distributions."""
    return total_variation(fields[False], fields[True])


@dataclass(frozen=True)
class Comparison:
    maze: Maze
    fields: dict[bool, VectorField]
    exact: EpisodeOutcome
    facing_blind: EpisodeOutcome  # the level-start facing's field at both facings
    sampled: SampledEpisodes
    matched: int  # sampled observations byte-identical to a chain render
    unmatched: int

    @property
    def n(self) -> int:
        return len(self.sampled.reached_cheese)

    def rows(self) -> list[tuple[str, float, float, int, float, float]]:
        """(outcome, exact p, facing-blind p, hits, z, facing-blind z) per outcome."""
        out = []
        for name, p, blind, hits in (
            (
                "reach cheese",
                self.exact.p_cheese,
                self.facing_blind.p_cheese,
                self.sampled.reached_cheese,
            ),
            (
                "top-right first",
                self.exact.p_region_first,
                self.facing_blind.p_region_first,
                self.sampled.reached_region_first,
            ),
        ):
            k = int(hits.sum())
            out.append((name, p, blind, k, z_score(k, self.n, p), z_score(k, self.n, blind)))
        return out


def compare(
    policy: torch.nn.Module,
    maze: Maze,
    episodes: int,
    horizon: int,
    region_size: int = 5,
    seed: int = 0,
    cache: bool = True,
) -> Comparison:
    """Exact chain vs ``episodes`` procgen episodes of ``maze`` under ``policy`` (as given:
    wrap it in :class:`Tempered` first to temper)."""
    base = plain_runner(policy)
    memo = ObservationCache(base)
    fields = both_facings(memo, maze)  # primes the cache with the chain's own renders
    # The sampler's lookup table, read at each (facing, cell) observation rendered the way
    # the sampler renders it (one procgen state each), is the chain's distribution (the
    # 15-way softmax grouped into 5 moves). (Some cells render identically for both
    # facings: at 64 x 64 the sprite looks the same.)
    chain_probs = np.concatenate([fields[False].probs, fields[True].probs])
    placed = [maze.with_mouse(c, f) for f in (False, True) for c in fields[f].cells]
    keys = [row.tobytes() for row in observations(placed).numpy()]
    if not all(k in memo.table for k in keys):
        raise AssertionError("the vector fields rendered observations the sampler never sees")
    primed = probs5_from_logits(torch.stack([memo.table[k] for k in keys]))
    if primed.shape != chain_probs.shape or not np.allclose(primed, chain_probs, atol=1e-6):
        raise AssertionError("the cached logits do not reproduce the vector fields")
    memo.hits, memo.misses = 0, 0
    region = set(top_right_region(maze, region_size))
    exact = episode_outcome(maze, fields, region=region, horizon=horizon)
    start = fields[False]
    blind = {False: start, True: VectorField(maze, start.cells, start.probs, True)}
    facing_blind = episode_outcome(maze, blind, region=region, horizon=horizon)
    sampled = sample_episodes(
        memo if cache else base, maze, episodes, horizon, "cpu", seed=seed, region=region
    )
    return Comparison(maze, fields, exact, facing_blind, sampled, memo.hits, memo.misses)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--checkpoint", default="default", help="default | planted[:name] | path | random"
    )
    ap.add_argument("-T", "--temperature", type=float, default=DEFAULT_TEMPERATURE)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    ap.add_argument("--episodes", type=int, default=400, help="per maze")
    ap.add_argument("--horizon", type=int, default=48)
    ap.add_argument("--region-size", type=int, default=5)
    ap.add_argument("--bound", type=float, default=DEFAULT_BOUND, help="exit 1 above it")
    ap.add_argument("--no-cache", action="store_true", help="run the policy on every step")
    args = ap.parse_args()
    t_all = time.perf_counter()
    policy = load(args.checkpoint)
    tempered = Tempered(policy, args.temperature).eval()
    print(
        f"policy {args.checkpoint}, temperature {args.temperature:g}, horizon {args.horizon}, "
        f"region top-right {args.region_size}x{args.region_size}, "
        f"{args.episodes} episodes per maze"
    )
    zs, blind_zs, total = [], [], 0
    untempered_max, tmax, tent, tvs = [], [], [], []
    for seed in args.seeds:
        maze = Maze.from_seed(seed)
        t = time.perf_counter()
        c = compare(
            tempered, maze, args.episodes, args.horizon, args.region_size, seed, not args.no_cache
        )
        total += c.n
        mx, ent = stochasticity(c.fields)
        tv = facing_tv(c.fields)
        untempered_max.append(stochasticity(both_facings(plain_runner(policy), maze))[0])
        tmax.append(mx)
        tent.append(ent)
        tvs.append(tv)
        print(
            f"seed {seed:3d} ({maze.size}x{maze.size}, {len(maze.mouse_cells)} cells): "
            f"mean max move p {mx.mean():.3f}, entropy {ent.mean():.3f} nats, "
            f"facing TV mean {tv.mean():.3f} max {tv.max():.3f}"
        )
        for name, p, blind, hits, z, zb in c.rows():
            zs.append(abs(z))
            blind_zs.append(abs(zb))
            print(
                f"  {name:15s}: exact {p:.4f}, sampled {hits / c.n:.4f} ({c.n} episodes), "
                f"z = {z:+.2f}   | facing-blind chain {blind:.4f}, z = {zb:+.2f}"
            )
        seen = c.matched + c.unmatched
        match = f"{c.matched}/{seen} sampled observations matched a chain render"
        if args.no_cache:
            match = "policy run on every sampled observation (--no-cache)"
        print(f"  {match}; {time.perf_counter() - t:.1f} s")
    untempered = np.concatenate(untempered_max)
    mx, ent, tv = np.concatenate(tmax), np.concatenate(tent), np.concatenate(tvs)
    print(
        f"stochasticity over all (cell, facing): at T=1 mean max move p {untempered.mean():.3f} "
        f"({np.mean(untempered > 0.95):.0%} > 0.95); at T={args.temperature:g} "
        f"{mx.mean():.3f} ({np.mean(mx > 0.95):.0%} > 0.95), entropy {ent.mean():.3f} nats "
        f"(uniform over 5: {math.log(5):.3f})"
    )
    print(
        f"facing: mean TV between the two facings' fields {tv.mean():.3f} over {tv.size} cells "
        f"({np.mean(tv > 0.1):.0%} > 0.1, max {tv.max():.3f}); facing-blind chain: "
        f"max |z| = {max(blind_zs):.2f}"
    )
    k = len(zs)
    median = norm.ppf((1 + 0.5 ** (1 / k)) / 2)  # of max |z| over k independent null z
    print(
        f"{k} z-values: under the null max |z| is typically below "
        f"{math.sqrt(2 * math.log(2 * k)):.1f} (sqrt(2 ln 2k); median {median:.1f} if "
        f"independent); above "
        f"{bonferroni_threshold(k, 0.01):.2f} is alarming (family-wise 1%, Bonferroni); "
        f"bound {args.bound:g} (family-wise <= {min(1.0, 2 * k * norm.sf(args.bound)):.2%})"
    )
    print(f"{time.perf_counter() - t_all:.1f} s in all")
    print(f"episodes={total}")
    max_z = max(zs)
    print(f"max_abs_z={max_z:.2f}")
    if max_z > args.bound:
        sys.exit(1)


if __name__ == "__main__":
    main()
