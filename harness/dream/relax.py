"""A differentiable stand-in for procgen's render of a maze, as a function of its walls.

procgen draws the level background, then one wall tile per wall cell in raster order (outer
row 0 -- the bottom -- first, columns left to right), then the sprites. At 2.56 pixels per
cell a tile covers 2 or 3 pixels each way, so neighbouring tiles overlap and the later one
wins. Measured from procgen itself (one render with every free cell open, one per cell with
that cell walled), the render is exactly a painter's composite:

    pixel = background, then for each covering cell c in draw order: pixel <- colour_c

so with per-cell wall probabilities ``w`` the relaxation composites with opacity ``w_c``:
``pixel <- pixel + w_c * (colour_c - pixel)``. At ``w`` in {0, 1} this is the render itself
(``fidelity`` measures it; 0 levels of error on every level we tried). The sprites come from
the renders (mouse and cheese cells are never walled), so they stay fixed in place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import torch

from harness.maze.checks import as_cell
from harness.maze.maze import Cell, Maze, MazeError
from harness.maze.render import observe_uint8


@dataclass(frozen=True, eq=False)
class Relaxation:
    """The soft render of one maze layout (its mouse, cheese, template) over its walls.

    ``cells`` are the variable cells (every inner cell except ``fixed``, which stay floor);
    ``cover[p, k]`` is the k-th variable cell (draw order) whose tile covers pixel
    ``pixels[p]`` (``len(cells)`` pads: a dummy cell that is never a wall), ``colour[p, k]``
    the colour that tile paints there, in [0, 1].
    """

    maze: Maze
    fixed: frozenset[Cell]
    cells: tuple[Cell, ...]
    background: torch.Tensor  # (3, 64, 64)
    pixels: torch.Tensor  # (P,) flat indices into 64 * 64
    cover: torch.Tensor  # (P, K) long
    colour: torch.Tensor  # (P, K, 3)

    @property
    def size(self) -> int:
        return self.maze.size

    def detached(self) -> Relaxation:
        """A copy whose tensors are ordinary (not inference-mode) tensors, usable by autograd."""
        return replace(
            self,
            background=self.background.clone(),
            pixels=self.pixels.clone(),
            cover=self.cover.clone(),
            colour=self.colour.clone(),
        )

    def cell_values(self, walls: torch.Tensor) -> torch.Tensor:
        """(B, n, n) per-cell values -> (B, V + 1) values of the variable cells plus the pad."""
        if walls.ndim != 3 or tuple(walls.shape[1:]) != (self.size, self.size):
            raise ValueError(
                f"expected wall values of shape (B, {self.size}, {self.size}), got "
                f"{tuple(walls.shape)}"
            )
        idx = torch.as_tensor([r * self.size + c for r, c in self.cells], dtype=torch.long)
        flat = walls.reshape(walls.shape[0], -1)[:, idx.to(walls.device)]
        return torch.cat([flat, flat.new_zeros(flat.shape[0], 1)], dim=1)

    def render(self, wall_probs: torch.Tensor) -> torch.Tensor:
        """(B, n, n) wall probabilities in [0, 1] -> (B, 3, 64, 64) observations in [0, 1]."""
        w = self.cell_values(wall_probs).to(self.colour.dtype)
        bg = self.background.to(w.device)
        batch = w.shape[0]
        flat = bg.reshape(3, -1)[:, self.pixels.to(w.device)].T.expand(batch, -1, -1)
        value = flat
        cover, colour = self.cover.to(w.device), self.colour.to(w.device)
        for k in range(cover.shape[1]):
            alpha = w[:, cover[:, k]].unsqueeze(-1)  # (B, P, 1)
            value = value + alpha * (colour[:, k] - value)
        out = bg.reshape(1, 3, -1).expand(batch, -1, -1).clone()
        out[:, :, self.pixels.to(w.device)] = value.transpose(1, 2)
        return out.reshape(batch, 3, 64, 64)

    def hard(self, walls: np.ndarray) -> torch.Tensor:
        """The relaxed render of a 0/1 wall grid (for checking it against procgen)."""
        return self.render(torch.as_tensor(np.asarray(walls, dtype=np.float32))[None])[0]

    def fidelity(self, walls: Iterable[np.ndarray]) -> tuple[float, float]:
        """(max, mean) absolute error, in 0..255 levels, of the relaxation at hard walls
        against procgen's render of the same walls (fixed cells opened)."""
        grids = [np.asarray(w, dtype=bool) & ~self._fixed_mask() for w in walls]
        mazes = [
            self.maze.with_walls(_cells_of(~g), wall=False).with_walls(_cells_of(g)) for g in grids
        ]
        real = torch.from_numpy(observe_uint8(mazes)).permute(0, 3, 1, 2).float()
        soft = torch.stack([self.hard(g) for g in grids]) * 255.0
        err = (soft - real).abs()
        return float(err.max()), float(err.mean())

    def _fixed_mask(self) -> np.ndarray:
        mask = np.zeros((self.size, self.size), dtype=bool)
        for cell in self.fixed:
            mask[cell] = True
        return mask


def _cells_of(mask: np.ndarray) -> list[Cell]:
    return [(int(r), int(c)) for r, c in np.argwhere(mask)]


def relax(maze: Maze, fixed: Iterable[Cell] = ()) -> Relaxation:
    """Measure ``maze``'s tiles from procgen and build its relaxation.

    The mouse and cheese cells are always fixed to floor, plus any cells in ``fixed``
    (e.g. a target). Costs one procgen render per variable cell (batched).
    """
    n = maze.size
    keep = {maze.mouse, *([maze.cheese] if maze.cheese is not None else [])}
    for cell in fixed:
        cell = as_cell(cell, "fixed")
        if not maze.contains(cell):
            raise MazeError(f"fixed cell {cell} is outside the {n} x {n} grid")
        keep.add(cell)
    cells = tuple((r, c) for r in range(n) for c in range(n) if (r, c) not in keep)
    if not cells:
        raise MazeError("the maze has no cell left to dream: every cell is fixed")
    open_maze = maze.with_walls(list(cells), wall=False).with_walls(list(keep), wall=False)
    renders = observe_uint8([open_maze] + [open_maze.with_walls([c]) for c in cells])
    base = renders[0].astype(np.int16)
    singles = renders[1:].astype(np.int16)
    touched = np.abs(singles - base).sum(-1) > 0  # (V, 64, 64)
    flat_touched = touched.reshape(len(cells), -1)
    pixels = np.nonzero(flat_touched.any(0))[0]
    depth = int(flat_touched[:, pixels].sum(0).max())
    cover = np.full((len(pixels), depth), len(cells), dtype=np.int64)
    colour = np.zeros((len(pixels), depth, 3), dtype=np.float32)
    fill = np.zeros(len(pixels), dtype=np.int64)
    where = {int(p): i for i, p in enumerate(pixels)}
    flat_singles = singles.reshape(len(cells), -1, 3)
    for v in range(len(cells)):  # cells are in draw order: row 0 (bottom) first, then columns
        for p in np.nonzero(flat_touched[v])[0]:
            i = where[int(p)]
            cover[i, fill[i]] = v
            colour[i, fill[i]] = flat_singles[v, p] / 255.0
            fill[i] += 1
    background = torch.from_numpy(base.astype(np.float32) / 255.0).permute(2, 0, 1).contiguous()
    return Relaxation(
        maze=open_maze,
        fixed=frozenset(keep),
        cells=cells,
        background=background,
        pixels=torch.from_numpy(pixels),
        cover=torch.from_numpy(cover),
        colour=torch.from_numpy(colour),
    )
