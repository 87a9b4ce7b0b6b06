"""Make a policy blind to one channel-space direction by editing the kernel that reads it.

``W' = W (I - u u^T)`` on the input-channel axis of a convolution means the convolution
ignores the component of its input along ``u``. That equals projecting ``u`` out of the
activations it reads (``x - u (u . x)`` at every cell; zero padding projects to zero), but
only if that convolution is the activation's *only* reader. So the edit is defined for layers
read by exactly one convolution, nothing else:

- ``<block>.resN.relu1_out`` -> ``<block>.resN.conv1``; ``<block>.resN.relu2_out`` -> ``conv2``;
- an IMPALA block's output (``embedder.blockI_out``, ``...blockI.res2_out``,
  ``...blockI.res2.resadd_out``) -> ``embedder.block{I+1}.conv``.

A residual-stream layer inside a block, such as ``embedder.block2.res1.resadd_out`` (L), is
read by the next residual block's ReLU (then ``conv1``) *and* by its skip connection; no
kernel edit equals projecting there (``relu(Px) != P relu(x)``), so it is rejected with the
alternatives. To make a policy ignore a direction of L, edit both convolutions that read L's
stream: ``embedder.block2.res2.relu1_out`` (the positive part of L, read by ``res2.conv1``)
and ``embedder.block2.res2.resadd_out`` (block 2's output, read by ``block3.conv``); the
equivalent activation edit projects at those two layers (:func:`project_out_interventions`).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from harness.hooks import SUFFIX, resolve_label
from harness.interventions import Apply, InterventionError, InterventionShapeError, LayerInfo
from harness.interventions import Intervention as _Intervention


class KernelEditError(InterventionError):
    """A layer whose reader is not a single convolution, or a bad direction."""


def as_direction(direction: object, channels: int, what: str = "direction") -> torch.Tensor:
    """``direction`` as a float32 unit vector of length ``channels`` (clear errors otherwise)."""
    u = torch.as_tensor(direction).detach().to("cpu", torch.float64).flatten()
    if torch.as_tensor(direction).ndim != 1:
        raise InterventionShapeError(
            f"{what} must be a 1-D vector of {channels} channel weights, "
            f"got shape {tuple(torch.as_tensor(direction).shape)}"
        )
    if u.numel() != channels:
        raise InterventionShapeError(
            f"{what} has {u.numel()} entries but the layer has {channels} channels"
        )
    if not torch.isfinite(u).all():
        raise KernelEditError(f"{what} has non-finite entries")
    norm = u.norm()
    if norm == 0:
        raise KernelEditError(f"{what} is the zero vector: there is no direction to project out")
    return (u / norm).float()


def _conv_readers(policy: nn.Module) -> dict[str, str]:
    """Module name whose output only one convolution reads -> that convolution's name."""
    out: dict[str, str] = {}
    names = {m: n for n, m in policy.named_modules()}
    for name, m in policy.named_modules():
        if all(hasattr(m, a) for a in ("relu1", "conv1", "relu2", "conv2", "resadd")):
            out[f"{name}.relu1"] = f"{name}.conv1"
            out[f"{name}.relu2"] = f"{name}.conv2"
    embedder = getattr(policy, "embedder", None)
    blocks = [getattr(embedder, f"block{i}", None) for i in (1, 2, 3)] if embedder else []
    for block, nxt in itertools.pairwise(blocks):
        if block is None or nxt is None or not hasattr(nxt, "conv"):
            continue
        reader = names[nxt.conv]
        b = names[block]
        for source in (b, f"{b}.res2", f"{b}.res2.resadd"):
            out[source] = reader
    return out


def reading_conv(policy: nn.Module, layer: str) -> str:
    """The name of the one convolution that reads ``layer`` (hook label), or an error saying
    why there is none and which layers qualify."""
    label = resolve_label(policy, layer)
    readers = _conv_readers(policy)
    name = label.removesuffix(SUFFIX)
    if name not in readers:
        ok = ", ".join(f"{k}{SUFFIX}" for k in readers)
        raise KernelEditError(
            f"{layer!r} is not read by a single convolution (a residual-stream layer also feeds "
            f"a ReLU and a skip connection), so no kernel edit equals projecting there; "
            f"layers a kernel edit supports: {ok}"
        )
    return readers[name]


def _conv(policy: nn.Module, name: str) -> nn.Conv2d:
    conv = dict(policy.named_modules())[name]
    if not isinstance(conv, nn.Conv2d):  # pragma: no cover - guarded by _conv_readers
        raise KernelEditError(f"{name} is not a Conv2d")
    return conv


def project_out_of_kernels(
    policy: nn.Module, layers: str | Sequence[str], direction: object
) -> nn.Module:
    """A deep copy of ``policy`` whose convolution reading each of ``layers`` ignores
    ``direction`` (``W' = W (I - u u^T)``, biases unchanged); ``policy`` is untouched."""
    layers = [layers] if isinstance(layers, str) else list(layers)
    if not layers:
        raise KernelEditError("name at least one layer")
    targets = [reading_conv(policy, layer) for layer in layers]
    edited = copy.deepcopy(policy)
    with torch.no_grad():
        for name in dict.fromkeys(targets):
            conv = _conv(edited, name)
            u = as_direction(direction, conv.in_channels).to(conv.weight)
            w = conv.weight
            along = torch.einsum("oikl,i->okl", w, u)
            w.sub_(along[:, None] * u[None, :, None, None])
    return edited


@dataclass(frozen=True, eq=False, repr=False)
class ProjectOut(_Intervention):
    """Remove the component along ``direction`` from the layer's output at every cell:
    ``x - u (u . x)``, ``u`` the unit direction (the activation-space twin of the kernel
    edit). ``direction`` is one ``(C,)`` vector or one per example, ``(batch, C)``."""

    direction: torch.Tensor
    name: str = "direction"

    def __post_init__(self) -> None:
        t = torch.as_tensor(self.direction).detach().to(torch.float32).clone()
        if t.ndim not in (1, 2):
            raise InterventionShapeError(
                f"direction {self.name!r} must be (C,) or (batch, C), got {tuple(t.shape)}"
            )
        object.__setattr__(self, "direction", t)

    @property
    def kind(self) -> str:
        return "project_out"

    def describe(self) -> str:
        return f"project {self.name} out @ {self.layer}"

    def prepare(self, layer: LayerInfo) -> Apply:
        if len(layer.shape) < 1:
            raise InterventionShapeError(f"{layer.label} has a scalar output: no channels")
        d = layer.check_device(self.direction, f"direction {self.name!r}")
        rows = d if d.ndim == 2 else d[None]
        u = torch.stack([as_direction(r, layer.channels, f"direction {self.name!r}") for r in rows])
        ub = u.to(d.device).reshape(len(u), -1, *(1,) * (len(layer.shape) - 1))

        def project(out: torch.Tensor) -> torch.Tensor:
            if d.ndim == 2 and out.shape[0] != len(u):
                raise InterventionShapeError(
                    f"{len(u)} per-example directions but the batch at {layer.label} has "
                    f"{out.shape[0]} rows"
                )
            return out - ub * (out * ub).sum(1, keepdim=True)

        return project


def project_out_interventions(
    layers: str | Sequence[str], direction: object, name: str = "direction"
) -> list[ProjectOut]:
    """The activation edits equal to :func:`project_out_of_kernels` on the same layers."""
    layers = [layers] if isinstance(layers, str) else list(layers)
    return [ProjectOut(layer, torch.as_tensor(direction), name) for layer in layers]
