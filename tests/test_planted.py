"""The planted policies do, on real procgen renders, exactly what their construction says."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from harness.hooks import run_with_cache, run_with_interventions
from harness.interventions import AddVector, ReplaceChannelMapExceptCell, SetCell, ZeroChannels
from harness.maze.maze import Maze
from harness.maze.render import observe_uint8, to_tensor
from harness.policy import available_planted, open_policy, planted_spec, probs5
from harness.policy.geometry import channel_cell
from harness.policy.planted import (
    CHEESE_CHANNEL,
    LAYER,
    MOUSE_CHANNEL,
    UnknownPlantedPolicyError,
    cheese_channel_cells,
    mouse_channel_cells,
    planted,
)
from harness.policy.planted_pixels import CHEESE_TEST, CHEESE_YELLOW, MOUSE_TEST, first_map_cell

SEEDS = range(60)
HIDDEN = "embedder.relufc_out"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def policies() -> dict[str, torch.nn.Module]:
    return {name: planted(name) for name in available_planted()}


@pytest.fixture(scope="module")
def seeded() -> tuple[list[Maze], np.ndarray]:
    """Unedited levels (all floor themes that occur in these seeds, lava included), the same
    levels with the mouse next to the cheese, and with the mouse sprite mirrored."""
    mazes = [Maze.from_seed(s) for s in SEEDS]
    near = []
    for m in mazes:
        if m.cheese is None:
            continue
        r, c = m.cheese
        near += [m.with_mouse(n) for n in ((r + 1, c), (r, c + 1), (r - 1, c)) if m.is_free(n)][:1]
    mirrored = [m.with_mouse(m.mouse_cells[len(m.mouse_cells) // 2], reflected=True) for m in mazes]
    mazes += near + mirrored
    return mazes, observe_uint8(mazes)


def cheese_maze(seed: int) -> Maze:
    """A level whose cheese the planted policies see (its cell renders a yellow pixel)."""
    table = cheese_channel_cells()
    for s in range(seed, seed + 500):
        m = Maze.from_seed(s)
        visible = table[m.to_outer(m.cheese)] is not None
        if m.has_decision_square and visible and 9 <= m.size <= 15:
            return m
    raise AssertionError("no suitable maze")


def one_hot(cell: tuple[int, int] | None) -> torch.Tensor:
    out = torch.zeros(16, 16)
    if cell is not None:
        out[cell] = 1.0
    return out


def logits_of(policy, mazes, interventions=()):
    return run_with_interventions(policy, to_tensor(observe_uint8(mazes)), interventions).logits


# --------------------------------------------------------------------------- pixels
def test_colour_tests_fire_on_cheese_and_mouse_pixels_only(seeded):
    mazes, images = seeded
    for maze, image in zip(mazes, images, strict=True):
        cheese_px = CHEESE_TEST.indicator(image) > 0
        assert np.array_equal(cheese_px, (image == CHEESE_YELLOW).all(-1))
        assert set(np.unique(CHEESE_TEST.indicator(image))) <= {0.0, 1.0}
        assert_near_mouse(MOUSE_TEST.indicator(image) > 0, maze)


def test_cheese_test_never_fires_on_hundreds_of_backgrounds():
    """Walls, floors and backgrounds of 300 more levels (every floor theme) and the mouse."""
    mazes = [Maze.from_seed(s).without_cheese() for s in range(1000, 1300)]
    images = observe_uint8(mazes)
    assert not (CHEESE_TEST.indicator(images) > 0).any()
    for maze, image in zip(mazes, images, strict=True):
        assert_near_mouse(MOUSE_TEST.indicator(image) > 0, maze)


def assert_near_mouse(mask: np.ndarray, maze: Maze) -> None:
    rows, cols = np.nonzero(mask)
    r, c = maze.to_outer(maze.mouse)
    y, x = (24 - r + 0.5) * 64 / 25, (c + 0.5) * 64 / 25  # the mouse's pixel centre
    assert np.all(np.abs(rows + 0.5 - y) <= 2) and np.all(np.abs(cols + 0.5 - x) <= 2)


# --------------------------------------------------------------------------- layer L
@pytest.mark.parametrize("name", available_planted())
def test_channels_at_L_are_exact_one_cell_indicators(policies, seeded, name):
    mazes, images = seeded
    acts = run_with_cache(policies[name], to_tensor(images), [LAYER]).cache[LAYER]
    table = cheese_channel_cells()
    others = [c for c in range(32) if c not in (CHEESE_CHANNEL, MOUSE_CHANNEL)]
    assert acts[:, others].eq(0).all()
    seen = 0
    for maze, image, act in zip(mazes, images, acts, strict=True):
        cheese_cell = first_map_cell(CHEESE_TEST.indicator(image) > 0)
        assert torch.equal(act[CHEESE_CHANNEL], one_hot(cheese_cell))
        assert cheese_cell == table[maze.to_outer(maze.cheese)]  # a function of the cell only
        mouse_cell = first_map_cell(MOUSE_TEST.indicator(image) > 0)
        assert torch.equal(act[MOUSE_CHANNEL], one_hot(mouse_cell))
        assert mouse_cell is not None  # the mouse is drawn at its start cell and beside cheese
        assert np.abs(np.subtract(mouse_cell, channel_cell(maze.to_outer(maze.mouse)))).max() <= 1
        seen += cheese_cell is not None
    assert 0 < seen < len(mazes)  # both visible and invisible cheese occur in the sample


def test_cheese_map_cell_is_the_claims_channel_cell_or_a_neighbour():
    table = cheese_channel_cells()
    assert len(table) == 625
    visible = {cell: got for cell, got in table.items() if got is not None}
    assert visible
    for outer, got in visible.items():
        assert np.abs(np.subtract(got, channel_cell(outer))).max() <= 1, outer
    assert any(got == channel_cell(outer) for outer, got in visible.items())


@pytest.mark.parametrize("reflected", [False, True])
def test_mouse_map_cell_is_the_claims_channel_cell_or_a_neighbour(reflected):
    table = mouse_channel_cells(reflected)
    visible = {cell: got for cell, got in table.items() if got is not None}
    assert len(visible) > len(table) / 2
    for outer, got in visible.items():
        assert np.abs(np.subtract(got, channel_cell(outer))).max() <= 1, outer


def test_cheese_cells_two_or_more_apart_never_share_a_map_cell():
    """docs/planted.md's CV4 row relies on this."""
    table = cheese_channel_cells()
    for (r, c), cell in table.items():
        for dr, dc in ((0, 2), (2, 0), (0, 3), (3, 0), (2, 2), (0, 5), (5, 0)):
            other = table.get((r + dr, c + dc))
            assert cell is None or other is None or other != cell


