"""Vector fields: the policy's 5-way move distribution with the mouse on every legal cell.

Many mazes are evaluated together: every (maze, cell) observation is rendered through one
pooled procgen call per chunk and pushed through the policy in batches, so a claim over a
hundred mazes costs a few dozen forward passes, not thousands.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

from harness.actions import Move
from harness.behavior.forward import CHUNK, Runner, probs5_from_logits
from harness.maze.maze import Cell, Maze
from harness.maze.render import observe_uint8, to_tensor


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


def policy_probs(
    runner: Runner,
    mazes: Sequence[Maze],
    device: torch.device | str,
    owners: np.ndarray | None = None,
) -> np.ndarray:
    """(N, 5) move distributions for N mazes (mouse where each maze has it), in chunks."""
    owners = np.arange(len(mazes)) if owners is None else np.asarray(owners)
    out = np.empty((len(mazes), 5))
    starts = list(range(0, len(mazes), CHUNK))
    # Render chunk k+1 (procgen, in C without the GIL) while the policy runs chunk k.
    with ThreadPoolExecutor(max_workers=1) as renderer:
        pending = renderer.submit(observe_uint8, mazes[:CHUNK]) if starts else None
        for k, i in enumerate(starts):
            frames = pending.result()
            if k + 1 < len(starts):
                nxt = starts[k + 1]
                pending = renderer.submit(observe_uint8, mazes[nxt : nxt + CHUNK])
            obs = to_tensor(frames, device)
            out[i : i + CHUNK] = probs5_from_logits(runner(obs, owners[i : i + CHUNK]))
    return out


def vector_fields(
    runner: Runner,
    mazes: Sequence[Maze],
    device: torch.device | str,
    reflected: bool = False,
) -> list[VectorField]:
    """One vector field per maze (cheese cell excluded), batched over all mazes."""
    cells = [m.mouse_cells for m in mazes]
    placed = [m.with_mouse(c, reflected) for m, cs in zip(mazes, cells, strict=True) for c in cs]
    owners = np.repeat(np.arange(len(mazes)), [len(cs) for cs in cells])
    probs = policy_probs(runner, placed, device, owners)
    out, start = [], 0
    for m, cs in zip(mazes, cells, strict=True):
        out.append(VectorField(m, cs, probs[start : start + len(cs)], reflected))
        start += len(cs)
    return out
