"""Observations of a maze with the mouse on each of many cells, from a few procgen frames.

A vector field needs the same maze rendered with the mouse on every free cell, and
procgen's ``set_state`` (which re-renders the frame) is the expensive step: one call per
cell made rendering as costly as the forward pass. procgen draws the mouse over the grid
and touches only the pixels of its own cell, so the observation with the mouse on cell
``c`` equals the maze drawn with no visible mouse everywhere except a small window around
``c``. This module renders, per maze, one frame with the mouse made transparent (its
``alpha`` 0) and a few frames that each carry many copies of the mouse entity spaced far
enough apart that their windows never overlap, then composes each cell's observation by
copying its window out of the frame that has a mouse there.

The composition is pixel-identical to rendering each cell on its own (tested over every
cell of many mazes, both facings); :func:`check_composition` repeats that check once per
process on the first maze, and a mismatch (another procgen build) turns the composition
off with a warning rather than returning a wrong pixel.
"""

from __future__ import annotations

import math
import struct
import warnings
from collections.abc import Sequence

import numpy as np

from harness.maze.codec import ENTITY_FIELDS, ENTITY_SIZE
from harness.maze.maze import Cell, Maze, state_bytes_many
from harness.maze.procgen_env import OBS_SIZE, ProcgenPool, default_pool
from harness.maze.render import observe_uint8

_FIELD_NAMES = [name for name, _ in ENTITY_FIELDS]
_X = 4 * _FIELD_NAMES.index("x")
_ALPHA = 4 * _FIELD_NAMES.index("alpha")
_COUNT = struct.Struct("=i")
_F32 = struct.Struct("=ff")

#: Whether composed observations matched direct renders in this process (None: not checked).
_COMPOSITION_OK: bool | None = None


def window_size(world_dim: int) -> int:
    """Side in pixels of the window copied per cell: the cell's pixels plus one on each side
    (the sprite is drawn scaled into a cell of ``64 / world_dim`` pixels)."""
    return math.ceil(OBS_SIZE / world_dim) + 3


def spacing(world_dim: int) -> int:
    """Cells between mice sharing a frame: far enough that one mouse's window never holds
    a pixel of another (windows plus a pixel of anti-aliasing)."""
    return math.ceil((window_size(world_dim) + 1) / (OBS_SIZE / world_dim))


def _windows(maze: Maze, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, w) image rows and (k, w) image columns of each cell's window, clipped to the
    image (a clipped index repeats an edge pixel, which the copy writes twice alike)."""
    w_dim = maze.world_dim
    px = OBS_SIZE / w_dim
    outer_rows = cells[:, 0] + maze.margin
    outer_cols = cells[:, 1] + maze.margin
    top = np.floor((w_dim - 1 - outer_rows) * px).astype(int) - 1
    left = np.floor(outer_cols * px).astype(int) - 1
    span = np.arange(window_size(w_dim))
    rows = np.clip(top[:, None] + span, 0, OBS_SIZE - 1)
    cols = np.clip(left[:, None] + span, 0, OBS_SIZE - 1)
    return rows, cols


def _with_entities(state: bytes, maze: Maze, xy: np.ndarray, alpha: float | None) -> bytes:
    """``state`` (the maze with its mouse placed) with the mouse copied to every (x, y) in
    ``xy`` beyond the first, or, with ``alpha``, the mouse's alpha replaced."""
    offsets = maze.template.state.offsets
    count_at = offsets["ents.size"]
    (count,) = _COUNT.unpack_from(state, count_at)
    first = count_at + 4
    mouse_at = first + maze.template.state.mouse_index * ENTITY_SIZE
    end = first + count * ENTITY_SIZE
    mouse = bytearray(state[mouse_at : mouse_at + ENTITY_SIZE])
    if alpha is not None:
        struct.pack_into("=f", mouse, _ALPHA, alpha)
        return state[:mouse_at] + bytes(mouse) + state[mouse_at + ENTITY_SIZE :]
    extra = bytearray()
    for x, y in xy[1:]:
        _F32.pack_into(mouse, _X, x, y)
        extra += mouse
    return (
        state[:count_at]
        + _COUNT.pack(count + len(xy) - 1)
        + state[first:end]
        + bytes(extra)
        + state[end:]
    )


