"""Field distances and path probabilities on fields with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from harness.actions import Move
from harness.behavior.compare import (
    average_change,
    mean_total_variation,
    normalized_path_probability,
    off_path_cells,
    path_moves,
)
from harness.behavior.vfield import VectorField
from harness.maze.maze import Maze

OPEN = Maze.from_grid(np.zeros((3, 3), bool), cheese=(2, 2))


def field(maze: Maze, rows) -> VectorField:
    return VectorField(maze, maze.mouse_cells, np.asarray(rows, float))


def uniform(maze: Maze) -> VectorField:
    return field(maze, np.full((len(maze.mouse_cells), 5), 0.2))


def test_identical_fields_are_at_distance_zero() -> None:
    assert average_change(uniform(OPEN), uniform(OPEN)) == 0.0
    assert mean_total_variation(uniform(OPEN), uniform(OPEN)) == 0.0


def test_one_cell_fully_changed() -> None:
    k = len(OPEN.mouse_cells)
    a = np.tile([1.0, 0, 0, 0, 0], (k, 1))
    b = a.copy()
    b[0] = [0, 1.0, 0, 0, 0]
    fa, fb = field(OPEN, a), field(OPEN, b)
    assert mean_total_variation(fa, fb) == pytest.approx(1.0 / k)
    assert average_change(fa, fb) == pytest.approx(np.sqrt(2) / k / 2)
    assert mean_total_variation(fa, fb, cells=[OPEN.mouse_cells[0]]) == pytest.approx(1.0)
    assert mean_total_variation(fa, fb, cells=OPEN.mouse_cells[1:]) == 0.0


def test_mismatched_fields_need_explicit_cells() -> None:
    other = OPEN.with_cheese((0, 2))
    with pytest.raises(ValueError, match="different cells"):
        average_change(uniform(OPEN), uniform(other))
    with pytest.raises(ValueError, match="no cells"):
        average_change(uniform(OPEN), uniform(OPEN), cells=[])


def test_path_probability_is_geometric_mean_along_the_path() -> None:
    maze = OPEN.without_cheese()
    probs = np.tile([0.1, 0.1, 0.2, 0.4, 0.2], (len(maze.mouse_cells), 1))
    f = field(maze, probs)
    moves = [m for _, m in path_moves(maze, (0, 2))]
    assert moves == [Move.RIGHT, Move.RIGHT]
    assert normalized_path_probability(f, (0, 2)) == pytest.approx(0.4)
    ups = [m for _, m in path_moves(maze, (2, 0))]
    assert ups == [Move.UP, Move.UP]
    assert normalized_path_probability(f, (2, 0)) == pytest.approx(0.2)
    assert normalized_path_probability(f, (0, 0)) == pytest.approx(0.2)  # the no-op
    mixed = normalized_path_probability(f, (1, 1))
    assert mixed == pytest.approx(np.sqrt(0.4 * 0.2)) or mixed == pytest.approx(np.sqrt(0.2 * 0.4))


def test_off_path_cells_exclude_the_cheese_path_neighbourhood() -> None:
    maze = Maze.from_seed(0)
    off = off_path_cells(maze, margin=1)
    path = maze.path_to_cheese
    assert off and maze.cheese not in off
    for c in off:
        assert min(max(abs(c[0] - p[0]), abs(c[1] - p[1])) for p in path) > 1
    assert len(off_path_cells(maze, margin=0)) > len(off)
