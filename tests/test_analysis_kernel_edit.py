"""Kernel-projection edit: equal to projecting the direction out of the activations, leaves
the original policy alone, and blinds the planted cheese-seeker to its cheese channel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.analysis.kernel_edit import (
    KernelEditError,
    _conv_readers,
    project_out_interventions,
    project_out_of_kernels,
    reading_conv,
)
from harness.behavior.decision import decision_moves, decision_probs
from harness.behavior.forward import plain_runner
from harness.behavior.vfield import policy_probs
from harness.hooks import UnknownLayerError, layer_shapes, run_with_interventions
from harness.interventions import DirectionError, InterventionShapeError, ProjectOut
from harness.maze.render import observations
from harness.maze.streams import maze_stream, take
from harness.policy.impala import ImpalaPolicy
from harness.policy.planted import CHEESE_CHANNEL, cheese_channel_cells, planted

L = "embedder.block2.res1.resadd_out"
STREAM = ["embedder.block2.res2.relu1_out", "embedder.block2.res2.resadd_out"]


@pytest.fixture(scope="module")
def obs() -> torch.Tensor:
    return observations(take(maze_stream(0), 8))


@pytest.fixture(scope="module")
def random_policy() -> ImpalaPolicy:
    torch.manual_seed(0)
    return ImpalaPolicy(scale=1).eval()


def test_kernel_edit_equals_activation_projection_at_every_supported_layer(random_policy, obs):
    shapes = layer_shapes(random_policy)
    gen = torch.Generator().manual_seed(1)
    for name in _conv_readers(random_policy):
        label = f"{name}_out"
        u = torch.randn(shapes[label][0], generator=gen)
        edited = project_out_of_kernels(random_policy, label, u)
        with torch.no_grad():
            logits, value = edited(obs)
        twin = run_with_interventions(random_policy, obs, project_out_interventions(label, u))
        assert torch.allclose(logits, twin.logits, atol=1e-5), label
        assert torch.allclose(value, twin.value, atol=1e-5), label
        # and the edit does something: the unedited policy differs
        assert not torch.allclose(logits, random_policy(obs)[0], atol=1e-5), label


def test_two_layer_edit_equals_two_projections_on_the_planted_policy(obs):
    policy = planted("saturating")  # block2.res2 has a live branch here
    u = torch.rand(32, generator=torch.Generator().manual_seed(2))
    edited = project_out_of_kernels(policy, STREAM, u)
    twin = run_with_interventions(policy, obs, project_out_interventions(STREAM, u))
    with torch.no_grad():
        assert torch.allclose(edited(obs)[0], twin.logits, atol=1e-5)


def test_the_original_policy_is_untouched(random_policy):
    before = {k: v.clone() for k, v in random_policy.state_dict().items()}
    edited = project_out_of_kernels(random_policy, STREAM, torch.ones(32))
    after = random_policy.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert edited is not random_policy
    assert not torch.equal(
        edited.embedder.block3.conv.weight, random_policy.embedder.block3.conv.weight
    )


def test_projecting_the_cheese_channel_out_removes_cheese_dependence():
    policy = planted("cheese-seeker")
    cells = cheese_channel_cells()
    mazes = take(
        (
            m
            for m in maze_stream(0)
            if m.has_decision_square and cells[m.to_outer(m.cheese)] is not None
        ),
        6,
    )
    e = np.zeros(32)
    e[CHEESE_CHANNEL] = 1.0
    edited = project_out_of_kernels(policy, STREAM, e)
    with_cheese = decision_probs(plain_runner(policy), mazes, "cpu").p_cheese
    edited_p = decision_probs(plain_runner(edited), mazes, "cpu").p_cheese
    # the no-cheese value: the same move's probability with the cheese removed from the maze
    moves = decision_moves(mazes).to_cheese
    no_cheese = [m.without_cheese().with_mouse(m.decision_square) for m in mazes]
    p0 = policy_probs(plain_runner(policy), no_cheese, "cpu")
    expected = p0[np.arange(len(mazes)), moves]
    np.testing.assert_allclose(edited_p, expected, atol=1e-6)
    assert np.abs(with_cheese - expected).max() > 0.1  # the cheese mattered before the edit


def test_residual_stream_layer_is_rejected_with_the_alternatives(random_policy):
    with pytest.raises(KernelEditError, match=r"embedder\.block2\.res2\.relu1_out"):
        reading_conv(random_policy, L)
    assert reading_conv(random_policy, "embedder.block2.res2.resadd_out") == "embedder.block3.conv"
    assert reading_conv(random_policy, "embedder.block2.res2.relu1_out") == (
        "embedder.block2.res2.conv1"
    )


def test_bad_inputs_raise_clear_errors(random_policy, obs):
    with pytest.raises(UnknownLayerError, match="did you mean"):
        project_out_of_kernels(random_policy, "embedder.block2.res2.resad_out", torch.ones(32))
    with pytest.raises(InterventionShapeError, match="31 entries but the layer has 32"):
        project_out_of_kernels(random_policy, STREAM, torch.ones(31))
    with pytest.raises(DirectionError, match="zero vector"):
        project_out_of_kernels(random_policy, STREAM, torch.zeros(32))
    with pytest.raises(InterventionShapeError, match="1-D"):
        project_out_of_kernels(random_policy, STREAM, torch.ones(4, 8))
    with pytest.raises(DirectionError, match="non-finite"):
        project_out_of_kernels(random_policy, STREAM, torch.tensor([np.nan] + [1.0] * 31))
    with pytest.raises(KernelEditError, match="at least one layer"):
        project_out_of_kernels(random_policy, [], torch.ones(32))
    with pytest.raises(InterventionShapeError, match="has 31 entries"):
        run_with_interventions(random_policy, obs, ProjectOut(L, torch.ones(31)))
    with pytest.raises(InterventionShapeError, match="per-example directions"):
        run_with_interventions(random_policy, obs, ProjectOut(L, torch.ones(3, 32)))
