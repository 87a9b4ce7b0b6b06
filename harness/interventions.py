"""Interventions as data: small immutable objects that say what to do to one layer's output.

Each intervention names a hook label (``<module>_out``), prints as what it does
(``add 1 x cheese_vector @ embedder.block2.res1.resadd_out``), serializes to a dict for
reports, validates itself against the layer's real shape and device when installed, and
then acts as a fast function ``output -> new output``. They are applied by
:func:`harness.hooks.intervening` (forward hooks, nothing copied); a list applies in order,
and several at one layer compose in that order.

Values are checked when an intervention is built, not when it is installed
(:mod:`harness.intervention_values`): NaN or infinite data (vectors, maps, means,
directions, coefficients, clamps) raises :class:`NonFiniteValueError` -- it would make
every probability NaN -- and a float or bool channel, a string coefficient or a bool cell
raises :class:`InterventionTypeError` rather than being coerced.

Shapes: a layer's *per-example shape* is its output shape without the batch dimension,
e.g. (32, 16, 16) for ``embedder.block2.res1.resadd_out`` at scale 1. Channel indices
address dimension 0 of it, cells ``(i, j)`` address (row, column) of the spatial map.
Tensors given "per example" carry a leading batch dimension that must match the batch.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import torch

# Callers import every error class from here, also those only the value checks raise.
from harness.intervention_errors import (
    CellOutOfRangeError,
    ChannelOutOfRangeError,
    DirectionError,  # noqa: F401
    InterventionDeviceError,
    InterventionError,
    InterventionShapeError,
    InterventionTypeError,  # noqa: F401
    NonFiniteDirectionError,  # noqa: F401
    NonFiniteValueError,  # noqa: F401
)
from harness.intervention_values import as_cells as _as_cells
from harness.intervention_values import as_channels as _as_channels
from harness.intervention_values import as_real as _as_real
from harness.intervention_values import as_tensor as _as_tensor
from harness.intervention_values import check_direction, check_finite

Apply = Callable[[torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------- helpers
def _who(iv: Intervention) -> str:
    """How an error names the intervention: its class, its data's name and its layer."""
    name = getattr(iv, "name", None)
    return f"{type(iv).__name__}{f' {name}' if name else ''} @ {iv.layer}"


def _per_example_cells(cells: Any) -> bool:
    return bool(cells) and isinstance(cells[0], tuple)


def describe_tensor(t: torch.Tensor) -> dict[str, Any]:
    """A tensor in a report: shape, norm and a short content hash."""
    host = t.detach().to("cpu", torch.float32).contiguous()  # one copy: the same on any device
    data = host.numpy().tobytes()
    return {
        "shape": list(t.shape),
        "norm": float(host.norm()),
        "sha256": hashlib.sha256(data).hexdigest()[:16],
    }


def describe_cells(cells: tuple[tuple[int, int], ...]) -> dict[str, Any]:
    """Per-example cells in a report: how many, and the distinct ones (up to eight)."""
    distinct = sorted(set(cells))
    return {"per_example": len(cells), "distinct": [list(c) for c in distinct[:8]]}


def _fmt_number(x: float) -> str:
    return f"{x:g}"


def _fmt_cells(cells: Any) -> str:
    return "each example's own cell" if _per_example_cells(cells) else f"cell {tuple(cells)}"


