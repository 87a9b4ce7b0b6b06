"""The exact (cell, facing) Markov chain: analytic cases, and agreement with procgen rollouts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import binom, binomtest

from harness.actions import Move
from harness.behavior.chain import episode_outcome
from harness.behavior.forward import plain_runner
from harness.behavior.rollout import sample_episodes
from harness.behavior.vfield import VectorField, vector_fields
from harness.maze.maze import Maze
from harness.policy import open_policy
from harness.policy.impala import ImpalaPolicy
from harness.policy.sources import BUNDLED_CHECKPOINT

VALIDATE_CHAIN = Path(__file__).resolve().parents[1] / "benchmarks" / "validate_chain.py"


def constant_fields(maze: Maze, left: dict[Move, float], right: dict[Move, float]) -> dict:
    """Vector fields with the same distribution on every cell, per facing."""

    def field(probs: dict[Move, float], reflected: bool) -> VectorField:
        row = np.array([probs.get(m, 0.0) for m in Move])
        cells = maze.mouse_cells
        return VectorField(maze, cells, np.tile(row, (len(cells), 1)), reflected)

    return {False: field(left, False), True: field(right, True)}


CORRIDOR = Maze.from_grid(np.array([[0, 0, 0], [1, 1, 1], [1, 1, 1]], bool), cheese=(0, 2))


def test_deterministic_walk_reaches_cheese_after_exactly_the_path_length() -> None:
    fields = constant_fields(CORRIDOR, {Move.RIGHT: 1.0}, {Move.RIGHT: 1.0})
    assert episode_outcome(CORRIDOR, fields, horizon=1).p_cheese == 0.0
    assert episode_outcome(CORRIDOR, fields, horizon=2).p_cheese == pytest.approx(1.0)


@pytest.mark.parametrize("horizon", [2, 3, 5, 10])
def test_lazy_walk_matches_the_binomial(horizon: int) -> None:
    half = {Move.RIGHT: 0.5, Move.NOOP: 0.5}
    out = episode_outcome(CORRIDOR, constant_fields(CORRIDOR, half, half), horizon=horizon)
    assert out.p_cheese == pytest.approx(binom.sf(1, horizon, 0.5))


def test_facing_is_part_of_the_state() -> None:
    # Facing left: step right. Facing right: step left. The mouse oscillates forever.
    fields = constant_fields(CORRIDOR, {Move.RIGHT: 1.0}, {Move.LEFT: 1.0})
    assert episode_outcome(CORRIDOR, fields, horizon=50).p_cheese == 0.0
    # A blocked move keeps the cell but still turns the sprite (procgen sets is_reflected
    # from the action): at the right end, facing left, "RIGHT" only turns the mouse.
    maze = Maze.from_grid(CORRIDOR.walls, cheese=(0, 0), mouse=(0, 2))

    def policy(cell, facing):
        if cell == (0, 2):
            return {Move.LEFT: 1.0} if facing else {Move.RIGHT: 1.0}
        return {Move.LEFT: 1.0}

    fields = {
        f: VectorField(
            maze,
            maze.mouse_cells,
            np.array([[policy(c, f).get(m, 0.0) for m in Move] for c in maze.mouse_cells]),
            f,
        )
        for f in (False, True)
    }
    assert episode_outcome(maze, fields, horizon=2).p_cheese == 0.0
    assert episode_outcome(maze, fields, horizon=3).p_cheese == pytest.approx(1.0)


def test_region_first_and_bad_inputs() -> None:
    open_maze = Maze.from_grid(np.zeros((3, 3), bool), cheese=(0, 2))
    up = constant_fields(open_maze, {Move.UP: 1.0}, {Move.UP: 1.0})
    out = episode_outcome(open_maze, up, region=[(2, 0)], horizon=5)
    assert out.p_region_first == pytest.approx(1.0) and out.p_cheese == 0.0
    with pytest.raises(ValueError, match="both facings"):
        episode_outcome(open_maze, {False: up[False]})
    with pytest.raises(ValueError, match="with cheese"):
        episode_outcome(open_maze.without_cheese(), up)


@pytest.fixture(scope="module")
def random_policy() -> ImpalaPolicy:
    torch.manual_seed(3)
    return ImpalaPolicy(scale=1).eval()


def test_chain_agrees_with_sampled_procgen_episodes(random_policy) -> None:
    # The full validation (thousands of episodes, several mazes) is
    # benchmarks/validate_chain.py; this is its quick form on a 3 x 3 level.
    maze, horizon, n = Maze.from_seed(1), 16, 200
    runner = plain_runner(random_policy)
    fields = {f: vector_fields(runner, [maze], "cpu", reflected=f)[0] for f in (False, True)}
    region = {(1, 0)}
    exact = episode_outcome(maze, fields, region=region, horizon=horizon)
    sampled = sample_episodes(runner, maze, n, horizon, "cpu", seed=1, region=region)
    for p, hits in (
        (exact.p_cheese, sampled.reached_cheese),
        (exact.p_region_first, sampled.reached_region_first),
    ):
        assert 0.1 < p < 0.9  # the comparison is not trivially 0 or 1
        assert binomtest(int(hits.sum()), n, p).pvalue > 1e-3, (hits.mean(), p)


def _validate_chain():
    """benchmarks/validate_chain.py as a module (the benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("validate_chain", VALIDATE_CHAIN)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


@pytest.fixture(scope="module")
def bundled_policy() -> torch.nn.Module:
    if not BUNDLED_CHECKPOINT.is_file():
        pytest.skip("no bundled checkpoint in this checkout")
    return open_policy("default", device="cpu").policy


def test_chain_agrees_with_procgen_for_the_tempered_trained_policy(bundled_policy) -> None:
    # The small form of benchmarks/validate_chain.py: the bundled policy at the benchmark's
    # temperature, two of its mazes, where several outcomes depend on the facing.
    vc = _validate_chain()
    tempered = vc.Tempered(bundled_policy, vc.DEFAULT_TEMPERATURE).eval()
    runs = [
        vc.compare(tempered, Maze.from_seed(s), n, 48, seed=s) for s, n in ((153, 200), (14, 200))
    ]
    rows = [row for c in runs for row in c.rows()]
    # Family-wise 0.1% over all z-values compared (Bonferroni): max |z| of k null z-values
    # exceeds this with probability <= 0.001 (about 3.7 for k = 4).
    bound = vc.bonferroni_threshold(len(rows), 1e-3)
    for c in runs:
        mx, _ = vc.stochasticity(c.fields)
        assert mx.mean() < 0.95  # genuinely stochastic once tempered
        assert c.unmatched == 0 and c.matched > 0  # the sampler read the chain's own logits
    for name, p, _blind, _hits, z, _zb in rows:
        assert abs(z) < bound, (name, p, z)
    assert sum(0.05 < p < 0.95 for _, p, *_ in rows) >= 3  # the comparison has power
    # Facing is exercised: a chain that ignores it is rejected by the same samples.
    assert max(abs(zb) for *_, zb in rows) > 2 * bound
