"""Dreaming: the relaxed render matches procgen, the ascent climbs, the result is legal."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.actions import Move
from harness.dream import DreamSettings, Heading, discretize, dream, relax
from harness.maze import Maze, MazeError
from harness.maze import grid as G
from harness.maze.render import observations
from harness.policy import open_policy
from harness.policy.probs import logits_for_moves

RIGHT_OF_START = (0, 1)


class GoRightIfOpen(torch.nn.Module):
    """A wall-reading head: RIGHT's logit grows with how floor-like one cell's pixels look.

    Floor-likeness is the projection of the pixels onto (floor - wall) colours of that cell,
    measured from procgen renders of the level with the cell open and walled.
    """

    def __init__(self, maze: Maze, cell=RIGHT_OF_START, gain: float = 6.0) -> None:
        super().__init__()
        opened, walled = observations([maze.with_walls([cell], False), maze.with_walls([cell])])
        diff = opened - walled
        self.register_buffer("mask", (diff.abs().sum(0) > 0).float())
        self.register_buffer("walled", walled)
        self.register_buffer("diff", diff)
        self.gain = torch.nn.Parameter(torch.tensor(gain), requires_grad=False)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        proj = ((obs - self.walled) * self.diff).sum(1) * self.mask
        norm = (self.diff * self.diff).sum(0) * self.mask
        floorness = proj.sum((1, 2)) / norm.sum()
        moves = torch.zeros(obs.shape[0], 5, dtype=obs.dtype, device=obs.device)
        moves[:, Move.RIGHT] = self.gain * (floorness - 0.5)
        return logits_for_moves(moves), floorness


def maze_with_wall_right_of_start() -> Maze:
    for seed in range(200):
        maze = Maze.from_seed(seed)
        if 7 <= maze.size <= 11 and maze.walls[RIGHT_OF_START] and maze.cheese != (0, 4):
            return maze
    raise AssertionError("no level with a wall right of the start")


@pytest.fixture(scope="module")
def walled_start() -> Maze:
    return maze_with_wall_right_of_start()


@pytest.mark.parametrize("seed", [0, 5, 42])
def test_relaxation_at_hard_walls_is_procgens_render(seed):
    maze = Maze.from_seed(seed)
    rng = np.random.default_rng(seed)
    grids = [maze.walls, rng.random(maze.walls.shape) < 0.5, np.ones_like(maze.walls)]
    worst, mean = relax(maze).fidelity(grids)
    assert worst < 0.01 and mean < 1e-4  # 0..255 levels: float rounding only


def test_relaxation_is_differentiable_and_keeps_fixed_cells(walled_start):
    relaxation = relax(walled_start, fixed=[(0, 4)])
    assert {walled_start.mouse, walled_start.cheese, (0, 4)} <= relaxation.fixed
    assert not set(relaxation.cells) & relaxation.fixed
    w = torch.full((1, walled_start.size, walled_start.size), 0.5, requires_grad=True)
    obs = relaxation.render(w)
    seen = obs.detach()
    assert seen.shape == (1, 3, 64, 64) and float(seen.min()) >= 0 and float(seen.max()) <= 1
    obs.sum().backward()
    assert float(w.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="shape"):
        relaxation.render(torch.zeros(1, 3, 3))


def test_ascent_raises_the_objective_and_survives_procgen(walled_start):
    head = GoRightIfOpen(walled_start)
    objective = Heading(walled_start.mouse, (0, 4))
    assert objective.moves == (Move.RIGHT,)
    result = dream(head, walled_start, objective, DreamSettings(steps=30, lr=0.3))
    assert result.trace[-1] > result.trace[0] + 0.3  # the relaxed objective climbs
    assert result.start_real < 0.2  # the cell right of the mouse is a wall: RIGHT is unlikely
    assert not result.dreamed.walls[RIGHT_OF_START]
    assert result.dreamed_real > result.start_real + 0.5  # measured on procgen's render
    assert abs(result.relaxed - result.dreamed_real) < 0.1


def test_discretized_maze_is_legal_and_connected(walled_start):
    rng = np.random.default_rng(1)
    probs = rng.uniform(0.6, 1.0, walled_start.walls.shape)  # nearly all walls: needs repair
    maze, opened = discretize(walled_start, probs, keep_open=[(0, 4)])
    assert opened > 0
    for cell in (maze.mouse, maze.cheese, (0, 4)):
        assert not maze.walls[cell]
        assert G.path_between(maze.walls, maze.mouse, cell) is not None
    parsed = Maze.from_state(maze.state_bytes())  # a real procgen state, validated
    assert np.array_equal(parsed.walls, maze.walls)
    assert (parsed.cheese, parsed.mouse) == (maze.cheese, maze.mouse)


def test_wall_blind_planted_policy_cannot_be_dreamed(walled_start):
    policy, _ = open_policy("planted:cheese-seeker", device="cpu")
    result = dream(policy, walled_start, Heading(walled_start.mouse, (0, 4)), DreamSettings(5))
    assert result.dreamed_real == pytest.approx(result.start_real, abs=1e-6)


def test_bad_inputs_raise_clear_errors(walled_start):
    head = GoRightIfOpen(walled_start)
    settings = DreamSettings(steps=1)
    n = walled_start.size
    with pytest.raises(MazeError, match="outside"):
        dream(head, walled_start, Heading(walled_start.mouse, (n, 0)), settings)
    with pytest.raises(MazeError, match="is a wall"):
        dream(head, walled_start, Heading(walled_start.mouse, RIGHT_OF_START), settings)
    with pytest.raises(MazeError, match="mouse's own cell"):
        Heading((0, 0), (0, 0))
    with pytest.raises(MazeError, match="mouse"):
        dream(head, walled_start, Heading((0, 2), (0, 4)), settings)
    with pytest.raises(ValueError, match="steps"):
        DreamSettings(steps=0)
    with pytest.raises(ValueError, match="lr"):
        DreamSettings(lr=0.0)
    with pytest.raises(ValueError, match="shape"):
        discretize(walled_start, np.zeros((3, 3)))
