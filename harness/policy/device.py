"""Device selection and batched inference.

``"auto"`` means CUDA when this machine has it, else CPU; an explicit ``"cuda"`` on a
machine without CUDA is an error rather than a silent fallback, so a report never claims a
GPU run that was not. Inference runs under ``torch.inference_mode()`` in float32.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import torch
from torch import nn


class DeviceError(ValueError):
    """A device that does not exist on this machine, or an unparseable device string."""


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` (or None): cuda if available, else cpu. ``"cpu"``, ``"cuda"``, ``"cuda:1"``
    are checked against this machine."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(spec.strip().lower() if isinstance(spec, str) else spec)
    except (RuntimeError, TypeError) as e:
        raise DeviceError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:<index>") from e
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {spec!r} requested but CUDA is not available on this machine "
                "(use --device cpu or auto)"
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise DeviceError(f"device {spec!r} requested but only {count} CUDA device(s) exist")
        return dev
    raise DeviceError(f"unsupported device type {dev.type!r}; use auto, cpu or cuda[:index]")


def module_device(module: nn.Module) -> torch.device:
    """The device of a module's first parameter (cpu for parameter-free modules)."""
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


class PolicyOutput(NamedTuple):
    logits: torch.Tensor  # (N, 15)
    value: torch.Tensor  # (N,)


def _chunks(n: int, batch_size: int | None) -> Iterator[slice]:
    step = n if not batch_size or batch_size >= n else batch_size
    for start in range(0, n, max(step, 1)):
        yield slice(start, min(n, start + step))


def infer(policy: nn.Module, obs: torch.Tensor, batch_size: int | None = None) -> PolicyOutput:
    """Logits and values for observations (N, 3, 64, 64), float32, under inference mode.

    ``obs`` is moved to the policy's device; ``batch_size`` splits very large batches.
    """
    if obs.ndim != 4 or obs.shape[1] != 3:
        raise ValueError(f"observations must be (N, 3, H, W) float RGB, got {tuple(obs.shape)}")
    dev = module_device(policy)
    with torch.inference_mode():
        x = obs.to(dev, torch.float32)
        parts = [policy(x[part]) for part in _chunks(x.shape[0], batch_size)]
        if not parts:
            return PolicyOutput(torch.empty(0, 15, device=dev), torch.empty(0, device=dev))
        return PolicyOutput(torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]))
