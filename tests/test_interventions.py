"""Each intervention does exactly what it says, validates against the real layer, and leaves
the model untouched afterwards."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from harness.hooks import intervening, run_with_cache, run_with_interventions
from harness.interventions import (
    AddVector,
    AddVectors,
    CellOutOfRangeError,
    ChannelOutOfRangeError,
    InterventionDeviceError,
    InterventionError,
    InterventionShapeError,
    MeanAblateChannels,
    ProjectOut,
    ReplaceChannelMapExceptCell,
    ReplaceChannels,
    ScaleChannels,
    SetCell,
    ZeroChannels,
)

L = "embedder.block2.res1.resadd_out"
N = 4

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def plain(policy, obs) -> torch.Tensor:
    return run_with_cache(policy, obs, [L]).cache[L]


def edited(policy, obs, *interventions) -> torch.Tensor:
    return run_with_cache(policy, obs, [L], interventions=list(interventions)).cache[L]


def randn(*shape, seed=0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- effects
def test_add_vector_broadcast_and_per_example(policy, obs, plain):
    v = randn(32, 16, 16)
    torch.testing.assert_close(edited(policy, obs, AddVector(L, v, -1.0)), plain - v)
    per = randn(N, 32, 16, 16, seed=1)
    torch.testing.assert_close(edited(policy, obs, AddVector(L, per, 0.5)), plain + 0.5 * per)


def test_set_cell_edits_one_cell_of_each_channel(policy, obs, plain):
    out = edited(policy, obs, SetCell(L, [3, 8], (5, 7), 5.5))
    expected = plain.clone()
    expected[:, [3, 8], 5, 7] = 5.5
    assert torch.equal(out, expected)


def test_set_cell_per_example_keeps_each_elements_own_map(policy, obs, plain):
    """The reference code copied element 0's map into every element; this must not."""
    cells = [(0, 0), (3, 4), (15, 15), (7, 2)]
    out = edited(policy, obs, SetCell(L, 5, cells, 2.3))
    for n, (i, j) in enumerate(cells):
        expected = plain[n].clone()
        expected[5, i, j] = 2.3
        assert torch.equal(out[n], expected)
    assert not torch.equal(out[1, 5], out[0, 5])


def test_set_cell_one_value_per_channel(policy, obs):
    out = edited(policy, obs, SetCell(L, (1, 2), (4, 4), (1.0, -2.0)))
    assert out[:, 1, 4, 4].eq(1.0).all() and out[:, 2, 4, 4].eq(-2.0).all()
    for scalar in (np.float32(2.5), torch.tensor(2.5), 2.5, 5):
        assert SetCell(L, 1, (0, 0), scalar).value == float(scalar)


def test_zero_mean_scale(policy, obs, plain):
    out = edited(policy, obs, ZeroChannels(L, [0, 31]))
    assert out[:, [0, 31]].eq(0).all() and torch.equal(out[:, 1:31], plain[:, 1:31])
    means = torch.tensor([0.25, -1.0])
    out = edited(policy, obs, MeanAblateChannels(L, [4, 6], means))
    assert out[:, 4].eq(0.25).all() and out[:, 6].eq(-1.0).all()
    maps = randn(2, 16, 16, seed=2)
    out = edited(policy, obs, MeanAblateChannels(L, [4, 6], maps))
    assert torch.equal(out[2, [4, 6]], maps)
    out = edited(policy, obs, ScaleChannels(L, [9], -5.0))
    torch.testing.assert_close(out[:, 9], -5.0 * plain[:, 9])
    assert torch.equal(out[:, 10], plain[:, 10])


def test_replace_channels_broadcast_and_per_example(policy, obs, plain):
    maps = randn(2, 16, 16, seed=3)
    out = edited(policy, obs, ReplaceChannels(L, [7, 1], maps, name="resampled"))
    assert torch.equal(out[:, 7], maps[0].expand(N, 16, 16))
    assert torch.equal(out[:, 1], maps[1].expand(N, 16, 16))
    per = randn(N, 1, 16, 16, seed=4)
    out = edited(policy, obs, ReplaceChannels(L, [7], per))
    assert torch.equal(out[:, 7], per[:, 0])
    assert torch.equal(out[:, 8], plain[:, 8])


def test_replace_map_except_cell(policy, obs, plain):
    out = edited(policy, obs, ReplaceChannelMapExceptCell(L, 5, (2, 3), -0.2, 5.6))
    expected = torch.full((N, 16, 16), -0.2)
    expected[:, 2, 3] = 5.6
    assert torch.equal(out[:, 5], expected)
    assert torch.equal(out[:, 6], plain[:, 6])
    out = edited(
        policy, obs, ReplaceChannelMapExceptCell(L, 5, [(0, 1), (1, 2), (2, 3), (3, 4)], 0.0, 1.0)
    )
    assert [tuple(torch.nonzero(out[n, 5])[0].tolist()) for n in range(N)] == [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
    ]


