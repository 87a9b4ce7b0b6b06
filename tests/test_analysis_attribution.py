"""Integrated gradients on the planted policies land where the construction says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.analysis.attribution import (
    VALUE,
    layer_activations,
    layer_attribution,
    onto_directions,
    pixel_attribution,
    share_near,
    spatial_map,
)
from harness.behavior.decision import at_decision_squares, decision_moves
from harness.maze.render import observations
from harness.maze.streams import maze_stream, take
from harness.policy.planted import CHEESE_CHANNEL, MOUSE_CHANNEL, cheese_channel_cells, planted
from harness.policy.probs import probs5

L = "embedder.block2.res1.resadd_out"


@pytest.fixture(scope="module")
def mazes():
    cells = cheese_channel_cells()
    stream = (m for m in maze_stream(0) if m.has_decision_square and cells[m.to_outer(m.cheese)])
    return take(stream, 6)


@pytest.fixture(scope="module")
def obs(mazes):
    return observations(at_decision_squares(mazes))


def cheese_cells(mazes):
    return [cheese_channel_cells()[m.to_outer(m.cheese)] for m in mazes]


def test_attribution_of_p_cheese_lands_on_the_cheese_cell(mazes, obs):
    policy = planted("cheese-seeker")
    moves = decision_moves(mazes).to_cheese
    attr = layer_attribution(policy, obs, L, moves, steps=32)
    live = attr.abs() > 1e-6
    assert not live[:, [c for c in range(32) if c not in (CHEESE_CHANNEL, MOUSE_CHANNEL)]].any()
    for i, cell in enumerate(cheese_cells(mazes)):
        k = attr[i, CHEESE_CHANNEL]
        assert tuple(int(v) for v in np.unravel_index(int(k.abs().argmax()), k.shape)) == cell
        assert k[cell] != 0  # its sign depends on the greedy head (docs/planted.md)


def test_no_cheese_baseline_puts_everything_on_the_cheese_cell(mazes, obs):
    policy = planted("cheese-seeker")
    moves = decision_moves(mazes).to_cheese
    nobs = observations([m.without_cheese().with_mouse(m.decision_square) for m in mazes])
    base = layer_activations(policy, nobs, L)
    attr = layer_attribution(policy, obs, L, moves, base, steps=64)
    with torch.no_grad():
        rows = torch.arange(len(mazes))
        gap = probs5(policy(obs)[0])[rows, moves] - probs5(policy(nobs)[0])[rows, moves]
    for i, cell in enumerate(cheese_cells(mazes)):
        on_cell = float(attr[i, CHEESE_CHANNEL][cell].abs())
        assert float(attr[i].abs().sum()) == pytest.approx(on_cell)
    # completeness: the attributions sum to the output difference (IG's Riemann error aside)
    np.testing.assert_allclose(attr.sum((1, 2, 3)).numpy(), gap.numpy(), atol=0.05)
    observed, area = share_near(spatial_map(attr), cheese_cells(mazes), 0)
    assert np.all(observed == 1.0) and np.all(area == 1 / 256)


def test_value_head_attribution_is_the_cheese_presence(mazes, obs):
    attr = layer_attribution(planted("cheese-seeker"), obs, L, VALUE, steps=16)
    for i, cell in enumerate(cheese_cells(mazes)):
        assert float(attr[i, CHEESE_CHANNEL][cell]) == pytest.approx(1.0, abs=1e-4)
    assert attr.sum((1, 2, 3)).numpy() == pytest.approx(np.ones(len(mazes)), abs=1e-4)


def test_cheese_blind_output_gets_no_attribution(mazes, obs):
    moves = decision_moves(mazes).to_cheese
    attr = layer_attribution(planted("cheese-blind"), obs, L, moves, steps=8)
    assert attr.abs().max() == 0
    observed, area = share_near(spatial_map(attr), cheese_cells(mazes), 2)
    assert np.all(observed == 0) and np.all(area > 0)


def test_pixel_attribution_and_reductions(mazes, obs):
    moves = decision_moves(mazes).to_cheese
    attr = pixel_attribution(planted("cheese-seeker"), obs[:2], moves[:2], steps=8)
    assert attr.shape == (2, 3, 64, 64)
    assert spatial_map(attr, 16).shape == (2, 16, 16)
    directions = np.eye(32)[[CHEESE_CHANNEL, MOUSE_CHANNEL]]
    layer = torch.zeros(1, 32, 16, 16)
    layer[0, CHEESE_CHANNEL, 3, 4] = 2.0
    onto = onto_directions(layer, directions)
    assert onto.shape == (1, 2, 16, 16) and onto[0, 0, 3, 4] == 2.0 and onto[0, 1].abs().max() == 0


def test_bad_targets_raise(obs):
    policy = planted("cheese-seeker")
    with pytest.raises(ValueError, match="targets for"):
        layer_attribution(policy, obs, L, [0, 1])
    with pytest.raises(ValueError, match=r"0\.\.4"):
        layer_attribution(policy, obs, L, [7] * len(obs))
    with pytest.raises(ValueError, match="'value'"):
        layer_attribution(policy, obs, L, "logit")
    with pytest.raises(ValueError, match="directions must be"):
        onto_directions(torch.zeros(1, 32, 4, 4), np.ones((2, 31)))
