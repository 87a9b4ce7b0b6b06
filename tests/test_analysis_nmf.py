"""NMF of planted activations finds the cheese channel, and its map follows the cheese."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from harness.analysis.nmf import fit_layer_nmf, thumbnail_figure, top_examples
from harness.experiments import directions as dr
from harness.experiments.activations import activations
from harness.experiments.subject import Subject
from harness.maze.render import observe_uint8
from harness.maze.streams import maze_stream, take
from harness.policy.planted import CHEESE_CHANNEL, MOUSE_CHANNEL, cheese_channel_cells, planted

L = "embedder.block2.res1.resadd_out"
SETTINGS = dr.FitSettings(components=3, fit_mazes=12, positions=3, placements=4)


@pytest.fixture(scope="module")
def subject() -> Subject:
    return Subject(planted("cheese-seeker"), torch.device("cpu"), cheese_channels=(11,))


@pytest.fixture(scope="module")
def fitted(subject):
    mazes = dr.fit_set(subject, SETTINGS)
    acts = activations(subject, mazes)[L]
    return mazes, acts, fit_layer_nmf(acts, 3, L)


def test_nmf_finds_the_cheese_and_mouse_channels(fitted):
    _, _, nmf = fitted
    best = [int(np.argmax(d)) for d in nmf.directions[:2]]
    assert sorted(best) == sorted([CHEESE_CHANNEL, MOUSE_CHANNEL])
    k = best.index(CHEESE_CHANNEL)
    assert nmf.loading_share(k, [CHEESE_CHANNEL]) > 0.99
    assert np.allclose(np.linalg.norm(nmf.directions[:2], axis=1), 1.0)
    assert nmf.clipped_share == 0.0  # planted L is non-negative


def test_the_cheese_direction_map_peaks_at_the_cheese(subject, fitted):
    _, _, nmf = fitted
    k = int(np.argmax(nmf.directions[:, CHEESE_CHANNEL]))
    cells = cheese_channel_cells()
    mazes = [
        m
        for m in take(maze_stream(100), 30)
        if cells[m.to_outer(m.cheese)] is not None and m.cheese != m.start
    ][:10]
    maps = nmf.maps(activations(subject, mazes)[L])
    for m, mp in zip(mazes, maps[:, k], strict=True):
        peak = np.unravel_index(np.argmax(mp), mp.shape)
        assert peak == cells[m.to_outer(m.cheese)]
        assert mp.max() > 0.5


def test_cheese_direction_is_chosen_by_tracking(subject):
    found = dr.cheese_direction(subject, SETTINGS)
    assert int(np.argmax(found.vector)) == CHEESE_CHANNEL
    assert found.fit_hit_rates[found.index] > 0.4
    assert dr.cheese_direction(subject, SETTINGS) is found  # cached


def test_thumbnails_and_top_examples(fitted):
    mazes, acts, nmf = fitted
    maps = nmf.maps(acts)
    tops = top_examples(maps, 4)
    assert len(tops) == nmf.k and all(len(t) == 4 for t in tops)
    values = [v for _, _, _, v in tops[0]]
    assert values == sorted(values, reverse=True)
    fig = thumbnail_figure(nmf, observe_uint8(mazes), maps, count=4, highlight=[11])
    assert len(fig.axes) == nmf.k * 5
    plt.close(fig)


def test_bad_inputs_raise():
    acts = torch.rand(2, 4, 3, 3)
    with pytest.raises(ValueError, match=r"k must be in 1\.\.4"):
        fit_layer_nmf(acts, 5)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        fit_layer_nmf(torch.rand(4, 3), 2)
    with pytest.raises(ValueError, match="all <= 0"):
        fit_layer_nmf(-acts, 2)
    mixed = fit_layer_nmf(acts - 0.25, 2)
    assert 0 < mixed.clipped_share < 1
