"""Where a grid cell lands in a policy's 16 x 16 block-2 maps (CLAIMS.md's map).

A 25 x 25 world is drawn into 64 x 64 pixels (2.56 px per cell) and blocks 1 and 2 of
IMPALA halve the resolution twice, so a 16 x 16 channel cell covers 4 x 4 pixels.
"""

from __future__ import annotations

import math

from harness.maze.procgen_env import OBS_SIZE, WORLD_DIM

MAP_SIZE = 16

Cell = tuple[int, int]


def channel_cell(outer: Cell, world_dim: int = WORLD_DIM, map_size: int = MAP_SIZE) -> Cell:
    """CLAIMS.md's grid cell -> channel cell: outer (row, col), row 0 at the bottom ->
    (map row, map col), map row 0 at the top.

    Pixel centre ``y = (world_dim - 1 - r + 0.5) * 64 / world_dim``,
    ``x = (c + 0.5) * 64 / world_dim``; channel cell ``(floor(y / s), floor(x / s))`` with
    ``s = 64 / map_size`` pixels per channel cell.
    """
    r, c = outer
    if not (0 <= r < world_dim and 0 <= c < world_dim):
        raise ValueError(f"outer cell {outer} is outside the {world_dim} x {world_dim} world")
    px = OBS_SIZE / world_dim
    per_cell = OBS_SIZE / map_size
    y = (world_dim - 1 - r + 0.5) * px
    x = (c + 0.5) * px
    return (math.floor(y / per_cell), math.floor(x / per_cell))