def test_list_applies_in_order(policy, obs, plain):
    v = randn(32, 16, 16, seed=5)
    scale_then_add = edited(policy, obs, ScaleChannels(L, [0], 2.0), AddVector(L, v))
    add_then_scale = edited(policy, obs, AddVector(L, v), ScaleChannels(L, [0], 2.0))
    torch.testing.assert_close(scale_then_add[:, 0], 2 * plain[:, 0] + v[0])
    torch.testing.assert_close(add_then_scale[:, 0], 2 * (plain[:, 0] + v[0]))


def test_add_vectors_equals_one_add_per_layer(policy, obs):
    labels = ["embedder.block1.conv_out", L, "embedder.fc_out"]
    shapes = {"embedder.block1.conv_out": (16, 64, 64), L: (32, 16, 16), "embedder.fc_out": (256,)}
    vectors = {k: randn(*shapes[k], seed=i) for i, k in enumerate(labels)}
    composite = AddVectors(vectors, coeff=-0.05, name="cheese_vector")
    singles = [AddVector(k, v, -0.05, "cheese_vector") for k, v in vectors.items()]
    assert composite.layers == tuple(labels)
    a = run_with_interventions(policy, obs, composite).logits
    b = run_with_interventions(policy, obs, singles).logits
    assert torch.equal(a, b)
    assert not torch.equal(a, run_with_interventions(policy, obs, []).logits)


def test_model_is_bit_identical_after_the_context(policy, obs):
    params = {k: (v.data_ptr(), v.clone()) for k, v in policy.state_dict().items()}
    with torch.no_grad():
        before = policy(obs)
        ivs = [
            AddVector(L, randn(32, 16, 16)),
            SetCell(L, [1, 2], (3, 3), 9.0),
            ZeroChannels("embedder.block1.conv_out", [0]),
            ScaleChannels("embedder.fc_out", [5], 3.0),
        ]
        with intervening(policy, ivs):
            during = policy(obs)
        after = policy(obs)
    assert not torch.equal(before[0], during[0])
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])
    for k, v in policy.state_dict().items():  # no copy, no change
        assert v.data_ptr() == params[k][0] and torch.equal(v, params[k][1])


# --------------------------------------------------------------------------- validation
def test_channel_and_spatial_ranges_are_checked_separately(policy, obs):
    """A channel index is checked against the channel count, a cell against H x W."""
    run_with_interventions(policy, obs, SetCell(L, 20, (15, 15), 1.0))  # 32 channels, 16 x 16
    with pytest.raises(CellOutOfRangeError, match=r"cell \(20, 3\) is outside the 16 x 16"):
        run_with_interventions(policy, obs, SetCell(L, 5, (20, 3), 1.0))
    with pytest.raises(ChannelOutOfRangeError, match=r"channel 40 .* has 32 channels"):
        run_with_interventions(policy, obs, SetCell(L, 40, (3, 3), 1.0))
    conv1 = "embedder.block1.conv_out"  # 16 channels, 64 x 64: the other way round
    run_with_interventions(policy, obs, SetCell(conv1, 15, (40, 40), 1.0))
    with pytest.raises(ChannelOutOfRangeError, match="has 16 channels"):
        run_with_interventions(policy, obs, SetCell(conv1, 20, (40, 40), 1.0))
    with pytest.raises(ChannelOutOfRangeError):
        run_with_interventions(policy, obs, ZeroChannels(L, -1))
    with pytest.raises(CellOutOfRangeError, match="no spatial map"):
        run_with_interventions(policy, obs, SetCell("embedder.fc_out", 3, (0, 0), 1.0))


@pytest.mark.parametrize(
    "bad",
    [
        AddVector(L, torch.zeros(32, 16)),
        AddVector(L, torch.zeros(16, 16, 16)),
        ReplaceChannels(L, [1, 2], torch.zeros(3, 16, 16)),
        MeanAblateChannels(L, [1, 2], torch.zeros(3)),
    ],
    ids=["vector-rank", "vector-channels", "maps", "means"],
)
def test_shape_mismatches(policy, obs, bad):
    with pytest.raises(InterventionShapeError):
        run_with_interventions(policy, obs, bad)


def test_per_example_count_must_match_the_batch(policy, obs):
    with pytest.raises(InterventionShapeError, match=r"3 per-example rows but the batch .* has 4"):
        run_with_interventions(policy, obs, SetCell(L, 1, [(0, 0)] * 3, 1.0))


