"""Rows per forward pass: device defaults, overrides, and numbers that do not depend on them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.behavior import forward
from harness.behavior.forward import (
    DEVICE_BATCH_ROWS,
    batch_rows,
    padded,
    plain_runner,
    set_batch_rows,
)
from harness.behavior.vfield import policy_probs, vector_fields
from harness.maze.maze import Maze
from harness.policy import ImpalaPolicy


@pytest.fixture
def policy() -> torch.nn.Module:
    torch.manual_seed(0)
    return ImpalaPolicy(scale=1).eval()


@pytest.fixture(autouse=True)
def _default_rows():
    yield
    set_batch_rows(None)


def test_device_defaults_and_overrides() -> None:
    assert batch_rows("cpu") == DEVICE_BATCH_ROWS["cpu"]
    assert batch_rows(torch.device("cuda", 1)) == DEVICE_BATCH_ROWS["cuda"]
    assert batch_rows("meta") == forward.FALLBACK_BATCH_ROWS
    set_batch_rows(16)
    assert batch_rows("cuda") == batch_rows("cpu") == 16
    set_batch_rows(None)
    assert batch_rows("cpu") == DEVICE_BATCH_ROWS["cpu"]


def test_wider_networks_get_smaller_cpu_batches() -> None:
    try:
        forward.set_channel_scale(4)
        assert batch_rows("cpu") == forward.CPU_WIDE_BATCH_ROWS < DEVICE_BATCH_ROWS["cpu"]
        assert batch_rows("cuda") == DEVICE_BATCH_ROWS["cuda"]
        set_batch_rows(48)
        assert batch_rows("cpu") == 48
    finally:
        forward.set_channel_scale(1)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "64"])
def test_bad_batch_sizes_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        set_batch_rows(bad)


def test_padding_repeats_the_last_row() -> None:
    rows = np.arange(6).reshape(3, 2)
    out = padded(rows, 5)
    assert out.shape == (5, 2)
    assert (out[3:] == rows[-1]).all()
    assert padded(rows, 3) is rows


def test_every_pass_has_the_full_batch(policy) -> None:
    seen: list[int] = []
    policy.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape[0]))
    set_batch_rows(32)
    mazes = [Maze.from_seed(s) for s in range(3)]
    vector_fields(plain_runner(policy), mazes, "cpu")
    assert seen and set(seen) == {32}


def test_a_mazes_numbers_do_not_depend_on_its_neighbours_or_the_batch(policy) -> None:
    runner = plain_runner(policy)
    mazes = [Maze.from_seed(s) for s in range(6)]
    set_batch_rows(32)
    alone = vector_fields(runner, mazes[2:3], "cpu")[0].probs
    together = vector_fields(runner, mazes, "cpu")[2].probs
    np.testing.assert_array_equal(alone, together)
    few = policy_probs(runner, mazes[:2], "cpu")
    many = policy_probs(runner, mazes, "cpu")[:2]
    np.testing.assert_array_equal(few, many)
    set_batch_rows(64)
    np.testing.assert_allclose(vector_fields(runner, mazes[2:3], "cpu")[0].probs, alone, atol=1e-6)
