"""Maze values: constructors, immutability, edits and the errors illegal edits get."""

from __future__ import annotations

import numpy as np
import pytest

from harness.maze.codec import CHEESE, EMPTY, WALL, parse
from harness.maze.maze import Maze, MazeError
from harness.maze.procgen_env import level_state


@pytest.mark.parametrize("seed", [0, 1, 2, 4, 16, 1000, 123456])
def test_unedited_maze_reproduces_procgen_state(seed: int) -> None:
    maze = Maze.from_seed(seed)
    assert maze.state_bytes() == level_state(seed)
    state = parse(level_state(seed))
    assert maze.size == state.maze_dim
    assert maze.mouse == (0, 0)
    m = maze.margin
    inner = state.grid[m : m + maze.size, m : m + maze.size]
    np.testing.assert_array_equal(maze.walls, inner == WALL)
    assert maze.cheese is not None and inner[maze.cheese] == CHEESE


def test_maze_is_immutable_and_hashable() -> None:
    maze = Maze.from_seed(0)
    with pytest.raises(ValueError):
        maze.walls[0, 0] = True
    with pytest.raises(AttributeError):
        maze.cheese = (1, 1)  # type: ignore[misc]
    assert maze == Maze.from_seed(0)
    assert hash(maze) == hash(Maze.from_seed(0))
    assert maze != maze.without_cheese()
    assert len({maze, Maze.from_seed(0), maze.with_mouse(maze.mouse_cells[3])}) == 2


def test_edits_return_new_mazes_and_leave_the_original() -> None:
    maze = Maze.from_seed(0)
    target = next(c for c in maze.free_cells if c not in (maze.cheese, maze.mouse))
    moved = maze.with_cheese(target)
    assert moved.cheese == target and maze.cheese != target
    assert maze.without_cheese().cheese is None
    assert maze.with_mouse(target).mouse == target
    assert maze.mouse == (0, 0)
    walled = maze.with_walls([target])
    assert walled.walls[target] and not maze.walls[target]
    assert walled.with_walls([target], wall=False) == maze


def test_state_of_edited_maze_parses_back_to_the_same_maze() -> None:
    maze = Maze.from_seed(5)
    cell = maze.mouse_cells[len(maze.mouse_cells) // 2]
    for edited in (maze.without_cheese(), maze.with_mouse(cell)):
        again = Maze.from_state(edited.state_bytes())
        assert again == edited


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.with_cheese((1, 1)), r"cheese cell \(1, 1\) is a wall"),
        (lambda m: m.with_cheese((0, 99)), r"outside the 13 x 13 inner grid"),
        (lambda m: m.with_cheese((-1, 0)), r"outside the 13 x 13 inner grid"),
        (lambda m: m.with_mouse((1, 1)), r"mouse cell \(1, 1\) is a wall"),
        (lambda m: m.with_mouse(m.cheese), r"mouse and cheese are both at"),
        (lambda m: m.with_cheese((1, 2, 3)), r"must be a \(row, col\) pair"),
        (lambda m: m.with_walls([(13, 0)]), r"outside the 13 x 13 grid"),
    ],
)
def test_illegal_edits_raise_clear_errors(edit, message: str) -> None:
    maze = Maze.from_seed(0)
    assert maze.size == 13 and maze.walls[1, 1]
    with pytest.raises(MazeError, match=message):
        edit(maze)


def test_walling_in_the_mouse_is_refused() -> None:
    maze = Maze.from_seed(0)
    with pytest.raises(MazeError, match=r"mouse cell \(0, 0\) is a wall"):
        maze.with_walls([(0, 0)])


def test_from_codes_checks_codes_and_cheese_count() -> None:
    codes = np.full((3, 3), EMPTY)
    codes[1, 1] = WALL
    codes[2, 2] = CHEESE
    maze = Maze.from_codes(codes)
    assert maze.cheese == (2, 2) and maze.walls[1, 1]
    two = codes.copy()
    two[0, 2] = CHEESE
    with pytest.raises(MazeError, match="2 cheeses"):
        Maze.from_codes(two)
    odd = codes.copy()
    odd[0, 1] = 7
    with pytest.raises(MazeError, match=r"unknown grid codes \[7\]"):
        Maze.from_codes(odd)


@pytest.mark.parametrize(
    ("shape", "message"), [((4, 4), "odd"), ((3, 5), "square"), ((27, 27), "3..25")]
)
def test_bad_grid_shapes(shape, message: str) -> None:
    with pytest.raises(MazeError, match=message):
        Maze.from_grid(np.zeros(shape, bool), cheese=None)


def test_from_state_rejects_two_cheeses() -> None:
    maze = Maze.from_seed(0)
    state = parse(maze.state_bytes())
    codes = state.grid.copy()
    free = next(maze.to_outer(c) for c in maze.mouse_cells if c != maze.mouse)
    codes[free] = CHEESE
    bad = maze.template.patch(codes[None], np.array([maze.mouse_xy()]), np.array([maze.size]))[0]
    with pytest.raises(MazeError, match="2 cheeses"):
        Maze.from_state(bad)


def test_coordinates_outer_and_procgen() -> None:
    maze = Maze.from_seed(0)
    assert maze.margin == (25 - maze.size) // 2
    assert maze.to_outer((0, 0)) == (maze.margin, maze.margin)
    assert maze.from_outer(maze.to_outer((3, 4))) == (3, 4)
    assert maze.mouse_xy() == (maze.margin + 0.5, maze.margin + 0.5)
