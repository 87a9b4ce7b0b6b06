"""Grid algorithms against an independent BFS and hand-made grids with known answers."""

from __future__ import annotations

import itertools
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.maze import grid as G
from harness.maze.generate import candidate_walls, kruskal_walls
from harness.maze.maze import Maze
from harness.maze.strategies import generated_mazes, mazes_from_seeds


def simple_bfs(walls: np.ndarray, start: tuple[int, int]) -> dict[tuple[int, int], int]:
    """Textbook BFS, written independently of the library (dict of reachable distances)."""
    n_rows, n_cols = walls.shape
    dist = {start: 0}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nr, nc = r + dr, c + dc
            if 0 <= nr < n_rows and 0 <= nc < n_cols and not walls[nr, nc] and (nr, nc) not in dist:
                dist[(nr, nc)] = dist[(r, c)] + 1
                queue.append((nr, nc))
    return dist


def grid_from_picture(rows: list[str]) -> np.ndarray:
    """'#' walls, '.' free; the picture's first line is the TOP row of the maze."""
    return np.array([[ch == "#" for ch in line] for line in reversed(rows)])


def check_against_bfs(maze: Maze) -> None:
    walls = maze.walls
    ref = simple_bfs(walls, maze.start)
    dist = G.distances_from(walls, maze.start)
    for cell in maze.free_cells:
        assert dist[cell] == ref[cell]
    assert (dist >= 0).sum() == len(ref)
    if maze.cheese is not None:
        path = maze.path_to_cheese
        assert path[0] == maze.start and path[-1] == maze.cheese
        assert len(path) - 1 == ref[maze.cheese]
        for a, b in itertools.pairwise(path):
            assert abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1 and not walls[b]
    nxt = G.next_moves_towards(walls, maze.top_right)
    to_tr = simple_bfs(walls, maze.top_right)
    for cell in maze.free_cells:
        if cell != maze.top_right:
            assert to_tr[tuple(nxt[cell])] == to_tr[cell] - 1


@settings(max_examples=150, deadline=None)
@given(mazes_from_seeds())
def test_paths_match_simple_bfs_on_procgen_levels(maze: Maze) -> None:
    check_against_bfs(maze)


@settings(max_examples=150, deadline=None)
@given(generated_mazes())
def test_paths_match_simple_bfs_on_generated_mazes(maze: Maze) -> None:
    check_against_bfs(maze)


def reference_decision_square(maze: Maze):
    """DS from CLAIMS.md, computed from independent BFS paths (unique in a tree maze)."""

    def path(goal):
        dist = simple_bfs(maze.walls, goal)
        out = [maze.start]
        while out[-1] != goal:
            r, c = out[-1]
            out.append(
                min(
                    ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)),
                    key=lambda x: dist.get(x, 10**9),
                )
            )
        return out

    pc, pt = path(maze.cheese), path(maze.top_right)
    if maze.cheese in pt or maze.top_right in pc:
        return None
    shared = [a for a, b in zip(pc, pt, strict=False) if a == b]
    return shared[-1]


@settings(max_examples=200, deadline=None)
@given(mazes_from_seeds())
def test_decision_square_matches_reference(maze: Maze) -> None:
    assert maze.decision_square == reference_decision_square(maze)


def test_hand_made_decision_squares() -> None:
    walls = grid_from_picture(
        [
            "...#.",
            ".#.#.",
            ".#...",
            ".####",
            ".....",
        ]
    )
    maze = Maze.from_grid(walls, cheese=(4, 0))
    # start (0,0) -> right along the bottom is a dead end; the top-right is reached via the
    # left column, the top row and the middle column, so the paths share (0,0)..(4,2).
    assert maze.path_to_top_right[:7] == [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (4, 1), (4, 2)]
    assert maze.decision_square is None  # the cheese at (4, 0) lies on the way
    assert Maze.from_grid(walls, cheese=(0, 4)).decision_square == (0, 0)
    assert Maze.from_grid(walls, cheese=(4, 1)).decision_square is None
    assert Maze.from_grid(walls, cheese=(2, 3)).decision_square is None
    assert Maze.from_grid(walls, cheese=(3, 4)).decision_square is None

    # A branch off the shared path: the DS is where it leaves the way to the top-right.
    branch = grid_from_picture([".....", ".####", "...##", ".####", ".####"])
    assert Maze.from_grid(branch, cheese=(2, 2)).decision_square == (2, 0)
    # The top-right lies on the way to the cheese: the paths never diverge either.
    beyond = grid_from_picture(["...", ".#.", "..#"])
    maze = Maze.from_grid(beyond, cheese=(1, 2))
    assert maze.top_right in maze.path_to_cheese
    assert maze.decision_square is None
    assert Maze.from_grid(beyond, cheese=(0, 1)).decision_square == (0, 0)


def test_distances_and_unreachable_cells() -> None:
    walls = grid_from_picture(["..#", "###", "..."])
    d = G.distances_from(walls, (0, 0))
    assert d[0, 2] == 2 and d[2, 0] == -1 and d[1, 1] == -1
    assert G.path_between(walls, (0, 0), (2, 0)) is None
    with pytest.raises(ValueError, match="is a wall"):
        G.distances_from(walls, (1, 0))
    with pytest.raises(ValueError, match="outside"):
        G.path_between(walls, (0, 0), (5, 5))


def test_top_right_region_and_euclidean() -> None:
    walls = np.zeros((7, 7), bool)
    assert Maze.from_grid(walls, cheese=(2, 2)).cheese_in_top_right()
    assert not Maze.from_grid(walls, cheese=(1, 6)).cheese_in_top_right()
    assert not Maze.from_grid(walls, cheese=None).cheese_in_top_right()
    assert G.euclidean((0, 0), (3, 4)) == 5.0


@pytest.mark.parametrize("n", [3, 5, 9, 25])
def test_kruskal_mazes_are_spanning_trees(n: int) -> None:
    rng = np.random.default_rng(n)
    walls = kruskal_walls(n, rng.permutation(len(candidate_walls(n))).tolist())
    free = int((~walls).sum())
    graph = G.grid_graph(walls)
    assert graph.nnz // 2 == free - 1  # a tree: edges = nodes - 1
    assert len(simple_bfs(walls, (0, 0))) == free  # and connected
    assert not walls[::2, ::2].any() and walls[1::2, 1::2].all()


def test_procgen_levels_are_spanning_trees() -> None:
    for seed in range(30):
        maze = Maze.from_seed(seed)
        free = len(maze.free_cells)
        assert G.grid_graph(maze.walls).nnz // 2 == free - 1
        assert len(simple_bfs(maze.walls, maze.start)) == free


@given(st.integers(0, 5))
def test_kruskal_order_must_be_a_permutation(k: int) -> None:
    with pytest.raises(ValueError, match="permutation"):
        kruskal_walls(3, [k, k, 1, 2])
