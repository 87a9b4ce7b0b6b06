"""Batched rendering shows exactly the edited maze, pixel for pixel where it should."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from harness.maze.maze import Maze
from harness.maze.procgen_env import ProcgenPool, default_pool
from harness.maze.render import human_view, observations, observe_uint8

PX = 64 / 25


def cell_box(maze: Maze, cell: tuple[int, int], pad: int = 1) -> tuple[slice, slice]:
    """Pixel rows/cols of an inner cell in the 64 x 64 observation (image row 0 at the top)."""
    r, c = maze.to_outer(cell)
    top = int(np.floor((24 - r) * PX)) - pad
    left = int(np.floor(c * PX)) - pad
    size = int(np.ceil(PX)) + 2 * pad + 1
    return slice(max(top, 0), top + size), slice(max(left, 0), left + size)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.any(a != b, axis=-1)


def outside(mask: np.ndarray, boxes) -> np.ndarray:
    allowed = np.zeros_like(mask)
    for rows, cols in boxes:
        allowed[rows, cols] = True
    return mask & ~allowed


@pytest.mark.parametrize("seed", [0, 2, 9])
def test_moving_the_mouse_changes_only_pixels_near_old_and_new_cells(seed: int) -> None:
    maze = Maze.from_seed(seed)
    targets = [c for c in maze.mouse_cells if c != maze.mouse][::7]
    obs = observe_uint8([maze, *maze.with_mice(targets)])
    for target, img in zip(targets, obs[1:], strict=True):
        diff = changed(obs[0], img)
        assert diff.any(), f"moving the mouse to {target} changed nothing"
        assert not outside(diff, [cell_box(maze, maze.mouse), cell_box(maze, target)]).any()
        assert diff[cell_box(maze, target)].any()


def test_removing_the_cheese_changes_only_the_cheese_pixels() -> None:
    for seed in range(6):
        maze = Maze.from_seed(seed)
        with_c, without = observe_uint8([maze, maze.without_cheese()])
        diff = changed(with_c, without)
        assert diff.any()
        assert not outside(diff, [cell_box(maze, maze.cheese)]).any()


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 99999])
def test_unedited_level_matches_procgens_own_observation(seed: int) -> None:
    with contextlib.redirect_stderr(io.StringIO()):
        from procgen import ProcgenGym3Env
    env = ProcgenGym3Env(
        num=1,
        env_name="maze",
        distribution_mode="hard",
        start_level=seed,
        num_levels=1,
        num_threads=1,
    )
    _, obs, _ = env.observe()
    np.testing.assert_array_equal(observe_uint8([Maze.from_seed(seed)])[0], obs["rgb"][0])


def test_batches_across_chunk_boundaries_match_single_renders() -> None:
    pool = ProcgenPool(max_chunk=8)
    mazes = [Maze.from_seed(s) for s in range(3)]
    batch = [m.with_mouse(c) for m in mazes for c in m.mouse_cells[:7]]
    together = observe_uint8(batch, pool)
    alone = np.stack([observe_uint8([m], pool)[0] for m in batch])
    np.testing.assert_array_equal(together, alone)
    assert len(together) == len(batch) > 2 * pool.max_chunk


def test_pool_rejects_bad_chunk_sizes() -> None:
    with pytest.raises(ValueError, match="power of two"):
        ProcgenPool(max_chunk=100)


def test_float_observations_are_nchw_in_unit_range() -> None:
    maze = Maze.from_seed(0)
    raw = observe_uint8([maze])
    t = observations([maze])
    assert t.shape == (1, 3, 64, 64) and t.dtype == torch.float32
    assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0
    np.testing.assert_allclose(t[0, 1].numpy(), raw[0, :, :, 1] / 255.0, rtol=0, atol=1e-7)


def test_facing_changes_the_mouse_sprite_only() -> None:
    maze = Maze.from_seed(0).with_mouse((0, 2))
    a, b = observe_uint8([maze, maze.with_mouse((0, 2), reflected=True)])
    diff = changed(a, b)
    assert diff.any()
    assert not outside(diff, [cell_box(maze, (0, 2))]).any()


def test_human_view_is_large_rgb() -> None:
    img = human_view(Maze.from_seed(0))
    assert img.shape == (512, 512, 3) and img.dtype == np.uint8
    assert img.std() > 0
    with pytest.raises(RuntimeError, match="human=True"):
        default_pool().human_views([Maze.from_seed(0).state_bytes()])
