"""Bad input to an intervention fails when it is built, with an error naming the value.

Non-finite data (NaN, +inf, -inf in a vector, map, direction, coefficient or clamp) would
otherwise turn every probability into NaN; a float or bool channel, a string coefficient or
a bool cell would otherwise be coerced into something the caller did not mean."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from harness import intervention_values as values
from harness import interventions as ivs
from harness.analysis.kernel_edit import KernelEdit, project_out_of_kernels
from harness.hooks import run_with_cache, run_with_interventions
from harness.interventions import (
    AddVector,
    AddVectors,
    DirectionError,
    InterventionError,
    InterventionTypeError,
    MeanAblateChannels,
    NonFiniteDirectionError,
    NonFiniteValueError,
    ProjectOut,
    ReplaceChannelMapExceptCell,
    ReplaceChannels,
    ScaleChannels,
    SetCell,
    ZeroChannels,
)

L = "embedder.block2.res1.resadd_out"  # (32, 16, 16) at scale 1
N = 4
BAD = {"nan": math.nan, "+inf": math.inf, "-inf": -math.inf}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def spoiled(shape: tuple[int, ...], at: list[tuple[int, ...]], bad: float, seed: int = 0):
    """A random tensor with ``bad`` at the positions ``at``."""
    t = randn(*shape, seed=seed)
    for pos in at:
        t[pos] = bad
    return t


# Tensor parameters: (kind, parameter) -> (build from the tensor, finite per-example shape).
TENSORS = {
    "AddVector.vector": (lambda t: AddVector(L, t, 1.0, "cheese_vector"), (32, 16, 16)),
    "MeanAblateChannels.means": (lambda t: MeanAblateChannels(L, [1, 2], t), (2, 16, 16)),
    "ReplaceChannels.maps": (lambda t: ReplaceChannels(L, [1, 2], t, "resampled"), (2, 16, 16)),
    "AddVectors.vectors": (
        lambda t: AddVectors({"embedder.fc_out": randn(256), L: t}, -1.0, "cheese_vectors"),
        (32, 16, 16),
    ),
}
WHO = {
    "AddVector.vector": f"AddVector cheese_vector @ {L}: vector",
    "MeanAblateChannels.means": f"MeanAblateChannels @ {L}: means",
    "ReplaceChannels.maps": f"ReplaceChannels resampled @ {L}: maps",
    "AddVectors.vectors": f"AddVectors cheese_vectors @ 2 layers: vector at {L}",
}


@pytest.mark.parametrize("bad", list(BAD.values()), ids=list(BAD))
@pytest.mark.parametrize("param", list(TENSORS))
def test_non_finite_tensor_is_refused_with_its_first_position(param, bad):
    build, shape = TENSORS[param]
    at = [(1, 12, 4), (1, 3, 3), (0, 15, 15)]  # row-major first: (0, 15, 15)
    with pytest.raises(NonFiniteValueError) as err:
        build(spoiled(shape, at, bad))
    name = "nan" if math.isnan(bad) else str(bad)
    assert str(err.value) == (
        f"{WHO[param]} has 3 non-finite entries (first {name} at index (0, 15, 15)); "
        "interventions take finite values"
    )
    build(randn(*shape))  # the same shape, finite: accepted


@pytest.mark.parametrize("param", list(TENSORS))
def test_non_finite_entry_of_a_per_example_batch_is_found(param):
    build, shape = TENSORS[param]
    batch = spoiled((N, *shape), [(2, 1, 5, 6)], math.inf)
    with pytest.raises(
        NonFiniteValueError, match=re.escape("1 non-finite entry (first inf at index (2, 1, 5, 6))")
    ):
        build(batch)


def test_the_issue_example_message():
    v = spoiled((32, 16, 16), [(12, 4, 7), (12, 4, 8), (20, 0, 0)], math.nan)
    with pytest.raises(NonFiniteValueError) as err:
        AddVector(L, v[None], name="cheese_vector")
    assert str(err.value) == (
        f"AddVector cheese_vector @ {L}: vector has 3 non-finite entries "
        "(first nan at index (0, 12, 4, 7)); interventions take finite values"
    )


def test_non_finite_entry_in_one_map_of_a_list_or_one_layer_of_many():
    maps = [randn(16, 16, seed=1), spoiled((16, 16), [(9, 9)], -math.inf, seed=2)]
    with pytest.raises(NonFiniteValueError, match=re.escape("first -inf at index (1, 9, 9)")):
        ReplaceChannels(L, [1, 2], maps)
    with pytest.raises(NonFiniteValueError, match=re.escape("first nan at index (0, 1)")):
        MeanAblateChannels(L, [1, 2], [[0.5, np.nan]])  # nested lists, numpy nan
    with pytest.raises(NonFiniteValueError, match=re.escape("means has 1 non-finite entry")):
        MeanAblateChannels(L, [1, 2], np.array([0.0, np.inf]))
    layers = {
        "embedder.block1.conv_out": randn(16, 64, 64),
        L: spoiled((32, 16, 16), [(0, 0, 1)], math.nan),
    }
    with pytest.raises(NonFiniteValueError, match=rf"vector at {re.escape(L)} has 1 non-finite"):
        AddVectors(layers)
    # a list of finite maps is stacked, not refused
    assert torch.equal(ReplaceChannels(L, [1, 2], maps[:1] * 2).maps, torch.stack(maps[:1] * 2))
    with pytest.raises(
        ivs.InterventionShapeError, match=r"different shapes .*\(16, 16\), \(8, 8\)"
    ):
        ReplaceChannels(L, [1, 2], [randn(16, 16), randn(8, 8)])


def test_float64_values_that_overflow_float32_are_refused():
    """Stored as float32, 1e39 is inf: the check runs on what would be applied."""
    v = torch.zeros(32, 16, 16, dtype=torch.float64)
    v[3, 2, 1] = 1e39
    with pytest.raises(NonFiniteValueError, match=re.escape("first inf at index (3, 2, 1)")):
        AddVector(L, v)


# Scalar parameters: (kind, parameter) -> build from the value.
SCALARS = {
    "AddVector.coeff": lambda x: AddVector(L, randn(32, 16, 16), x, "cheese_vector"),
    "AddVectors.coeff": lambda x: AddVectors({L: randn(32, 16, 16)}, x, "cheese_vectors"),
    "SetCell.value": lambda x: SetCell(L, [55 % 32], (3, 4), x),
    "SetCell.value[1]": lambda x: SetCell(L, [1, 2], (3, 4), [5.5, x]),
    "ScaleChannels.factor": lambda x: ScaleChannels(L, [9], x),
    "ReplaceChannelMapExceptCell.background": lambda x: ReplaceChannelMapExceptCell(
        L, 5, (2, 3), x, 5.6
    ),
    "ReplaceChannelMapExceptCell.cell_value": lambda x: ReplaceChannelMapExceptCell(
        L, 5, (2, 3), -0.2, x
    ),
}
SCALAR_WHO = {
    "AddVector.coeff": f"AddVector cheese_vector @ {L}: coeff",
    "AddVectors.coeff": "AddVectors cheese_vectors @ 1 layers: coeff",
    "SetCell.value": f"SetCell @ {L}: value",
    "SetCell.value[1]": f"SetCell @ {L}: value[1]",
    "ScaleChannels.factor": f"ScaleChannels @ {L}: factor",
    "ReplaceChannelMapExceptCell.background": f"ReplaceChannelMapExceptCell @ {L}: background",
    "ReplaceChannelMapExceptCell.cell_value": f"ReplaceChannelMapExceptCell @ {L}: cell_value",
}
NON_FINITE_SCALARS = {
    "float-nan": (float("nan"), "nan"),
    "float+inf": (float("inf"), "inf"),
    "float-inf": (float("-inf"), "-inf"),
    "numpy-nan": (np.nan, "nan"),
    "numpy-float32-inf": (np.float32("inf"), "inf"),
    "tensor-nan": (torch.tensor(float("nan")), "nan"),
    "numpy-0d-inf": (np.array(-np.inf), "-inf"),
}
WRONG_TYPE_SCALARS = {
    "string": "0.5",
    "string-nan": "nan",
    "bool": True,
    "numpy-bool": np.bool_(False),
    "none": None,
    "list": [0.5],
    "bool-tensor": torch.tensor(True),
}


@pytest.mark.parametrize("case", list(NON_FINITE_SCALARS))
@pytest.mark.parametrize("param", list(SCALARS))
def test_non_finite_scalar_is_refused(param, case):
    value, shown = NON_FINITE_SCALARS[case]
    with pytest.raises(NonFiniteValueError) as err:
        SCALARS[param](value)
    assert str(err.value) == f"{SCALAR_WHO[param]} is {shown}; interventions take finite values"


@pytest.mark.parametrize(
    "param, case",
    [
        (p, c)
        for p in SCALARS
        for c in WRONG_TYPE_SCALARS
        if (p, c) != ("SetCell.value", "list")  # a list is SetCell's one-value-per-channel form
    ],
)
def test_scalar_of_the_wrong_type_is_a_type_error_not_coerced(param, case):
    value = WRONG_TYPE_SCALARS[case]
    with pytest.raises(InterventionTypeError) as err:
        SCALARS[param](value)
    assert isinstance(err.value, TypeError) and isinstance(err.value, InterventionError)
    assert str(err.value).startswith(f"{SCALAR_WHO[param]} must be a real number, got {value!r}")


@pytest.mark.parametrize(
    "good", [2, np.float32(2.5), np.int64(-3), torch.tensor(0.25), np.array(1.5), 1e-30]
)
def test_real_scalars_of_every_flavour_are_accepted_as_floats(good):
    for build, field in (
        (SCALARS["AddVector.coeff"], "coeff"),
        (SCALARS["ScaleChannels.factor"], "factor"),
        (SCALARS["SetCell.value"], "value"),
    ):
        got = getattr(build(good), field)
        assert type(got) is float and got == float(good)


# --------------------------------------------------------------------------- channels, cells
@pytest.mark.parametrize(
    "channels, shown",
    [
        (55.0, "55.0"),
        ([3, 55.0], "55.0"),
        (np.float64(55.0), repr(np.float64(55.0))),
        (torch.tensor(55.0), "tensor(55.)"),
        (True, "True"),
        ([1, False], "False"),
        (np.bool_(True), repr(np.bool_(True))),
        (torch.tensor([True, False]), "tensor(True)"),
        (1.5, "1.5"),
    ],
)
def test_float_or_bool_channels_are_a_type_error_naming_the_value(channels, shown):
    for build in (
        lambda c: ZeroChannels(L, c),
        lambda c: ScaleChannels(L, c, 2.0),
        lambda c: SetCell(L, c, (0, 0), 1.0),
        lambda c: MeanAblateChannels(L, c, torch.zeros(1)),
    ):
        with pytest.raises(
            InterventionTypeError, match=rf"channel indices must be ints, got {re.escape(shown)} "
        ):
            build(channels)


def test_channel_type_errors_suggest_the_int_and_strings_are_refused():
    with pytest.raises(
        TypeError, match=r"got 55\.0 \(float\); pass integer channel numbers such as 55$"
    ):
        ZeroChannels(L, [55.0])
    with pytest.raises(TypeError, match="got the string '55'"):
        ZeroChannels(L, "55")  # used to become channels [5, 5]... or an index error on '5'


@pytest.mark.parametrize(
    "channels, expected",
    [
        (np.int64(5), (5,)),  # a numpy int used to fail with "not iterable"
        (torch.tensor(5), (5,)),
        (np.array([5, 6]), (5, 6)),
        (torch.tensor([5, 6]), (5, 6)),
        (range(2), (0, 1)),
    ],
)
def test_integer_channels_of_every_flavour_are_accepted(channels, expected):
    assert ZeroChannels(L, channels).channels == expected
    assert all(type(c) is int for c in ZeroChannels(L, channels).channels)


def test_bad_cells_are_refused_not_coerced():
    with pytest.raises(InterventionTypeError, match=r"got bools \(True, False\)"):
        SetCell(L, 1, (True, False), 1.0)  # used to become cell (1, 0)
    with pytest.raises(NonFiniteValueError, match=r"cell has 1 non-finite entry \(first inf"):
        SetCell(L, 1, (math.inf, 1.0), 1.0)  # used to become cell (-2**63, 1)
    with pytest.raises(NonFiniteValueError, match=r"first nan at index \(1, 0\)"):
        ReplaceChannelMapExceptCell(L, 1, [(0, 0), (np.nan, 2)], 0.0, 1.0)
    with pytest.raises(InterventionTypeError, match="a cell is a"):
        SetCell(L, 1, ("a", 2), 1.0)
    assert SetCell(L, 1, (3.0, 4.0), 1.0).cell == (3, 4)  # integral floats stay accepted


# --------------------------------------------------------------------------- directions
@pytest.mark.parametrize("bad", list(BAD.values()), ids=list(BAD))
def test_non_finite_direction_is_refused_at_construction(policy, bad):
    name = "nan" if math.isnan(bad) else str(bad)
    with pytest.raises(NonFiniteDirectionError) as err:
        ProjectOut(L, spoiled((32,), [(7,)], bad), "nmf_direction")
    assert isinstance(err.value, DirectionError) and isinstance(err.value, NonFiniteValueError)
    assert str(err.value) == (
        f"ProjectOut nmf_direction @ {L}: direction has 1 non-finite entry "
        f"(first {name} at index (7,)); interventions take finite values"
    )
    per_maze = spoiled((3, 32), [(2, 30), (2, 31)], bad)
    with pytest.raises(NonFiniteDirectionError, match=re.escape("2 non-finite entries (first")):
        ProjectOut(L, per_maze)
    with pytest.raises(NonFiniteDirectionError, match=re.escape("at index (7,)")):
        KernelEdit((L,), spoiled((32,), [(7,)], bad).numpy())
    with pytest.raises(NonFiniteDirectionError, match=re.escape("at index (7,)")):
        project_out_of_kernels(
            policy, "embedder.block2.res2.resadd_out", spoiled((32,), [(7,)], bad)
        )
    with pytest.raises(NonFiniteDirectionError, match=re.escape("at index (7,)")):
        values.as_direction(spoiled((32,), [(7,)], bad), 32)


def test_zero_direction_is_refused_at_construction():
    with pytest.raises(
        DirectionError,
        match=rf"ProjectOut direction @ {re.escape(L)}: direction is the zero vector",
    ):
        ProjectOut(L, torch.zeros(32))
    per_maze = randn(3, 32)
    per_maze[1] = 0.0
    with pytest.raises(DirectionError, match="direction row 1 is the zero vector"):
        ProjectOut(L, per_maze)
    with pytest.raises(DirectionError, match="zero vector"):
        KernelEdit((L,), np.zeros(32))
    ProjectOut(L, torch.full((32,), 1e-30))  # tiny is not zero


# --------------------------------------------------------------------------- happy path
def finite_kinds() -> list[ivs.Intervention]:
    return [
        AddVector(L, randn(N, 32, 16, 16), -0.5, "cheese_vector"),
        AddVectors({"embedder.block1.conv_out": randn(16, 64, 64) * 0.1, L: randn(32, 16, 16)}),
        SetCell(L, [1, 2], [(0, 0), (3, 4), (15, 15), (7, 2)], (5.5, -1.0)),
        ZeroChannels(L, [0, 31]),
        MeanAblateChannels(L, [4, 6], randn(2, 16, 16)),
        ScaleChannels(L, [9], -5.0),
        ReplaceChannels(L, [7], randn(N, 1, 16, 16)),
        ReplaceChannelMapExceptCell(L, 5, (2, 3), -0.2, 5.6),
        ProjectOut(L, randn(N, 32)),
    ]


def test_finite_interventions_give_finite_probabilities(policy, obs):
    for iv in finite_kinds():
        logits = run_with_interventions(policy, obs, iv).logits
        probs = torch.softmax(logits, -1)
        assert torch.isfinite(probs).all(), iv
        assert not torch.equal(logits, run_with_interventions(policy, obs, []).logits), iv


def test_what_the_check_prevents(policy, obs):
    """Bypassing construction, a NaN vector makes every probability NaN."""
    v = spoiled((32, 16, 16), [(0, 0, 0)], math.nan)
    unchecked = ivs._trusted(AddVector, layer=L, vector=v, coeff=1.0, name="nan_vector")
    assert torch.isnan(
        torch.softmax(run_with_interventions(policy, obs, unchecked).logits, -1)
    ).all()


def test_the_check_does_not_change_data_or_outputs(policy, obs):
    """Checked data is stored bit for bit, and the edits equal their formulas."""
    plain = run_with_cache(policy, obs, [L]).cache[L]
    v, dirs = randn(N, 32, 16, 16, seed=3), randn(N, 32, seed=4)
    add, project = AddVector(L, v, 0.5), ProjectOut(L, dirs)
    assert torch.equal(add.vector, v) and torch.equal(project.direction, dirs)
    got = run_with_cache(policy, obs, [L], [add]).cache[L]
    torch.testing.assert_close(got, plain + 0.5 * v, rtol=0, atol=0)
    u = torch.stack([values.as_direction(d, 32) for d in dirs])[:, :, None, None]  # row by row
    got = run_with_cache(policy, obs, [L], [project]).cache[L]
    torch.testing.assert_close(got, plain - u * (plain * u).sum(1, keepdim=True), rtol=0, atol=0)


def test_the_culprit_is_only_searched_for_on_the_error_path(monkeypatch):
    def boom(_t):
        raise AssertionError("_first_bad ran on finite data")

    monkeypatch.setattr(values, "_first_bad", boom)
    finite_kinds()
    KernelEdit((L,), np.ones(32))


def test_composite_parts_reuse_the_checked_tensors():
    """AddVectors.parts() runs on every install: no second copy or check of each vector."""
    composite = AddVectors({L: randn(32, 16, 16), "embedder.fc_out": randn(256)}, 0.5, "cv")
    for part, (label, v) in zip(composite.parts(), composite.vectors.items(), strict=True):
        assert part.vector is v and part.layer == label and part.coeff == 0.5
        assert str(part) == f"add 0.5 x cv @ {label}"


def test_moving_to_meta_still_works():
    """Meta tensors carry no values to check; moving there must not fail."""
    for iv in (AddVector(L, randn(32, 16, 16)), ProjectOut(L, randn(32))):
        assert all(
            t.device.type == "meta"
            for t in vars(iv.to("meta")).values()
            if isinstance(t, torch.Tensor)
        )


def test_large_finite_values_whose_sum_overflows_are_accepted():
    """The fast check sums the entries; an overflowing sum of finite values is no error."""
    big = torch.full((32, 16, 16), 3e38)
    assert not torch.isfinite(big.sum())
    assert torch.equal(AddVector(L, big).vector, big)
    assert torch.equal(
        ProjectOut(L, torch.full((2, 32), 3e38)).direction, torch.full((2, 32), 3e38)
    )
    with pytest.raises(DirectionError, match="row 1 is the zero vector"):
        ProjectOut(L, torch.stack([torch.full((32,), 3e38), torch.zeros(32)]))
