"""Checks of the values an intervention is built from, made when it is built.

NaN or infinite data (vectors, maps, means, directions, coefficients, clamps) raises
:class:`~harness.interventions.NonFiniteValueError` saying how many entries are bad and
where the first one is; a float or bool channel, a string coefficient or a bool cell raises
:class:`~harness.interventions.InterventionTypeError` rather than being coerced. Tensors
come back as owned float32 copies, scalars as Python floats, channels as int tuples; a
direction must also be non-zero (:class:`~harness.interventions.DirectionError`).
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from harness.intervention_errors import (
    DirectionError,
    InterventionError,
    InterventionShapeError,
    InterventionTypeError,
    NonFiniteDirectionError,
    NonFiniteValueError,
)

FINITE_HINT = "interventions take finite values"


def _is_bool(x: Any) -> bool:
    if isinstance(x, torch.Tensor):
        return x.dtype == torch.bool
    if isinstance(x, np.ndarray):
        return x.dtype == np.bool_
    return isinstance(x, bool | np.bool_)


def as_tensor(value: Any, what: str, who: str = "") -> torch.Tensor:
    prefix = f"{who}: " if who else ""
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, torch.Tensor) for v in value)
    ):
        # a list of maps (one per channel or example): torch.as_tensor refuses it
        try:
            value = torch.stack(value)
        except RuntimeError:
            shapes = [tuple(v.shape) for v in value]
            raise InterventionShapeError(
                f"{prefix}{what} is a list of tensors of different shapes or devices {shapes}; "
                "pass tensors of one shape on one device"
            ) from None
    try:
        t = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as e:
        raise InterventionTypeError(
            f"{prefix}{what} must be a numeric tensor or array, got {type(value).__name__} "
            f"{value!r:.80} ({e})"
        ) from None
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64, torch.bool)):
        raise InterventionTypeError(f"{prefix}{what} must be numeric, got dtype {t.dtype}")
    # an owned copy: later in-place edits of the caller's tensor cannot leak in
    return t.detach().to(torch.float32).clone().contiguous()


def _first_bad(t: torch.Tensor) -> str:
    """How many entries are not finite and where the first one is (error path only)."""
    bad = ~torch.isfinite(t)
    count = int(bad.sum())
    first = tuple(int(i) for i in bad.nonzero()[0].tolist())
    value = float(t[first])
    return f"{count} non-finite entr{'y' if count == 1 else 'ies'} (first {value} at index {first})"


def _surely_finite(t: torch.Tensor) -> torch.Tensor:
    """A 0-d bool on ``t``'s device, True only if every entry is finite.

    A NaN or infinite entry makes the sum NaN or infinite, so one sum rules them out: a
    single reduction with no temporary, ~50x faster on the CPU than
    ``torch.isfinite(t).all()``, which allocates a mask. False can also mean the sum
    overflowed; callers then confirm with the exact check."""
    return torch.isfinite(t.sum())


def check_finite(
    t: torch.Tensor, what: str, who: str, error: type[NonFiniteValueError] = NonFiniteValueError
) -> torch.Tensor:
    """``t`` if every entry is finite, else a :class:`NonFiniteValueError` saying where.

    One device-side reduction and one host sync on the happy path; the position of the
    first bad entry is only computed when raising. Meta tensors have no values to check.
    """
    if t.device.type == "meta" or bool(_surely_finite(t)) or bool(torch.isfinite(t).all()):
        return t
    raise error(f"{who}: {what} has {_first_bad(t)}; {FINITE_HINT}")


def as_real(value: Any, what: str, who: str) -> float:
    """A finite Python float from a real number (or a 0-d tensor or array holding one).

    ``float()`` alone would also take ``"0.5"``, ``True`` and ``nan``; those are errors."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item") and not _is_bool(value):
        value = value.item()
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise InterventionTypeError(
            f"{who}: {what} must be a real number, got {value!r} ({type(value).__name__}); "
            f"pass a float such as {what.split('[')[0]}=1.0"
        )
    x = float(value)
    if not math.isfinite(x):
        raise NonFiniteValueError(f"{who}: {what} is {x}; {FINITE_HINT}")
    return x


