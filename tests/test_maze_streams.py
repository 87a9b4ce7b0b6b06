"""Seed streams are reproducible, honour their filters, and place cheese where asked."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from harness.maze.grid import grid_graph
from harness.maze.maze import Maze
from harness.maze.render import observe_uint8
from harness.maze.strategies import cells, generated_mazes, mazes_from_seeds
from harness.maze.streams import MazeFilter, maze_stream, mazes_with_cheese_at, shifted, take


def test_stream_is_a_pure_function_of_base_seed_and_filter() -> None:
    where = MazeFilter(has_decision_square=True, max_size=15)
    a = take(maze_stream(0, where), 12)
    b = take(maze_stream(0, where), 12)
    assert [m.seed for m in a] == [m.seed for m in b]
    assert a == b
    assert [m.seed for m in a] == sorted(m.seed for m in a)
    assert all(m.has_decision_square and m.size <= 15 for m in a)
    c = take(maze_stream(a[3].seed, where), 3)
    assert c == a[3:6]  # a later base seed starts inside the same sequence


def test_filters_keep_exactly_what_they_say() -> None:
    everything = take(maze_stream(100), 80)
    where = MazeFilter(has_decision_square=True, cheese_in_top_right=False)
    kept = [m for m in everything if where.accepts(m)]
    assert 0 < len(kept) < len(everything)
    assert all(m.decision_square is not None and not m.cheese_in_top_right() for m in kept)
    assert take(maze_stream(100, where), len(kept)) == kept
    no_ds = take(maze_stream(0, MazeFilter(has_decision_square=False)), 5)
    assert all(m.decision_square is None for m in no_ds)


def test_filter_descriptions_and_bad_ranges() -> None:
    assert MazeFilter().describe() == "all levels"
    assert "decision square" in MazeFilter(has_decision_square=True).describe()
    with pytest.raises(ValueError, match="size range"):
        MazeFilter(min_size=9, max_size=5)
    with pytest.raises(ValueError, match="base seed"):
        next(maze_stream(-1))


def test_mazes_with_cheese_at_an_outer_cell() -> None:
    source = Maze.from_seed(0)
    target = source.to_outer(source.cheese)
    moved = take(mazes_with_cheese_at(target, base_seed=1, exclude=[0]), 6)
    assert len(moved) == 6
    for maze in moved:
        assert maze.to_outer(maze.cheese) == target
        assert maze.seed != 0
        assert maze.walls.tolist() == Maze.from_seed(maze.seed).walls.tolist()
    off = shifted(target, (0, 2))
    assert all(m.to_outer(m.cheese) == off for m in take(mazes_with_cheese_at(off, base_seed=1), 3))


def test_searching_for_levels_with_cheese_already_there() -> None:
    source = Maze.from_seed(0)
    target = source.to_outer(source.cheese)
    found = take(mazes_with_cheese_at(target, base_seed=1, move=False), 1)
    assert (
        found
        and Maze.from_seed(found[0].seed).to_outer(Maze.from_seed(found[0].seed).cheese) == target
    )


@settings(max_examples=60, deadline=None)
@given(generated_mazes(max_size=15))
def test_generated_mazes_are_on_distribution_and_render(maze: Maze) -> None:
    n = maze.size
    free = len(maze.free_cells)
    assert grid_graph(maze.walls).nnz // 2 == free - 1
    rooms = (n // 2 + 1) ** 2
    assert free == 2 * rooms - 1  # every room, plus the rooms - 1 corridors of a tree
    assert maze.cheese is not None and maze.cheese != maze.start
    img = observe_uint8([maze])[0]
    assert img.shape == (64, 64, 3)


@settings(max_examples=30, deadline=None)
@given(
    mazes_from_seeds(MazeFilter(has_decision_square=True)).flatmap(
        lambda m: cells(m).map(lambda c: (m, c))
    )
)
def test_cell_strategy_draws_legal_mouse_cells(pair) -> None:
    maze, cell = pair
    assert maze.is_free(cell) and cell != maze.cheese
    assert maze.has_decision_square