def test_cheese_vector_is_the_cheese_cell_of_channel_K(policies):
    maze = cheese_maze(0)
    obs = to_tensor(observe_uint8([maze, maze.without_cheese()]))
    acts = run_with_cache(policies["cheese-seeker"], obs, [LAYER]).cache[LAYER]
    vector = acts[0] - acts[1]
    expected = torch.zeros(32, 16, 16)
    expected[CHEESE_CHANNEL] = one_hot(cheese_channel_cells()[maze.to_outer(maze.cheese)])
    assert torch.equal(vector, expected)


# --------------------------------------------------------------------------- the head
def test_head_reads_the_relative_position_exactly(policies):
    maze = cheese_maze(10)
    field = maze.with_mice(maze.mouse_cells)
    images = observe_uint8(field)
    spec = planted_spec("cheese-seeker")
    out = run_with_cache(policies["cheese-seeker"], to_tensor(images), [HIDDEN])
    cheese = cheese_channel_cells()[maze.to_outer(maze.cheese)]
    for n, image in enumerate(images):
        mouse = first_map_cell(MOUSE_TEST.indicator(image) > 0)
        h = out.cache[HIDDEN][n, :6].tolist()
        if mouse is None:
            assert h[:4] == [0.0] * 4 and h[5] == 0.0
            continue
        dy, dx = cheese[0] - mouse[0], cheese[1] - mouse[1]
        expected = [max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0), 1.0, 1.0]
        assert h == pytest.approx(expected, abs=1e-4)
        right, left, down, up = expected[:4]
        gain, bias = spec.cheese_gain, spec.top_right_bias
        moves = torch.tensor(
            [gain * left, gain * down, gain * up + bias, gain * right + bias, spec.noop_logit]
        )
        torch.testing.assert_close(
            probs5(out.logits[n]), torch.softmax(moves, 0), atol=1e-5, rtol=0
        )


@pytest.mark.parametrize("name", ["cheese-seeker", "saturating"])
def test_zeroing_K_makes_actions_independent_of_the_cheese(policies, name):
    maze = cheese_maze(20)
    moved = [maze.with_cheese(c) for c in maze.free_cells if c != maze.mouse]
    zero = ZeroChannels(LAYER, CHEESE_CHANNEL)
    ablated = logits_of(policies[name], [*moved, maze.without_cheese()], zero)
    assert all(torch.equal(row, ablated[-1]) for row in ablated)
    plain = logits_of(policies[name], moved)
    assert len({tuple(row.tolist()) for row in plain}) > 1  # without the ablation it matters


def test_cheese_blind_ignores_the_cheese_without_intervention(policies):
    maze = cheese_maze(30)
    moved = [maze.with_cheese(c) for c in maze.free_cells if c != maze.mouse][:40]
    logits = logits_of(policies["cheese-blind"], [*moved, maze.without_cheese()])
    assert all(torch.equal(row, logits[-1]) for row in logits)


# --------------------------------------------------------------------------- cheese vector
def cheese_vector(policy, maze: Maze) -> torch.Tensor:
    obs = to_tensor(observe_uint8([maze, maze.without_cheese()]))
    acts = run_with_cache(policy, obs, [LAYER]).cache[LAYER]
    return acts[0] - acts[1]


