"""Patch many edited copies of one maze state without re-parsing it.

A vector field needs the same level with the mouse on every free cell; a transfer claim
needs the same level with the cheese elsewhere. Both change only the grid data, the
mouse's x/y and ``maze_dim`` -- fixed-size fields at fixed offsets -- so the state is
parsed once and each edit is a few numpy writes into a copy of the template's bytes.
"""

from __future__ import annotations

import numpy as np

from harness.maze.codec import MazeState, parse


class StateTemplate:
    """A parsed maze state plus the byte offsets of the fields that edits touch."""

    __slots__ = (
        "_bytes",
        "grid_offset",
        "maze_dim_offset",
        "mouse_reflected_offset",
        "mouse_x_offset",
        "state",
    )

    def __init__(self, state_bytes: bytes) -> None:
        self.state: MazeState = parse(state_bytes)
        self._bytes = np.frombuffer(bytes(state_bytes), dtype=np.uint8)
        i = self.state.mouse_index
        self.mouse_x_offset = self.state.offsets[f"ents[{i}].x"]
        assert self.state.offsets[f"ents[{i}].y"] == self.mouse_x_offset + 4
        self.mouse_reflected_offset = self.state.offsets[f"ents[{i}].is_reflected"]
        self.grid_offset = self.state.offsets["grid.data"]
        self.maze_dim_offset = self.state.offsets["maze_dim"]

    @property
    def world_dim(self) -> int:
        return self.state.world_dim

    @property
    def nbytes(self) -> int:
        return int(self._bytes.size)

    def original_bytes(self) -> bytes:
        return self._bytes.tobytes()

    def patch(
        self,
        world_grids: np.ndarray,
        mouse_xy: np.ndarray,
        maze_dims: np.ndarray,
        reflected: np.ndarray | None = None,
    ) -> list[bytes]:
        """Return one state per row: this template with grid, mouse x/y and maze_dim replaced.

        ``world_grids``: (N, world_dim, world_dim) object codes, row 0 at the bottom;
        ``mouse_xy``: (N, 2) procgen coordinates (x = column + 0.5, y = row + 0.5);
        ``maze_dims``: (N,) inner grid sizes; ``reflected``: (N,) the mouse sprite's facing
        (procgen's ``is_reflected``, 1 after a move to the right); None keeps the template's.
        """
        n = len(mouse_xy)
        w = self.world_dim
        grids = np.ascontiguousarray(world_grids, dtype=np.int32).reshape(n, w * w)
        xy = np.ascontiguousarray(mouse_xy, dtype=np.float32).reshape(n, 2)
        dims = np.ascontiguousarray(maze_dims, dtype=np.int32).reshape(n, 1)
        out = np.tile(self._bytes, (n, 1))
        g = self.grid_offset
        out[:, g : g + 4 * w * w] = grids.view(np.uint8)
        m = self.mouse_x_offset
        out[:, m : m + 8] = xy.view(np.uint8)
        d = self.maze_dim_offset
        out[:, d : d + 4] = dims.view(np.uint8)
        if reflected is not None:
            refl = np.ascontiguousarray(reflected, dtype=np.int32).reshape(n, 1)
            f = self.mouse_reflected_offset
            out[:, f : f + 4] = refl.view(np.uint8)
        return [row.tobytes() for row in out]