def _as_channel(c: Any, who: str) -> int:
    try:
        if _is_bool(c):
            raise TypeError
        return operator.index(c)
    except TypeError:
        hint = ""
        if isinstance(c, numbers.Real) and not _is_bool(c) and float(c).is_integer():
            hint = f" such as {int(c)}"
        raise InterventionTypeError(
            f"{who}: channel indices must be ints, got {c!r} ({type(c).__name__}); "
            f"pass integer channel numbers{hint}"
        ) from None


def as_channels(channels: Any, who: str) -> tuple[int, ...]:
    if isinstance(channels, str | bytes):
        raise InterventionTypeError(
            f"{who}: channels must be an int or a list of ints, got the string {channels!r}"
        )
    single = getattr(channels, "ndim", None) == 0 or not isinstance(channels, Iterable)
    out = tuple(_as_channel(c, who) for c in ((channels,) if single else channels))
    if not out:
        raise InterventionError(f"{who}: an intervention needs at least one channel")
    return out


def as_cells(cell: Any, who: str = "") -> tuple[tuple[int, int], ...] | tuple[int, int]:
    """One ``(i, j)`` or a sequence of per-example cells (an (N, 2) array-like)."""
    prefix = f"{who}: " if who else ""
    try:
        t = torch.as_tensor(cell)
    except (TypeError, ValueError, RuntimeError):
        raise InterventionTypeError(
            f"{prefix}a cell is a (row, col) pair of ints or an (N, 2) list of them, "
            f"got {cell!r:.80}"
        ) from None
    if t.dtype == torch.bool:
        raise InterventionTypeError(
            f"{prefix}cells must be int (row, col) pairs, got bools {cell!r}"
        )
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):  # a few CPU numbers
        raise NonFiniteValueError(f"{prefix}cell has {_first_bad(t)}; {FINITE_HINT}")
    if t.is_floating_point():
        if not torch.equal(t, t.round()):
            raise InterventionError(f"{prefix}cells must be integer (row, col) pairs, got {cell!r}")
        t = t.long()
    if t.ndim == 1 and t.numel() == 2:
        return (int(t[0]), int(t[1]))
    if t.ndim == 2 and t.shape[1] == 2:
        return tuple((int(a), int(b)) for a, b in t.tolist())
    raise InterventionError(
        f"{prefix}a cell is a (row, col) pair or an (N, 2) list of pairs, got {cell!r}"
    )


def as_direction(direction: object, channels: int, what: str = "direction") -> torch.Tensor:
    """``direction`` as a float32 unit vector of length ``channels`` (clear errors otherwise)."""
    given = torch.as_tensor(direction)
    if given.ndim != 1:
        raise InterventionShapeError(
            f"{what} must be a 1-D vector of {channels} channel weights, "
            f"got shape {tuple(given.shape)}"
        )
    u = given.detach().to("cpu", torch.float64)
    if u.numel() != channels:
        raise InterventionShapeError(
            f"{what} has {u.numel()} entries but the layer has {channels} channels"
        )
    if not torch.isfinite(u).all():
        raise NonFiniteDirectionError(f"{what} has {_first_bad(u)}; {FINITE_HINT}")
    norm = u.norm()
    if norm == 0:
        raise DirectionError(f"{what} is the zero vector: there is no direction to project out")
    return (u / norm).float()


def check_direction(t: torch.Tensor, who: str, what: str = "direction") -> torch.Tensor:
    """``t`` (a (C,) direction or (batch, C) of them) if finite and nowhere zero.

    One fused device-side reduction on the happy path; the culprit is found only when
    raising."""
    rows = t if t.ndim == 2 else t.reshape(1, -1)
    if t.device.type == "meta" or bool(_surely_finite(t) & rows.ne(0).any(1).all()):
        return t
    check_finite(t, what, who, NonFiniteDirectionError)
    zero = rows.eq(0).all(1)
    if not bool(zero.any()):
        return t  # the sum overflowed; every entry is finite and no row is zero
    if t.ndim == 2:
        row = int(zero.nonzero()[0])
        raise DirectionError(
            f"{who}: {what} row {row} is the zero vector: there is no direction to project "
            "out; pass non-zero directions"
        )
    raise DirectionError(
        f"{who}: {what} is the zero vector: there is no direction to project out; "
        "pass a non-zero direction"
    )
