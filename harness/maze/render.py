"""Observations of (edited) mazes, batched through one pooled multi-env ``set_state``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from harness.maze.maze import Maze, state_bytes_many
from harness.maze.procgen_env import ProcgenPool, default_pool


def observe_uint8(mazes: Sequence[Maze], pool: ProcgenPool | None = None) -> np.ndarray:
    """What the agent sees: (N, 64, 64, 3) uint8, image row 0 at the top."""
    if not mazes:
        return np.empty((0, 64, 64, 3), dtype=np.uint8)
    return (pool or default_pool()).observe(state_bytes_many(mazes))


def observations(
    mazes: Sequence[Maze],
    device: torch.device | str | None = None,
    pool: ProcgenPool | None = None,
) -> torch.Tensor:
    """Network input for ``mazes``: (N, 3, 64, 64) float32 in [0, 1], NCHW, on ``device``."""
    return to_tensor(observe_uint8(mazes, pool), device)


def to_tensor(obs: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """(N, 64, 64, 3) uint8 -> (N, 3, 64, 64) float32 in [0, 1] (converted on the device)."""
    t = torch.from_numpy(np.ascontiguousarray(obs)).to(device)
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def human_view(maze: Maze, pool: ProcgenPool | None = None) -> np.ndarray:
    """A 512 x 512 RGB render of the whole world, for figures."""
    return (pool or default_pool(human=True)).human_views(state_bytes_many([maze]))[0]
