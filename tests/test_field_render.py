"""Composed vector-field observations equal one procgen render per cell, pixel for pixel."""

from __future__ import annotations

import numpy as np
import pytest

from harness.experiments.activations import with_top_right_corridor
from harness.maze import field_render
from harness.maze.field_render import observe_mouse_cells, spacing, window_size
from harness.maze.maze import Maze, state_bytes_many
from harness.maze.procgen_env import default_pool
from harness.maze.streams import maze_stream, take
from harness.maze.template import StateTemplate


def direct(mazes: list[Maze], cells, reflected: bool) -> np.ndarray:
    placed = [m.with_mouse(c, reflected) for m, cs in zip(mazes, cells, strict=True) for c in cs]
    return default_pool().observe(state_bytes_many(placed))


def mismatches(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.any((a != b).reshape(len(a), -1), axis=1).sum())


@pytest.mark.parametrize("reflected", [False, True])
def test_every_cell_of_many_mazes_matches_its_own_render(reflected: bool) -> None:
    mazes = take(maze_stream(11), 24)  # sizes 3..25, cheese anywhere
    assert len({m.size for m in mazes}) > 5
    cells = [m.mouse_cells for m in mazes]
    composed = observe_mouse_cells(mazes, cells, reflected)
    assert composed.shape == (sum(map(len, cells)), 64, 64, 3)
    assert mismatches(composed, direct(mazes, cells, reflected)) == 0


def test_edited_lifted_and_cheeseless_mazes_match() -> None:
    base = Maze.from_seed(5)
    mazes = [
        base.without_cheese(),
        with_top_right_corridor(base),
        base.with_walls([c for c in base.mouse_cells[3:9]]),
        Maze.from_grid(np.zeros((25, 25), bool), (24, 24), (0, 0)),  # open world: dense mice
    ]
    cells = [m.mouse_cells for m in mazes]
    for reflected in (False, True):
        got = observe_mouse_cells(mazes, cells, reflected)
        assert mismatches(got, direct(mazes, cells, reflected)) == 0


def test_any_subset_and_order_of_cells() -> None:
    maze = Maze.from_seed(3)
    cells = list(reversed(maze.mouse_cells[::3]))
    got = observe_mouse_cells([maze, maze], [cells, cells[:1]])
    assert mismatches(got, direct([maze, maze], [cells, cells[:1]], False)) == 0


def test_empty_cell_lists_give_no_rows() -> None:
    maze = Maze.from_seed(0)
    assert observe_mouse_cells([maze], [()]).shape == (0, 64, 64, 3)
    both = observe_mouse_cells([maze, maze], [(), maze.mouse_cells[:2]])
    assert mismatches(both, direct([maze], [maze.mouse_cells[:2]], False)) == 0


def test_far_fewer_procgen_states_than_cells() -> None:
    maze = Maze.from_seed(8)
    frames, frame_of = field_render._frame_plan(maze, maze.mouse_cells, False)
    assert len(frames) <= 1 + spacing(maze.world_dim) ** 2 < len(maze.mouse_cells) / 3
    assert set(frame_of) == set(range(1, len(frames)))


def test_spacing_keeps_windows_apart() -> None:
    for world in (9, 15, 25, 33):
        px = 64 / world
        assert spacing(world) * px >= window_size(world) + 1


def test_a_mismatching_procgen_build_falls_back_to_direct_renders(monkeypatch) -> None:
    maze = Maze.from_seed(4)
    monkeypatch.setattr(field_render, "_COMPOSITION_OK", None)
    monkeypatch.setattr(field_render, "check_composition", lambda *_a, **_k: False)
    with pytest.warns(RuntimeWarning, match="one procgen state per cell"):
        got = observe_mouse_cells([maze], [maze.mouse_cells])
    assert field_render._COMPOSITION_OK is False
    assert mismatches(got, direct([maze], [maze.mouse_cells], False)) == 0
    monkeypatch.setattr(field_render, "_COMPOSITION_OK", None)


def test_the_check_detects_a_wrong_composition(monkeypatch) -> None:
    maze = Maze.from_seed(6)
    monkeypatch.setattr(field_render, "window_size", lambda _world: 2)  # windows too small
    assert field_render.check_composition(maze) is False


def test_templates_are_left_untouched() -> None:
    maze = Maze.from_seed(2)
    before = maze.template.original_bytes()
    observe_mouse_cells([maze], [maze.mouse_cells])
    assert isinstance(maze.template, StateTemplate)
    assert maze.template.original_bytes() == before