class LayerInfo:
    """What validation knows about a layer and the batch: label, per-example shape, device,
    and which example each batch row belongs to (``owners``; None: row i is example i)."""

    __slots__ = ("device", "label", "owner_rows", "owners", "shape")

    def __init__(
        self,
        label: str,
        shape: Sequence[int],
        device: torch.device,
        owners: torch.Tensor | None = None,
        owner_rows: Sequence[int] | None = None,
    ) -> None:
        self.label, self.shape, self.device = label, tuple(shape), torch.device(device)
        self.owners = owners
        #: ``owners`` on the host, for checks that must not wait for the device
        if owners is not None and owner_rows is None:
            owner_rows = owners.tolist()
        if owner_rows is not None and not isinstance(owner_rows, tuple):
            owner_rows = tuple(int(r) for r in owner_rows)
        self.owner_rows = owner_rows

    def select(self, t: torch.Tensor, what: str) -> torch.Tensor:
        """Per-example data for this batch: row ``i`` gets entry ``owners[i]``."""
        if self.owners is None:
            return t
        if self.owner_rows and max(self.owner_rows) >= t.shape[0]:
            raise InterventionShapeError(
                f"{what} has {t.shape[0]} per-example entries, but a batch row at "
                f"{self.label} belongs to example {max(self.owner_rows)}"
            )
        return t.index_select(0, self.owners)

    def select_cells(self, cells: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        """Per-example cells for this batch (see :meth:`select`)."""
        if self.owner_rows is None:
            return cells
        rows = self.owner_rows
        if rows and max(rows) >= len(cells):
            raise InterventionShapeError(
                f"{len(cells)} per-example cells, but a batch row at {self.label} belongs to "
                f"example {max(rows)}"
            )
        return tuple(cells[i] for i in rows)

    @property
    def channels(self) -> int:
        return self.shape[0]

    def check_channels(self, channels: Sequence[int]) -> torch.Tensor:
        if not self.shape:
            raise ChannelOutOfRangeError(f"{self.label} has a scalar output: no channels")
        for c in channels:
            if not 0 <= c < self.channels:
                raise ChannelOutOfRangeError(
                    f"channel {c} is out of range for {self.label}, which has "
                    f"{self.channels} channels (valid: 0..{self.channels - 1})"
                )
        return torch.tensor(channels, dtype=torch.long, device=self.device)

    def check_cells(self, cells: Any) -> None:
        if len(self.shape) != 3:
            raise CellOutOfRangeError(
                f"{self.label} has no spatial map (per-example shape {self.shape}); "
                "cell interventions need a (channels, H, W) layer"
            )
        h, w = self.shape[1], self.shape[2]
        for i, j in cells if _per_example_cells(cells) else (cells,):
            if not (0 <= i < h and 0 <= j < w):
                raise CellOutOfRangeError(
                    f"cell {(i, j)} is outside the {h} x {w} spatial map of {self.label} "
                    f"(rows 0..{h - 1}, columns 0..{w - 1})"
                )

    def check_device(self, t: torch.Tensor, what: str) -> torch.Tensor:
        if t.device != self.device:
            raise InterventionDeviceError(
                f"{what} is on {t.device} but the policy is on {self.device}; "
                "move it with intervention.to(device)"
            )
        return t

    def check_map_shape(self, t: torch.Tensor, tail: tuple[int, ...], what: str) -> bool:
        """True if ``t`` carries a leading batch dimension; raises if it fits neither way."""
        if tuple(t.shape) == tail:
            return False
        if t.ndim == len(tail) + 1 and tuple(t.shape[1:]) == tail:
            return True
        raise InterventionShapeError(
            f"{what} has shape {tuple(t.shape)}; {self.label} needs {tail} "
            f"(broadcast over the batch) or (batch, {', '.join(map(str, tail))}) per example"
        )


def _check_batch(out: torch.Tensor, n: int, what: str, label: str) -> None:
    if out.shape[0] != n:
        raise InterventionShapeError(
            f"{what} has {n} per-example rows but the batch at {label} has {out.shape[0]}"
        )


def _cell_index(cells: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    ij = torch.tensor(cells if _per_example_cells(cells) else [cells], device=device)
    return ij[:, 0], ij[:, 1]


# --------------------------------------------------------------------------- base
@dataclass(frozen=True, eq=False, repr=False)
class Intervention(ABC):
    """One edit of one layer's output. Subclasses are frozen dataclasses."""

    layer: str

    @property
    def kind(self) -> str:
        return _KIND_NAMES.get(type(self), type(self).__name__)

    def parts(self) -> tuple[Intervention, ...]:
        """Single-layer interventions this one consists of (itself, unless composite)."""
        return (self,)

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.layer for p in self.parts()))

    @abstractmethod
    def describe(self) -> str:
        """What it does, in words (also ``str(intervention)``)."""

    @abstractmethod
    def prepare(self, layer: LayerInfo) -> Apply:
        """Validate against the layer and return ``output -> new output``."""

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.describe()}>"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (tensors summarized by shape, norm and hash)."""
        out: dict[str, Any] = {"kind": self.kind, "description": self.describe()}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, torch.Tensor):
                out[f.name] = describe_tensor(v)
            elif isinstance(v, tuple) and _per_example_cells(v):
                out[f.name] = describe_cells(v)
            elif isinstance(v, tuple):
                out[f.name] = [list(x) if isinstance(x, tuple) else x for x in v]
            else:
                out[f.name] = v
        return out

    def to(self, device: str | torch.device) -> Intervention:
        """The same intervention with its tensors on ``device``."""
        changes = {
            f.name: getattr(self, f.name).to(device)
            for f in fields(self)
            if isinstance(getattr(self, f.name), torch.Tensor)
        }
        return replace(self, **changes) if changes else self


