"""The chain needs only the cells an episode can reach; leaving the rest out changes no bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.behavior.chain import episode_outcome, p_either, reachable
from harness.behavior.forward import plain_runner
from harness.behavior.vfield import VectorField, vector_fields
from harness.experiments.behavioural import next_to_cheese
from harness.maze.maze import Maze
from harness.policy import ImpalaPolicy


@pytest.fixture(scope="module")
def runner():
    torch.manual_seed(1)
    return plain_runner(ImpalaPolicy(scale=1).eval())


def test_reachable_stops_at_absorbing_cells() -> None:
    walls = np.ones((5, 5), bool)
    walls[0, :] = False  # a corridor along the bottom row
    maze = Maze.from_grid(walls, cheese=(0, 2), mouse=(0, 0))
    assert reachable(maze, {maze.cheese}) == [(0, 0), (0, 1), (0, 2)]
    assert reachable(maze, set()) == [(0, c) for c in range(5)]


@pytest.mark.parametrize("seed", [0, 4, 12])
def test_p_either_on_reachable_cells_equals_the_full_chain(runner, seed: int) -> None:
    maze = Maze.from_seed(seed)
    region = next_to_cheese(maze)
    full = {f: vector_fields(runner, [maze], "cpu", f)[0] for f in (False, True)}
    needed = [c for c in reachable(maze, {maze.cheese, *region}) if c != maze.cheese]
    assert len(needed) <= len(maze.mouse_cells)
    part = {f: vector_fields(runner, [maze], "cpu", f, cells=[needed])[0] for f in (False, True)}
    for f in (False, True):
        assert part[f].cells == tuple(needed)
        np.testing.assert_array_equal(part[f].probs, [full[f].at(c) for c in needed])
    whole = episode_outcome(maze, full, region=region, horizon=64)
    assert p_either(maze, part, region, horizon=64) == whole.p_either


def test_a_cell_the_episode_can_reach_must_be_in_the_fields() -> None:
    maze = Maze.from_seed(3)
    few = maze.mouse_cells[:1]
    part = {f: VectorField(maze, few, np.full((1, 5), 0.2), f) for f in (False, True)}
    with pytest.raises(KeyError, match="not in this vector field"):
        p_either(maze, part, next_to_cheese(maze), horizon=8)


def test_one_cell_list_per_maze(runner) -> None:
    with pytest.raises(ValueError, match="1 cell lists for 2 mazes"):
        vector_fields(runner, [Maze.from_seed(0), Maze.from_seed(1)], "cpu", cells=[[(0, 0)]])
