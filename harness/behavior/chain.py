"""Exact episode outcomes from vector fields.

The policy is memoryless and the maze static, and procgen moves the mouse exactly one cell
per step (or not at all into a wall). The observation also shows which way the mouse faces
(mirrored after a move to the right), so an episode is a Markov chain over (cell, facing):
its transition probabilities are the two vector fields (facing left / right). The cheese
ends the episode (absorbing); so does, for "reached first" questions, a target region.
Probabilities within a horizon come from repeated sparse matrix-vector products.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from harness.actions import DELTAS, Move
from harness.behavior.vfield import VectorField
from harness.maze.maze import Cell, Maze

HORIZON = 256


@dataclass(frozen=True)
class EpisodeOutcome:
    p_cheese: float  # P(reach the cheese within the horizon)
    p_region_first: float  # P(reach the region before the cheese, within the horizon)
    horizon: int
    p_cheese_first: float = 0.0  # P(reach the cheese before the region, within the horizon)

    @property
    def p_either(self) -> float:
        """P(reach the cheese or the region within the horizon)."""
        return self.p_cheese_first + self.p_region_first


def _transition(
    maze: Maze, fields: dict[bool, VectorField], absorbing: set[Cell]
) -> tuple[csr_matrix, dict[tuple[Cell, bool], int]]:
    """Column-stochastic transitions over (cell, facing) states; absorbing cells loop."""
    cells = list(maze.free_cells)
    index = {(c, f): i for i, (c, f) in enumerate((c, f) for f in (False, True) for c in cells)}
    rows, cols, vals = [], [], []
    for (cell, facing), i in index.items():
        if cell in absorbing:
            rows.append(i)
            cols.append(i)
            vals.append(1.0)
            continue
        p = fields[facing].at(cell)
        for move in Move:
            dr, dc = DELTAS[move]
            dest = (cell[0] + dr, cell[1] + dc)
            if not maze.is_free(dest):
                dest = cell
            new_facing = True if move == Move.RIGHT else False if move == Move.LEFT else facing
            rows.append(index[(dest, new_facing)])
            cols.append(i)
            vals.append(p[move])
    n = len(index)
    return csr_matrix((vals, (rows, cols)), shape=(n, n)), index


def episode_outcome(
    maze: Maze,
    fields: dict[bool, VectorField],
    region: Iterable[Cell] = (),
    horizon: int = HORIZON,
    start_facing: bool = False,
) -> EpisodeOutcome:
    """Exact P(cheese within ``horizon`` steps) and P(reach ``region`` before the cheese).

    ``fields`` maps facing (False: as at level start, True: mirrored) to that facing's
    vector field of ``maze``. The episode starts at ``maze.mouse``.
    """
    if maze.cheese is None:
        raise ValueError("episode outcomes need a maze with cheese")
    if set(fields) != {False, True}:
        raise ValueError("need vector fields for both facings (False and True)")
    region = {tuple(c) for c in region} - {maze.cheese}
    results = []
    for absorbing in ({maze.cheese}, {maze.cheese, *region}):
        T, index = _transition(maze, fields, absorbing)
        dist = np.zeros(T.shape[0])
        dist[index[(maze.mouse, start_facing)]] = 1.0
        for _ in range(horizon):
            dist = T @ dist
        results.append(dist)
    cheese_idx = [index[(maze.cheese, f)] for f in (False, True)]
    region_idx = [index[(c, f)] for c in region for f in (False, True)]
    return EpisodeOutcome(
        p_cheese=float(results[0][cheese_idx].sum()),
        p_region_first=float(results[1][region_idx].sum()) if region_idx else 0.0,
        horizon=horizon,
        p_cheese_first=float(results[1][cheese_idx].sum()),
    )


def top_right_region(maze: Maze, size: int = 5) -> list[Cell]:
    lo = max(0, maze.size - size)
    return [c for c in maze.free_cells if c[0] >= lo and c[1] >= lo]
