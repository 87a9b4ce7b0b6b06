"""From soft walls back to a legal procgen maze.

Thresholding can cut the mouse off from the cheese (or the target). Repair opens the cells
of the cheapest path in the relaxed cost map (cost of entering a cell = its wall probability
plus a small step cost), so the fewest, least wall-like cells are opened.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from harness.maze import grid as G
from harness.maze.maze import Cell, Maze

STEP_COST = 1e-3


def cheapest_path(cost: np.ndarray, start: Cell, goal: Cell) -> list[Cell]:
    """Cells of the path from ``start`` to ``goal`` minimizing the summed cost of entered cells."""
    h, w = cost.shape
    idx = np.arange(h * w).reshape(h, w)
    src = np.concatenate(
        [idx[:, :-1].ravel(), idx[:, 1:].ravel(), idx[:-1].ravel(), idx[1:].ravel()]
    )
    dst = np.concatenate(
        [idx[:, 1:].ravel(), idx[:, :-1].ravel(), idx[1:].ravel(), idx[:-1].ravel()]
    )
    weight = cost.ravel()[dst] + STEP_COST
    graph = coo_matrix((weight, (src, dst)), shape=(h * w, h * w)).tocsr()
    s, g = start[0] * w + start[1], goal[0] * w + goal[1]
    _, pred = dijkstra(graph, indices=s, return_predecessors=True)
    path = [g]
    while path[-1] != s:
        path.append(int(pred[path[-1]]))
    return [(int(i) // w, int(i) % w) for i in reversed(path)]


def discretize(
    start: Maze, wall_probs: np.ndarray, keep_open: Iterable[Cell] = (), threshold: float = 0.5
) -> tuple[Maze, int]:
    """The maze with walls where ``wall_probs > threshold`` (mouse, cheese and ``keep_open``
    forced open), repaired so every kept cell is reachable from the mouse.

    Returns the maze and the number of cells the repair opened.
    """
    probs = np.asarray(wall_probs, dtype=np.float64)
    if probs.shape != start.walls.shape:
        raise ValueError(f"wall probabilities of shape {probs.shape}, maze is {start.walls.shape}")
    walls = probs > threshold
    targets = [c for c in [start.cheese, *keep_open] if c is not None]
    for cell in [start.mouse, *targets]:
        walls[cell] = False
    opened = 0
    for goal in targets:
        if G.path_between(walls, start.mouse, goal) is None:
            cost = np.where(walls, probs, 0.0)
            for cell in cheapest_path(cost, start.mouse, goal):
                opened += int(walls[cell])
                walls[cell] = False
    rebuilt = start.with_walls(G.free_cells(walls), wall=False)
    return rebuilt.with_walls([tuple(map(int, c)) for c in np.argwhere(walls)]), opened
