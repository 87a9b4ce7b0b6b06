"""Pure grid algorithms on a maze's inner grid (a boolean wall array, row 0 at the bottom).

Shortest paths use scipy's breadth-first search on the grid graph of free cells. procgen's
mazes are spanning trees, so shortest paths are unique there; on edited grids with loops
ties are broken by scipy's deterministic search order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, dijkstra, shortest_path

from harness.maze.checks import Cell, as_cell


def _index(walls: np.ndarray, cell: Cell) -> int:
    return cell[0] * walls.shape[1] + cell[1]


def grid_graph(walls: np.ndarray) -> coo_matrix:
    """Adjacency of free cells (4-neighbourhood) as a sparse matrix over row-major indices."""
    free = ~walls
    h, w = walls.shape
    idx = np.arange(h * w).reshape(h, w)
    right = free[:, :-1] & free[:, 1:]
    up = free[:-1, :] & free[1:, :]
    src = np.concatenate([idx[:, :-1][right], idx[:-1, :][up]])
    dst = np.concatenate([idx[:, 1:][right], idx[1:, :][up]])
    rows = np.concatenate([src, dst])
    cols = np.concatenate([dst, src])
    data = np.ones(rows.size, dtype=np.int8)
    return coo_matrix((data, (rows, cols)), shape=(h * w, h * w)).tocsr()


def _check_free(walls: np.ndarray, cell: Cell, what: str) -> Cell:
    h, w = walls.shape
    r, c = cell = as_cell(cell, what)
    if not (0 <= r < h and 0 <= c < w):
        raise ValueError(f"{what} {cell} is outside the {h} x {w} grid")
    if walls[r, c]:
        raise ValueError(f"{what} {cell} is a wall")
    return cell


def distances_from(walls: np.ndarray, source: Cell) -> np.ndarray:
    """Step distances from ``source`` to every cell; -1 for walls and unreachable cells."""
    source = _check_free(walls, source, "source")
    dist = shortest_path(grid_graph(walls), unweighted=True, indices=_index(walls, source))
    out = np.where(np.isfinite(dist), dist, -1).astype(np.int64)
    return out.reshape(walls.shape)


def distances_from_nearest(walls: np.ndarray, sources: Sequence[Cell]) -> np.ndarray:
    """Step distances from the nearest of ``sources`` to every cell (one multi-source
    search); -1 for walls and unreachable cells."""
    sources = [_check_free(walls, cell, "source") for cell in sources]
    dist = dijkstra(
        grid_graph(walls),
        unweighted=True,
        indices=[_index(walls, c) for c in sources],
        min_only=True,
    )
    out = np.where(np.isfinite(dist), dist, -1).astype(np.int64)
    return out.reshape(walls.shape)


def path_between(walls: np.ndarray, start: Cell, goal: Cell) -> list[Cell] | None:
    """Cells of a shortest path from ``start`` to ``goal`` inclusive, or None if unreachable."""
    start = _check_free(walls, start, "start")
    goal = _check_free(walls, goal, "goal")
    w = walls.shape[1]
    _order, pred = breadth_first_order(
        grid_graph(walls), _index(walls, start), directed=False, return_predecessors=True
    )
    node = _index(walls, goal)
    if node != _index(walls, start) and pred[node] < 0:
        return None
    path = [node]
    while path[-1] != _index(walls, start):
        path.append(int(pred[path[-1]]))
    return [(int(i) // w, int(i) % w) for i in reversed(path)]


def next_moves_towards(walls: np.ndarray, goal: Cell) -> np.ndarray:
    """For every cell, the neighbouring cell one step closer to ``goal`` (BFS tree from goal).

    Returns an (h, w, 2) int array of (row, col); walls, unreachable cells and the goal
    itself get (-1, -1). One BFS serves every start cell, which is what a vector field's
    labels need.
    """
    goal = _check_free(walls, goal, "goal")
    h, w = walls.shape
    _, pred = breadth_first_order(
        grid_graph(walls), _index(walls, goal), directed=False, return_predecessors=True
    )
    out = np.full((h * w, 2), -1, dtype=np.int64)
    ok = pred >= 0
    out[ok, 0] = pred[ok] // w
    out[ok, 1] = pred[ok] % w
    return out.reshape(h, w, 2)


def free_cells(walls: np.ndarray) -> list[Cell]:
    """All non-wall cells in row-major order (bottom row first)."""
    rows, cols = np.nonzero(~walls)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)]


def common_prefix_end(a: Sequence[Cell], b: Sequence[Cell]) -> int:
    """Index of the last position at which two paths from the same start still agree."""
    k = 0
    while k + 1 < min(len(a), len(b)) and a[k + 1] == b[k + 1]:
        k += 1
    return k


def euclidean(a: Cell, b: Cell) -> float:
    return float(np.hypot(a[0] - b[0], a[1] - b[1]))