def _trusted(cls: type[Intervention], **values: Any) -> Any:
    """An instance of ``cls`` from values that an instance already validated and owns."""
    iv = object.__new__(cls)
    for k, v in values.items():
        object.__setattr__(iv, k, v)
    return iv


# --------------------------------------------------------------------------- kinds
@dataclass(frozen=True, eq=False, repr=False)
class AddVector(Intervention):
    """Add ``coeff * vector`` to the layer's output: the activation-addition edit.

    ``vector`` has the layer's per-example shape (same vector for every batch element) or
    a leading batch dimension (one vector per element).
    """

    vector: torch.Tensor
    coeff: float = 1.0
    name: str = "vector"

    def __post_init__(self) -> None:
        who = _who(self)
        vector = check_finite(_as_tensor(self.vector, "vector", who), "vector", who)
        object.__setattr__(self, "vector", vector)
        object.__setattr__(self, "coeff", _as_real(self.coeff, "coeff", who))

    def describe(self) -> str:
        return f"add {_fmt_number(self.coeff)} x {self.name} @ {self.layer}"

    def prepare(self, layer: LayerInfo) -> Apply:
        v = layer.check_device(self.vector, f"vector {self.name!r}")
        per_example = layer.check_map_shape(v, layer.shape, f"vector {self.name!r}")
        if per_example:
            v = layer.select(v, f"vector {self.name!r}")
        scaled = v * self.coeff
        if not per_example:
            return lambda out: out + scaled

        def add(out: torch.Tensor) -> torch.Tensor:
            _check_batch(out, scaled.shape[0], f"vector {self.name!r}", layer.label)
            return out + scaled

        return add


