"""Hypothesis strategies for mazes.

Two sources: real procgen levels (``mazes_from_seeds``), and generated on-distribution
mazes (``generated_mazes``) built from a few draws -- a size, a wall order, a cheese cell --
so that a failing example shrinks toward a 3 x 3 maze with the simplest wall order and the
cheese near the start. Both render through the same procgen path.
"""

from __future__ import annotations

from hypothesis import strategies as st

from harness.maze.generate import candidate_walls, kruskal_walls
from harness.maze.maze import Cell, Maze
from harness.maze.streams import ANY, MazeFilter

#: Small seeds first: shrinking moves toward seed 0.
MAX_TEST_SEED = 100_000


def level_seeds(max_seed: int = MAX_TEST_SEED) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=max_seed)


def mazes_from_seeds(
    where: MazeFilter = ANY, max_seed: int = MAX_TEST_SEED
) -> st.SearchStrategy[Maze]:
    """procgen levels (hard mode) that pass ``where``."""
    return level_seeds(max_seed).map(Maze.from_seed).filter(where.accepts)


def cells(maze: Maze, include_cheese: bool = False) -> st.SearchStrategy[Cell]:
    """Free cells of ``maze`` (the mouse's legal cells unless ``include_cheese``)."""
    pool = maze.free_cells if include_cheese else maze.mouse_cells
    return st.sampled_from(pool)


@st.composite
def generated_mazes(
    draw: st.DrawFn,
    min_size: int = 3,
    max_size: int = 25,
    cheese: bool = True,
    where: MazeFilter = ANY,
) -> Maze:
    """A procgen-style spanning-tree maze from drawn choices (shrinks toward small mazes)."""
    k = draw(st.integers(min_value=(min_size - 1) // 2, max_value=(max_size - 1) // 2))
    n = 2 * k + 1
    order = draw(st.permutations(range(len(candidate_walls(n)))))
    walls = kruskal_walls(n, order)
    maze = Maze.from_grid(walls, cheese=None)
    if cheese:
        choices = [c for c in maze.free_cells if c != maze.start]
        maze = maze.with_cheese(draw(st.sampled_from(choices)))
    if not where.accepts(maze):
        from hypothesis import reject

        reject()
    return maze
