"""Distances between two vector fields of the same maze, and path probabilities.

Two distances are reported side by side. The post's resampling statistic, "average change
in action probabilities", is the Frobenius norm of the per-cell, per-move probability
differences divided by the number of cells and by 2 (kept for comparability with the
published 0.88% / 1.26%); it is not a mean total variation, so the mean total variation
(half the L1 difference per cell, averaged) is reported too.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np

from harness.actions import Move, move_between
from harness.behavior.vfield import VectorField
from harness.maze.maze import Cell, Maze


def _aligned(
    a: VectorField, b: VectorField, cells: Iterable[Cell] | None
) -> tuple[np.ndarray, np.ndarray]:
    if cells is None:
        if a.cells != b.cells:
            raise ValueError("the two vector fields cover different cells; pass `cells`")
        return a.probs, b.probs
    cells = list(cells)
    if not cells:
        raise ValueError("no cells to compare")
    return np.stack([a.at(c) for c in cells]), np.stack([b.at(c) for c in cells])


def average_change(a: VectorField, b: VectorField, cells: Iterable[Cell] | None = None) -> float:
    """The post's statistic: ||P_a - P_b||_F / n_cells / 2."""
    pa, pb = _aligned(a, b, cells)
    return float(np.linalg.norm(pa - pb) / len(pa) / 2)


def total_variation(
    a: VectorField, b: VectorField, cells: Iterable[Cell] | None = None
) -> np.ndarray:
    """Per cell: the total variation distance between the two 5-way distributions."""
    pa, pb = _aligned(a, b, cells)
    return 0.5 * np.abs(pa - pb).sum(1)


def mean_total_variation(
    a: VectorField, b: VectorField, cells: Iterable[Cell] | None = None
) -> float:
    """Mean over cells of the total variation distance between the two 5-way distributions."""
    return float(total_variation(a, b, cells).mean())


def off_path_cells(maze: Maze, margin: int = 1) -> list[Cell]:
    """Mouse cells farther than ``margin`` steps (Chebyshev) from the start->cheese path."""
    path = np.array(maze.path_to_cheese or [], dtype=int).reshape(-1, 2)
    out = []
    for c in maze.mouse_cells:
        if len(path) == 0 or np.abs(path - np.array(c)).max(1).min() > margin:
            out.append(c)
    return out


def path_moves(maze: Maze, target: Cell, start: Cell | None = None) -> list[tuple[Cell, Move]]:
    """(cell, move) pairs along the shortest path from ``start`` (default the mouse) to
    ``target``, skipping a step taken *from* the cheese cell (the mouse never stands there)."""
    path = maze.path(start or maze.mouse, target)
    if path is None:
        raise ValueError(f"target {target} is unreachable")
    return [(a, move_between(a, b)) for a, b in itertools.pairwise(path) if a != maze.cheese]


def normalized_path_probability(
    field: VectorField, target: Cell, start: Cell | None = None
) -> float:
    """Geometric mean, along the path to ``target``, of the probability of the path's move.

    Start == target: the no-op probability there (the policy's chance of staying put).
    """
    maze = field.maze
    start = start or maze.mouse
    if tuple(start) == tuple(target):
        return float(field.at(start)[Move.NOOP])
    probs = np.array([field.at(c)[m] for c, m in path_moves(maze, target, start)])
    return float(np.exp(np.mean(np.log(np.clip(probs, 1e-12, 1.0)))))


def field_changes(
    before: Sequence[VectorField], after: Sequence[VectorField], prefix: str
) -> dict[str, np.ndarray]:
    """Per maze: mean total variation over all cells and off the cheese path, and the post's
    average change in action probabilities, as columns ``<prefix>_tv``, ``<prefix>_tv_off_path``
    and ``<prefix>_avg_change``."""
    tv, tv_off, avg = [], [], []
    for a, b in zip(before, after, strict=True):
        tv.append(mean_total_variation(a, b))
        off = off_path_cells(a.maze)
        tv_off.append(mean_total_variation(a, b, off) if off else 0.0)
        avg.append(average_change(a, b))
    return {
        f"{prefix}_tv": np.array(tv),
        f"{prefix}_tv_off_path": np.array(tv_off),
        f"{prefix}_avg_change": np.array(avg),
    }