@dataclass(frozen=True, eq=False, repr=False)
class SetCell(Intervention):
    """Set one spatial cell of one or more channels to ``value`` (retargeting).

    ``cell`` is one ``(i, j)`` for the whole batch or a list of per-example cells; every
    batch element is edited at its own cell and keeps the rest of its own map.
    ``value`` is a number or one number per channel.
    """

    channels: tuple[int, ...]
    cell: Any
    value: Any

    def __post_init__(self) -> None:
        who = _who(self)
        object.__setattr__(self, "channels", _as_channels(self.channels, who))
        object.__setattr__(self, "cell", _as_cells(self.cell, who))
        value = self.value
        if (
            isinstance(value, str | bytes)
            or not isinstance(value, Iterable)
            or getattr(value, "ndim", None) == 0
        ):
            value = _as_real(value, "value", who)
        else:
            value = tuple(_as_real(v, f"value[{i}]", who) for i, v in enumerate(value))
            if len(value) != len(self.channels):
                raise InterventionShapeError(
                    f"{len(value)} values for {len(self.channels)} channels {list(self.channels)}"
                )
        object.__setattr__(self, "value", value)

    def describe(self) -> str:
        v = _fmt_number(self.value) if isinstance(self.value, float) else list(self.value)
        return (
            f"set channels {list(self.channels)} at {_fmt_cells(self.cell)} to {v} @ {self.layer}"
        )

    def prepare(self, layer: LayerInfo) -> Apply:
        ch = layer.check_channels(self.channels)
        layer.check_cells(self.cell)
        per_example = _per_example_cells(self.cell)
        cells = layer.select_cells(self.cell) if per_example else self.cell
        rows, cols = _cell_index(cells, layer.device)
        value = torch.as_tensor(self.value, dtype=torch.float32, device=layer.device)
        n = rows.shape[0]

        def set_cell(out: torch.Tensor) -> torch.Tensor:
            new = out.clone()
            if per_example:
                _check_batch(out, n, "per-example cells", layer.label)
                b = torch.arange(n, device=out.device)[:, None]
                new[b, ch[None, :], rows[:, None], cols[:, None]] = value.to(out.dtype)
            else:
                new[:, ch, rows[0], cols[0]] = value.to(out.dtype)
            return new

        return set_cell


@dataclass(frozen=True, eq=False, repr=False)
class ZeroChannels(Intervention):
    """Zero-ablate channels (their whole maps) for every batch element."""

    channels: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", _as_channels(self.channels, _who(self)))

    def describe(self) -> str:
        return f"zero channels {list(self.channels)} @ {self.layer}"

    def prepare(self, layer: LayerInfo) -> Apply:
        ch = layer.check_channels(self.channels)
        return lambda out: out.index_fill(1, ch, 0.0)


@dataclass(frozen=True, eq=False, repr=False)
class MeanAblateChannels(Intervention):
    """Replace channels by given means: one number per channel or one map per channel."""

    channels: tuple[int, ...]
    means: torch.Tensor

    def __post_init__(self) -> None:
        who = _who(self)
        object.__setattr__(self, "channels", _as_channels(self.channels, who))
        means = check_finite(_as_tensor(self.means, "means", who), "means", who)
        object.__setattr__(self, "means", means)

    def describe(self) -> str:
        return f"mean-ablate channels {list(self.channels)} @ {self.layer}"

    def prepare(self, layer: LayerInfo) -> Apply:
        ch = layer.check_channels(self.channels)
        m = layer.check_device(self.means, "means")
        k, spatial = len(self.channels), layer.shape[1:]
        if tuple(m.shape) == (k,):
            m = m.reshape(k, *([1] * len(spatial))).expand(k, *spatial)
        elif tuple(m.shape) != (k, *spatial):
            raise InterventionShapeError(
                f"means have shape {tuple(m.shape)}; {layer.label} needs ({k},) or {(k, *spatial)}"
            )

        def ablate(out: torch.Tensor) -> torch.Tensor:
            new = out.clone()
            new[:, ch] = m
            return new

        return ablate


@dataclass(frozen=True, eq=False, repr=False)
class ScaleChannels(Intervention):
    """Multiply channels by ``factor`` (k > 1 amplifies, 0 ablates, < 0 flips)."""

    channels: tuple[int, ...]
    factor: float

    def __post_init__(self) -> None:
        who = _who(self)
        object.__setattr__(self, "channels", _as_channels(self.channels, who))
        object.__setattr__(self, "factor", _as_real(self.factor, "factor", who))

    def describe(self) -> str:
        return f"scale channels {list(self.channels)} by {_fmt_number(self.factor)} @ {self.layer}"

    def prepare(self, layer: LayerInfo) -> Apply:
        ch = layer.check_channels(self.channels)
        k = self.factor

        def scale(out: torch.Tensor) -> torch.Tensor:
            new = out.clone()
            new[:, ch] = out[:, ch] * k
            return new

        return scale