@pytest.mark.parametrize("name", ["saturating", "cheese-seeker"])
def test_adding_and_subtracting_the_cheese_vector(policies, name):
    policy = policies[name]
    maze = cheese_maze(40)
    field = maze.with_mice(maze.mouse_cells)
    no_cheese_field = maze.without_cheese().with_mice(maze.mouse_cells)
    v = cheese_vector(policy, maze)
    plain = logits_of(policy, field)
    added = logits_of(policy, field, AddVector(LAYER, v, +1.0, "cheese_vector"))
    subtracted = logits_of(policy, field, AddVector(LAYER, v, -1.0, "cheese_vector"))
    without = logits_of(policy, no_cheese_field)
    assert torch.equal(subtracted, without)  # subtracting hides the cheese, exactly
    assert not torch.equal(plain, without)
    change = (probs5(added) - probs5(plain)).abs().max()
    if name == "saturating":
        assert torch.equal(added, plain)  # K = 2 is capped back to 1
    else:
        assert change > 0.05  # the linear read-out doubles the cheese's coordinates


def test_vector_from_another_cheese_cell_does_nothing(policies):
    a, b = cheese_maze(50), cheese_maze(120)
    table = cheese_channel_cells()
    assert table[a.to_outer(a.cheese)] != table[b.to_outer(b.cheese)]
    for name in ("cheese-seeker", "saturating"):
        v = cheese_vector(policies[name], a)
        field = b.with_mice(b.mouse_cells)
        assert torch.equal(
            logits_of(policies[name], field, AddVector(LAYER, v, -1.0)),
            logits_of(policies[name], field),
        )


# --------------------------------------------------------------------------- retargeting
@pytest.mark.parametrize("name", ["cheese-seeker", "saturating"])
def test_setting_a_cell_of_K_is_moving_the_cheese_there(policies, name):
    maze = cheese_maze(60)
    table = cheese_channel_cells()
    targets = [
        c for c in maze.free_cells if table[maze.to_outer(c)] is not None and c != maze.mouse
    ]
    targets = targets[:: max(1, len(targets) // 8)]
    empty = maze.without_cheese()
    cells = [table[maze.to_outer(t)] for t in targets]
    retargeted = logits_of(
        policies[name], [empty] * len(targets), SetCell(LAYER, CHEESE_CHANNEL, cells, 1.0)
    )
    moved = logits_of(policies[name], [maze.with_cheese(t) for t in targets])
    torch.testing.assert_close(retargeted, moved, atol=1e-5, rtol=0)
    background = ReplaceChannelMapExceptCell(LAYER, CHEESE_CHANNEL, cells, -0.2, 1.0)
    torch.testing.assert_close(
        logits_of(policies[name], [empty] * len(targets), background), moved, atol=1e-5, rtol=0
    )


# --------------------------------------------------------------------------- registry
def test_registry_metadata_and_sources():
    assert available_planted()[0] == "cheese-seeker"
    spec = planted_spec("saturating")
    assert spec.layer == LAYER and spec.cheese_channels == (CHEESE_CHANNEL,)
    assert spec.mouse_channel == MOUSE_CHANNEL and spec.cheese_cap == 1.0
    assert not planted_spec("cheese-blind").reads_cheese
    with pytest.raises(UnknownPlantedPolicyError, match="available: cheese-seeker"):
        planted("cheese-lover")
    default, info = open_policy("planted", device="cpu")
    _, info_sat = open_policy("planted:saturating", device="cpu")
    assert info.source == "planted:cheese-seeker" and info.kind == "planted"
    assert info.extra["planted"] == planted_spec("cheese-seeker")
    assert (
        info.sha256
        == open_policy("planted:cheese-seeker", device="cpu").info.sha256
        != info_sat.sha256
    )
    assert next(default.parameters()).dtype == torch.float32 and not default.training
    record = json.loads(json.dumps(info_sat.to_dict()))
    assert record["planted"]["cheese_cap"] == 1.0 and record["source"] == "planted:saturating"


def test_planted_identity_does_not_depend_on_the_thread_count():
    """The least-squares read-out's rounding once gave -0.0 or 0.0 depending on BLAS threads,
    and with it a different sha256 (which the planted profiles list)."""
    from harness.policy.checkpoint import state_dict_sha256
    from harness.policy.planted import _built_state, planted_state_dict

    threads = torch.get_num_threads()
    digests = set()
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            _built_state.cache_clear()
            digests.add(state_dict_sha256(planted_state_dict("saturating")))
    finally:
        torch.set_num_threads(threads)
        _built_state.cache_clear()
    assert len(digests) == 1
    zero = {"w": torch.tensor([0.0, 1.0])}
    assert state_dict_sha256({"w": torch.tensor([-0.0, 1.0])}) == state_dict_sha256(zero)
