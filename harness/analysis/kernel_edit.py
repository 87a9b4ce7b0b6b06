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
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.hooks import SUFFIX, resolve_label
from harness.intervention_values import as_direction, check_direction
from harness.interventions import InterventionError, ProjectOut, describe_tensor


class KernelEditError(InterventionError):
    """A layer whose reader is not a single convolution (or no layer at all)."""


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


def project_out_interventions(
    layers: str | Sequence[str],
    direction: object,
    name: str = "direction",
    device: str | torch.device = "cpu",
) -> list[ProjectOut]:
    """The activation edits equal to :func:`project_out_of_kernels` on the same layers, with
    the direction on ``device`` (the policy's: hooks refuse data on another device)."""
    layers = [layers] if isinstance(layers, str) else list(layers)
    u = torch.as_tensor(np.asarray(direction, dtype=np.float32)).to(device)
    return [ProjectOut(layer, u, name) for layer in layers]


@dataclass(frozen=True, eq=False)
class KernelEdit:
    """A policy edit as data: the convolutions that read ``layers`` ignore ``direction``.

    It prints and serializes like an intervention; :meth:`apply` makes the edited copy (the
    experiments cache it per policy under :meth:`key`).
    """

    layers: tuple[str, ...]
    direction: np.ndarray
    name: str = "direction"

    def __post_init__(self) -> None:
        if not self.layers:
            raise KernelEditError("name at least one layer")
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "direction", np.asarray(self.direction, dtype=float).copy())
        # refused now, not when an experiment first applies it to a policy
        who = f"KernelEdit {self.name} @ {', '.join(self.layers)}"
        check_direction(torch.from_numpy(self.direction).reshape(-1), who)

    @property
    def key(self) -> tuple:
        return ("kernel_edit", self.layers, self.direction.tobytes())

    def apply(self, policy: nn.Module) -> nn.Module:
        return project_out_of_kernels(policy, self.layers, self.direction)

    def describe(self) -> str:
        return f"edit the kernels reading {', '.join(self.layers)} to ignore {self.name}"

    def __str__(self) -> str:
        return self.describe()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "kernel_edit",
            "description": self.describe(),
            "layers": list(self.layers),
            "name": self.name,
            "direction": describe_tensor(torch.as_tensor(self.direction)),
        }
