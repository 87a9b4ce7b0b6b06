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


def _steps(maze: Maze) -> dict[Cell, list[tuple[Move, Cell]]]:
    """Per free cell, where each move leads (into a wall: nowhere, the mouse stays)."""
    free = set(maze.free_cells)
    out = {}
    for r, c in maze.free_cells:
        moves = []
        for move in Move:
            dr, dc = DELTAS[move]
            dest = (r + int(dr), c + int(dc))
            moves.append((move, dest if dest in free else (r, c)))
        out[(r, c)] = moves
    return out


def reachable(maze: Maze, absorbing: set[Cell], start: Cell | None = None) -> list[Cell]:
    """Free cells an episode from ``start`` (the mouse) can occupy: breadth-first through
    free cells, stopping at absorbing ones (which are included), in ``free_cells`` order.
    Only these cells' vector-field entries can change an outcome."""
    return _reachable(_steps(maze), maze.free_cells, absorbing, start or maze.mouse)


def _reachable(steps, free_cells, absorbing: set[Cell], start: Cell) -> list[Cell]:
    seen = {tuple(start)}
    frontier = list(seen)
    while frontier:
        nxt = []
        for cell in frontier:
            if cell in absorbing:
                continue
            for _, dest in steps[cell]:
                if dest not in seen:
                    seen.add(dest)
                    nxt.append(dest)
        frontier = nxt
    return [c for c in free_cells if c in seen]


def _transition(
    maze: Maze, fields: dict[bool, VectorField], absorbing: set[Cell]
) -> tuple[csr_matrix, dict[tuple[Cell, bool], int]]:
    """Column-stochastic transitions over the reachable (cell, facing) states; absorbing
    cells loop. (States the episode cannot reach carry no mass, so leaving them out changes
    no sum: the outcome is the same to the last bit.)"""
    steps = _steps(maze)
    cells = _reachable(steps, maze.free_cells, absorbing, maze.mouse)
    index = {(c, f): i for i, (c, f) in enumerate((c, f) for f in (False, True) for c in cells)}
    rows, cols, vals = [], [], []
    for (cell, facing), i in index.items():
        if cell in absorbing:
            rows.append(i)
            cols.append(i)
            vals.append(1.0)
            continue
        p = fields[facing].at(cell)
        for move, dest in steps[cell]:
            new_facing = True if move == Move.RIGHT else False if move == Move.LEFT else facing
            rows.append(index[(dest, new_facing)])
            cols.append(i)
            vals.append(p[move])
    n = len(index)
    return csr_matrix((vals, (rows, cols)), shape=(n, n)), index


def _absorbed(
    maze: Maze,
    fields: dict[bool, VectorField],
    absorbing: set[Cell],
    targets: Iterable[Iterable[Cell]],
    horizon: int,
    start_facing: bool,
) -> list[float]:
    """P(absorbed in each group of ``targets`` within ``horizon`` steps)."""
    if set(fields) != {False, True}:
        raise ValueError("need vector fields for both facings (False and True)")
    T, index = _transition(maze, fields, absorbing)
    dist = np.zeros(T.shape[0])
    dist[index[(maze.mouse, start_facing)]] = 1.0
    for _ in range(horizon):
        dist = T @ dist
    out = []
    for group in targets:
        idx = [index[(c, f)] for c in group for f in (False, True) if (c, f) in index]
        out.append(float(dist[idx].sum()) if idx else 0.0)
    return out


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
    region = {tuple(c) for c in region} - {maze.cheese}
    cheese = {maze.cheese}
    (p_cheese,) = _absorbed(maze, fields, cheese, [cheese], horizon, start_facing)
    first, region_first = _absorbed(
        maze, fields, cheese | region, [cheese, region], horizon, start_facing
    )
    return EpisodeOutcome(
        p_cheese=p_cheese,
        p_region_first=region_first,
        horizon=horizon,
        p_cheese_first=first,
    )


def p_either(
    maze: Maze,
    fields: dict[bool, VectorField],
    region: Iterable[Cell],
    horizon: int = HORIZON,
    start_facing: bool = False,
) -> float:
    """:attr:`EpisodeOutcome.p_either` alone: one chain, whose fields need entries only at
    the cells :func:`reachable` from the mouse with the cheese and ``region`` absorbing."""
    if maze.cheese is None:
        raise ValueError("episode outcomes need a maze with cheese")
    region = {tuple(c) for c in region} - {maze.cheese}
    cheese = {maze.cheese}
    first, region_first = _absorbed(
        maze, fields, cheese | region, [cheese, region], horizon, start_facing
    )
    return first + region_first


def top_right_region(maze: Maze, size: int = 5) -> list[Cell]:
    lo = max(0, maze.size - size)
    return [c for c in maze.free_cells if c[0] >= lo and c[1] >= lo]