@dataclass(frozen=True, eq=False, repr=False)
class ReplaceChannels(Intervention):
    """Replace channels with given maps (resampling / causal scrubbing).

    ``maps`` is (channels, H, W) for the whole batch or (batch, channels, H, W) per example.
    """

    channels: tuple[int, ...]
    maps: torch.Tensor
    name: str = "maps"

    def __post_init__(self) -> None:
        who = _who(self)
        object.__setattr__(self, "channels", _as_channels(self.channels, who))
        maps = check_finite(_as_tensor(self.maps, "maps", who), "maps", who)
        object.__setattr__(self, "maps", maps)

    def describe(self) -> str:
        return f"replace channels {list(self.channels)} with {self.name} @ {self.layer}"

    def prepare(self, layer: LayerInfo) -> Apply:
        ch = layer.check_channels(self.channels)
        maps = layer.check_device(self.maps, f"maps {self.name!r}")
        tail = (len(self.channels), *layer.shape[1:])
        per_example = layer.check_map_shape(maps, tail, f"maps {self.name!r}")
        if per_example:
            maps = layer.select(maps, f"maps {self.name!r}")

        def replace_maps(out: torch.Tensor) -> torch.Tensor:
            if per_example:
                _check_batch(out, maps.shape[0], f"maps {self.name!r}", layer.label)
            new = out.clone()
            new[:, ch] = maps
            return new

        return replace_maps


@dataclass(frozen=True, eq=False, repr=False)
class ReplaceChannelMapExceptCell(Intervention):
    """Set whole channel maps to ``background`` except one cell set to ``cell_value`` (CH4).

    ``cell`` may be one ``(i, j)`` or per-example cells, as in :class:`SetCell`.
    """

    channels: tuple[int, ...]
    cell: Any
    background: float
    cell_value: float

    def __post_init__(self) -> None:
        who = _who(self)
        object.__setattr__(self, "channels", _as_channels(self.channels, who))
        object.__setattr__(self, "cell", _as_cells(self.cell, who))
        object.__setattr__(self, "background", _as_real(self.background, "background", who))
        object.__setattr__(self, "cell_value", _as_real(self.cell_value, "cell_value", who))

    def describe(self) -> str:
        return (
            f"set channels {list(self.channels)} to {_fmt_number(self.background)} except "
            f"{_fmt_cells(self.cell)} = {_fmt_number(self.cell_value)} @ {self.layer}"
        )

    def prepare(self, layer: LayerInfo) -> Apply:
        set_cell = SetCell(self.layer, self.channels, self.cell, self.cell_value).prepare(layer)
        ch = layer.check_channels(self.channels)
        bg = self.background
        return lambda out: set_cell(out.index_fill(1, ch, bg))


@dataclass(frozen=True, eq=False, repr=False)
class AddVectors(Intervention):
    """Add ``coeff * vectors[label]`` at many layers at once (e.g. CV8, every layer).

    ``layer`` is a summary label; :meth:`parts` gives one :class:`AddVector` per layer.
    """

    vectors: Mapping[str, torch.Tensor]
    coeff: float = 1.0
    name: str = "vectors"

    def __init__(
        self, vectors: Mapping[str, torch.Tensor], coeff: float = 1.0, name: str = "vectors"
    ) -> None:
        if not vectors:
            raise InterventionError("AddVectors needs at least one layer")
        object.__setattr__(self, "layer", f"{len(vectors)} layers")
        object.__setattr__(self, "name", name)
        who = _who(self)
        frozen = {
            str(k): check_finite(_as_tensor(v, f"vector at {k}", who), f"vector at {k}", who)
            for k, v in vectors.items()
        }
        object.__setattr__(self, "vectors", frozen)
        object.__setattr__(self, "coeff", _as_real(coeff, "coeff", who))

    def parts(self) -> tuple[Intervention, ...]:
        # built from checked, owned data: skip AddVector's copy and check (parts() runs
        # every time the composite is installed)
        return tuple(
            _trusted(AddVector, layer=label, vector=v, coeff=self.coeff, name=self.name)
            for label, v in self.vectors.items()
        )

    def describe(self) -> str:
        labels = list(self.vectors)
        shown = ", ".join(labels[:3]) + (", ..." if len(labels) > 3 else "")
        return f"add {_fmt_number(self.coeff)} x {self.name} @ {len(labels)} layers ({shown})"

    def prepare(self, layer: LayerInfo) -> Apply:
        del layer  # it has no single layer: its parts() are installed instead
        raise InterventionError("AddVectors spans several layers; install it via its parts()")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "description": self.describe(),
            "coeff": self.coeff,
            "name": self.name,
            "vectors": {k: describe_tensor(v) for k, v in self.vectors.items()},
        }

    def to(self, device: str | torch.device) -> AddVectors:
        return AddVectors({k: v.to(device) for k, v in self.vectors.items()}, self.coeff, self.name)