def test_tensor_on_another_device(policy, obs):
    elsewhere = AddVector(L, torch.zeros(32, 16, 16)).to("meta")
    assert elsewhere.vector.device.type == "meta"
    with pytest.raises(InterventionDeviceError, match="on meta but the policy is on cpu"):
        run_with_interventions(policy, obs, elsewhere)


def test_malformed_arguments_fail_at_construction():
    with pytest.raises(InterventionError, match="ints"):
        ZeroChannels(L, [1.5])
    with pytest.raises(InterventionError, match="pair"):
        SetCell(L, 1, (1, 2, 3), 1.0)
    with pytest.raises(InterventionShapeError, match="2 values for 1 channels"):
        SetCell(L, [1], (1, 2), (1.0, 2.0))
    with pytest.raises(InterventionError, match="at least one"):
        AddVectors({})


# --------------------------------------------------------------------------- as data
def test_interventions_print_and_serialize_as_what_they_do():
    v = torch.ones(32, 16, 16)
    assert str(AddVector(L, v, 1.0, "cheese_vector")) == f"add 1 x cheese_vector @ {L}"
    assert str(SetCell(L, [55], (3, 4), 5.5)) == f"set channels [55] at cell (3, 4) to 5.5 @ {L}"
    assert str(ZeroChannels(L, 55)) == f"zero channels [55] @ {L}"
    assert str(ScaleChannels(L, [55], -5)) == f"scale channels [55] by -5 @ {L}"
    assert (
        str(ReplaceChannelMapExceptCell(L, 55, (1, 2), -0.2, 5.6))
        == f"set channels [55] to -0.2 except cell (1, 2) = 5.6 @ {L}"
    )
    record = AddVector(L, v, -1.0, "cheese_vector").to_dict()
    assert record["kind"] == "add_vector" and record["coeff"] == -1.0
    assert record["vector"]["shape"] == [32, 16, 16] and record["vector"]["norm"] == pytest.approx(
        v.norm().item()
    )
    for iv in (
        SetCell(L, [1, 2], [(0, 0), (1, 1)], 1.0),
        AddVectors({L: v}, -0.05),
        ReplaceChannels(L, [1], torch.zeros(1, 16, 16)),
    ):
        json.dumps(iv.to_dict())


def test_interventions_are_immutable_and_own_their_tensors():
    v = torch.zeros(32, 16, 16)
    iv = AddVector(L, v)
    v += 1.0
    assert iv.vector.eq(0).all()
    with pytest.raises(dataclasses.FrozenInstanceError):
        iv.coeff = 2.0


# --------------------------------------------------------------------------- per-maze data
def edited_by_owner(policy, obs, owners, *interventions) -> torch.Tensor:
    """The layer's output with per-example data indexed by each row's owner."""
    return run_with_cache(policy, obs, [L], list(interventions), owners=owners).cache[L]


def test_owners_index_per_maze_data_for_every_kind(policy, obs, plain):
    """Rows 0, 1 belong to maze 2 and rows 2, 3 to maze 0: each row gets its maze's data,
    exactly as if the data had been expanded row by row (what the closures used to do)."""
    owners = np.array([2, 2, 0, 0])
    vectors, maps, dirs = randn(3, 32, 16, 16), randn(3, 1, 16, 16, seed=1), randn(3, 32, seed=2)
    cells = ((1, 1), (2, 3), (9, 9))
    rows = torch.as_tensor(owners)
    pairs = [
        (AddVector(L, vectors, -1.0), AddVector(L, vectors[rows], -1.0)),
        (SetCell(L, 5, cells, 3.0), SetCell(L, 5, [cells[i] for i in owners], 3.0)),
        (ReplaceChannels(L, [4], maps), ReplaceChannels(L, [4], maps[rows])),
        (ProjectOut(L, dirs), ProjectOut(L, dirs[rows])),
    ]
    for per_maze, per_row in pairs:
        got = edited_by_owner(policy, obs, owners, per_maze)
        torch.testing.assert_close(got, edited(policy, obs, per_row), rtol=0, atol=0)
        assert not torch.equal(got, plain), per_maze
    shared = AddVector(L, vectors[0], 1.0)  # broadcast data ignores owners
    torch.testing.assert_close(edited_by_owner(policy, obs, owners, shared), plain + vectors[0])


def test_an_owner_beyond_the_per_maze_data_is_an_error(policy, obs):
    with pytest.raises(InterventionShapeError, match="belongs to example 3"):
        edited_by_owner(policy, obs, [0, 1, 2, 3], AddVector(L, randn(3, 32, 16, 16)))
    with pytest.raises(InterventionShapeError, match="3 per-example cells"):
        edited_by_owner(policy, obs, [0, 1, 2, 3], SetCell(L, 1, ((0, 0), (1, 1), (2, 2)), 1.0))
