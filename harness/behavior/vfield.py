"""Vector fields: the policy's 5-way move distribution with the mouse on every legal cell.

Many mazes are evaluated together: every (maze, cell) observation is composed from a few
procgen frames per maze (:mod:`harness.maze.field_render`) and pushed through the policy in
device-sized batches; where a core is spare (or a GPU runs the policy), the next group of
mazes renders in a second thread meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch

from harness.actions import Move
from harness.behavior.forward import Runner, batch_rows, forward_probs
from harness.maze.field_render import observe_mouse_cells
from harness.maze.maze import Cell, Maze
from harness.maze.render import observe_uint8

#: Rendered rows per pipeline stage: enough to amortize a procgen call, few enough (12 MB of
#: frames) that rendering the next stage overlaps the forward passes of this one.
GROUP_ROWS = 1024


@dataclass(frozen=True, eq=False)
class VectorField:
    """Per-cell move distributions of one maze (cells are inner-grid (row, col))."""

    maze: Maze
    cells: tuple[Cell, ...]
    probs: np.ndarray  # (k, 5): LEFT, DOWN, UP, RIGHT, NOOP
    reflected: bool = False
    _index: dict[Cell, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.cells)})

    def at(self, cell: Cell) -> np.ndarray:
        """The 5-way distribution with the mouse on ``cell``."""
        try:
            return self.probs[self._index[tuple(cell)]]
        except KeyError:
            raise KeyError(f"cell {cell} is not in this vector field") from None

    def has(self, cell: Cell) -> bool:
        return tuple(cell) in self._index

    @property
    def net(self) -> np.ndarray:
        """(k, 2) net vectors (p_right - p_left, p_up - p_down), as in the post's plots."""
        p = self.probs
        return np.stack([p[:, Move.RIGHT] - p[:, Move.LEFT], p[:, Move.UP] - p[:, Move.DOWN]], 1)


def _spare_core() -> bool:
    """Whether a core is left over by torch's threads (only then does a render thread help:
    measured on 2 cores with torch on both, it slowed vector fields by 3 %)."""
    return torch.get_num_threads() < (os.cpu_count() or 1)


def _pipelined(
    runner: Runner,
    jobs: Sequence[Callable[[], np.ndarray]],
    owners: np.ndarray,
    device: torch.device | str,
) -> np.ndarray:
    """(n, 5) move distributions of the frames the ``jobs`` render, in order. With a core to
    spare (or a GPU doing the forward pass), job k+1 renders (procgen and numpy, mostly
    outside the GIL) while the policy runs job k; otherwise the two alternate."""
    out = np.empty((len(owners), 5))
    at = 0

    def consume(frames: np.ndarray) -> None:
        nonlocal at
        n = len(frames)
        forward_probs(runner, frames, owners[at : at + n], device, out[at : at + n])
        at += n

    if torch.device(device).type == "cpu" and not _spare_core():
        for job in jobs:
            consume(job())
        return out
    with ThreadPoolExecutor(max_workers=1) as renderer:
        pending = renderer.submit(jobs[0]) if jobs else None
        for k in range(len(jobs)):
            frames = pending.result()
            if k + 1 < len(jobs):
                pending = renderer.submit(jobs[k + 1])
            consume(frames)
    return out


def policy_probs(
    runner: Runner,
    mazes: Sequence[Maze],
    device: torch.device | str,
    owners: np.ndarray | None = None,
) -> np.ndarray:
    """(N, 5) move distributions for N mazes (mouse where each maze has it)."""
    owners = np.arange(len(mazes)) if owners is None else np.asarray(owners)
    step = max(GROUP_ROWS, batch_rows(device))
    jobs = [partial(observe_uint8, mazes[i : i + step]) for i in range(0, len(mazes), step)]
    return _pipelined(runner, jobs, owners, device)


def _groups(counts: Sequence[int], rows: int) -> list[slice]:
    """Consecutive mazes in groups of about ``rows`` rendered rows (a maze is never split)."""
    out, start, total = [], 0, 0
    for i, k in enumerate(counts):
        total += k
        if total >= rows:
            out.append(slice(start, i + 1))
            start, total = i + 1, 0
    if start < len(counts):
        out.append(slice(start, len(counts)))
    return out


def vector_fields(
    runner: Runner,
    mazes: Sequence[Maze],
    device: torch.device | str,
    reflected: bool = False,
    cells: Sequence[Sequence[Cell]] | None = None,
) -> list[VectorField]:
    """One vector field per maze, batched over all mazes: on every mouse cell (the cheese's
    excluded), or on ``cells[i]`` of maze ``i`` where a caller needs only some."""
    cells = (
        [m.mouse_cells for m in mazes]
        if cells is None
        else [tuple(tuple(c) for c in cs) for cs in cells]
    )
    if len(cells) != len(mazes):
        raise ValueError(f"{len(cells)} cell lists for {len(mazes)} mazes")
    counts = [len(cs) for cs in cells]
    owners = np.repeat(np.arange(len(mazes)), counts)
    rows = max(GROUP_ROWS, batch_rows(device))
    jobs = [
        partial(observe_mouse_cells, mazes[g], cells[g], reflected) for g in _groups(counts, rows)
    ]
    probs = _pipelined(runner, jobs, owners, device)
    out, start = [], 0
    for m, cs in zip(mazes, cells, strict=True):
        out.append(VectorField(m, cs, probs[start : start + len(cs)], reflected))
        start += len(cs)
    return out