@dataclass(frozen=True, eq=False, repr=False)
class ProjectOut(Intervention):
    """Remove the component along ``direction`` from the layer's output at every cell:
    ``x - u (u . x)``, ``u`` the unit direction (the activation-space twin of a kernel edit,
    :mod:`harness.analysis.kernel_edit`). ``direction`` is one ``(C,)`` vector or one per
    example, ``(batch, C)``."""

    direction: torch.Tensor
    name: str = "direction"

    def __post_init__(self) -> None:
        who = _who(self)
        t = _as_tensor(self.direction, "direction", who)
        if t.ndim not in (1, 2):
            raise InterventionShapeError(
                f"direction {self.name!r} must be (C,) or (batch, C), got {tuple(t.shape)}"
            )
        object.__setattr__(self, "direction", check_direction(t, who))

    def describe(self) -> str:
        return f"project {self.name} out @ {self.layer}"

    def prepare(self, layer: LayerInfo) -> Apply:
        if len(layer.shape) < 1:
            raise InterventionShapeError(f"{layer.label} has a scalar output: no channels")
        d = layer.check_device(self.direction, f"direction {self.name!r}")
        if d.ndim == 2:
            d = layer.select(d, f"direction {self.name!r}")
        rows = d if d.ndim == 2 else d[None]
        if rows.shape[1] != layer.channels:
            raise InterventionShapeError(
                f"direction {self.name!r} has {rows.shape[1]} entries but the layer has "
                f"{layer.channels} channels"
            )
        # finite and non-zero since construction: normalize every row at once, in float64
        # as :func:`~harness.intervention_values.as_direction` does, on the device (no copy
        # to the host and back)
        u64 = rows.detach().double()
        u = (u64 / u64.norm(dim=1, keepdim=True)).float()
        ub = u.reshape(len(u), -1, *(1,) * (len(layer.shape) - 1))

        def project(out: torch.Tensor) -> torch.Tensor:
            if d.ndim == 2 and out.shape[0] != len(u):
                raise InterventionShapeError(
                    f"{len(u)} per-example directions but the batch at {layer.label} has "
                    f"{out.shape[0]} rows"
                )
            return out - ub * (out * ub).sum(1, keepdim=True)

        return project


_KIND_NAMES: dict[type, str] = {
    AddVector: "add_vector",
    SetCell: "set_cell",
    ZeroChannels: "zero_channels",
    MeanAblateChannels: "mean_ablate_channels",
    ScaleChannels: "scale_channels",
    ReplaceChannels: "replace_channels",
    ReplaceChannelMapExceptCell: "replace_channel_map_except_cell",
    AddVectors: "add_vectors",
    ProjectOut: "project_out",
}


def flatten(interventions: Intervention | Iterable[Intervention]) -> list[Intervention]:
    """Single-layer parts of one intervention or a list of them, in application order."""
    items = [interventions] if isinstance(interventions, Intervention) else list(interventions)
    out: list[Intervention] = []
    for iv in items:
        if not isinstance(iv, Intervention):
            raise InterventionError(f"not an intervention: {iv!r}")
        out.extend(iv.parts())
    return out