def _frame_plan(
    maze: Maze, cells: Sequence[Cell], reflected: bool
) -> tuple[list[bytes], np.ndarray]:
    """The states to render for one maze (background first) and, per cell, the index of the
    frame among them that has a mouse on it."""
    s = spacing(maze.world_dim)
    arr = np.asarray(cells, dtype=int).reshape(-1, 2)
    classes = (arr[:, 0] % s) * s + arr[:, 1] % s
    placed = []
    groups = []
    for k in np.unique(classes):
        members = np.nonzero(classes == k)[0]
        groups.append(members)
        placed.append(maze.with_mouse(cells[members[0]], reflected))
    states = state_bytes_many(placed)
    margin = maze.margin
    # the background: any placed state with its mouse made transparent
    frames = [_with_entities(states[0], maze, np.empty((0, 2)), alpha=0.0)]
    frame_of = np.empty(len(arr), dtype=int)
    for j, members in enumerate(groups):
        xy = np.stack([arr[members, 1] + margin + 0.5, arr[members, 0] + margin + 0.5], 1)
        frames.append(_with_entities(states[j], maze, xy, alpha=None))
        frame_of[members] = j + 1
    return frames, frame_of


def _direct(
    mazes: Sequence[Maze], cells: Sequence[Sequence[Cell]], reflected: bool, pool
) -> np.ndarray:
    placed = [m.with_mouse(c, reflected) for m, cs in zip(mazes, cells, strict=True) for c in cs]
    return observe_uint8(placed, pool)


def _composed(
    mazes: Sequence[Maze], cells: Sequence[Sequence[Cell]], reflected: bool, pool
) -> np.ndarray:
    states: list[bytes] = []
    plans = []
    for m, cs in zip(mazes, cells, strict=True):
        if not cs:
            continue
        frames, frame_of = _frame_plan(m, cs, reflected)
        plans.append((m, np.asarray(cs, dtype=int).reshape(-1, 2), len(states), frame_of))
        states += frames
    rendered = pool.observe(states)
    total = sum(len(cs) for cs in cells)
    out = np.empty((total, OBS_SIZE, OBS_SIZE, 3), dtype=np.uint8)
    at = 0
    for m, arr, first, frame_of in plans:
        k = len(arr)
        out[at : at + k] = rendered[first]  # the background, mouse transparent
        rows, cols = _windows(m, arr)
        dest = np.arange(at, at + k)[:, None, None]
        src = (first + frame_of)[:, None, None]
        out[dest, rows[:, :, None], cols[:, None, :]] = rendered[
            src, rows[:, :, None], cols[:, None, :]
        ]
        at += k
    return out


def check_composition(maze: Maze, pool: ProcgenPool | None = None) -> bool:
    """Whether composed observations of ``maze`` equal direct renders (both facings)."""
    pool = pool or default_pool()
    cells = list(maze.mouse_cells)
    return all(
        np.array_equal(_composed([maze], [cells], f, pool), _direct([maze], [cells], f, pool))
        for f in (False, True)
    )


def observe_mouse_cells(
    mazes: Sequence[Maze],
    cells: Sequence[Sequence[Cell]],
    reflected: bool = False,
    pool: ProcgenPool | None = None,
) -> np.ndarray:
    """(sum of len(cells[i]), 64, 64, 3) uint8: maze ``i`` with the mouse on each of
    ``cells[i]`` (facing ``reflected``), maze by maze, in the given cell order."""
    global _COMPOSITION_OK
    pool = pool or default_pool()
    if _COMPOSITION_OK is None:
        probe = next((m for m, cs in zip(mazes, cells, strict=True) if len(cs) > 1), None)
        if probe is not None:
            _COMPOSITION_OK = check_composition(probe, pool)
            if not _COMPOSITION_OK:
                warnings.warn(
                    "this procgen build draws the mouse differently from the one the "
                    "composed vector-field renderer was verified on; rendering one "
                    "procgen state per cell instead (correct, about 8x slower)",
                    RuntimeWarning,
                    stacklevel=2,
                )
    if _COMPOSITION_OK is False:
        return _direct(mazes, cells, reflected, pool)
    return _composed(mazes, cells, reflected, pool)
