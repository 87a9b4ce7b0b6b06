"""How the policy's arithmetic is set up on its device, and what a report says about it.

Out of the box, CUDA lets cuDNN convolutions use TF32 (inputs rounded to a 10-bit
mantissa) and may pick the fastest algorithm, deterministic or not. On the bundled policy
that moves probabilities by ~1e-3, enough to flip behavioural draws; on the planted policies
it breaks the exact indicators (emulated, :mod:`harness.policy.tf32`: the cheese indicator is
wrong in every render that shows the cheese), so their ground truth is gone; and two runs of
one checkpoint can differ. ``strict`` (the default) turns both off: IEEE fp32 and deterministic
algorithms (an operation without a deterministic CUDA kernel raises rather than varying).
``fast`` allows TF32, cuDNN autotuning and nondeterministic kernels for speed, and the report
says so. The CPU has nothing to choose: fp32 and deterministic kernels either way.

The flags are process-wide (torch keeps them globally); :func:`configure_numerics` sets them
once for the policy's device, and the report records the result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from harness.policy.device import resolve_device

STRICT, FAST = "strict", "fast"
NUMERICS = (STRICT, FAST)
#: cuBLAS needs a fixed workspace for deterministic results (set before its first use).
CUBLAS_WORKSPACE = ":4096:8"


class NumericsError(ValueError):
    """An unknown numerics mode."""


@dataclass(frozen=True)
class Numerics:
    """The arithmetic a run used: what the report's run header states."""

    mode: str
    device_type: str
    tf32: bool = False
    deterministic: bool = True
    cudnn_benchmark: bool = False

    @property
    def exact(self) -> bool:
        """Full fp32 and reproducible: planted ground truth holds exactly."""
        return not self.tf32 and self.deterministic

    def describe(self) -> str:
        if self.device_type != "cuda":
            extra = " (--numerics fast changes nothing here)" if self.mode == FAST else ""
            return f"{self.mode}: fp32 on the {self.device_type}, deterministic kernels{extra}"
        if self.exact:
            return "strict: IEEE fp32 (TF32 off), deterministic algorithms, no cuDNN autotuning"
        return (
            "fast: TF32 convolutions and matrix products, cuDNN autotuning and "
            "nondeterministic algorithms allowed; estimates can differ from a strict run in "
            "the last digits, behavioural draws can flip, and planted policies' ground truth "
            "is not exact"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "device_type": self.device_type,
            "tf32": self.tf32,
            "deterministic": self.deterministic,
            "cudnn_benchmark": self.cudnn_benchmark,
            "exact": self.exact,
            "description": self.describe(),
        }


def check_mode(mode: str) -> str:
    if mode not in NUMERICS:
        raise NumericsError(f"unknown numerics mode {mode!r}; use {' or '.join(NUMERICS)}")
    return mode


def _set_fp32_precision(precision: str) -> None:
    """TF32 on ("tf32") or off ("ieee") for cuDNN convolutions and cuBLAS products.

    torch >= 2.9 has per-backend ``fp32_precision`` settings and refuses reads that mix them
    with the legacy ``allow_tf32`` flags, so only one API is used, whichever exists.
    """
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        torch.backends.cudnn.conv.fp32_precision = precision
        torch.backends.cuda.matmul.fp32_precision = precision
    else:  # pragma: no cover - torch < 2.9
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"


def configure_numerics(device: torch.device, mode: str = STRICT) -> Numerics:
    """Set torch's precision and determinism flags for ``device`` (CUDA only) and say what
    they are."""
    check_mode(mode)
    if device.type != "cuda":
        return Numerics(mode, device.type)
    strict = mode == STRICT
    if strict:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    _set_fp32_precision("ieee" if strict else "tf32")
    torch.backends.cudnn.benchmark = not strict
    torch.backends.cudnn.deterministic = strict
    torch.use_deterministic_algorithms(strict)
    return Numerics(mode, "cuda", tf32=not strict, deterministic=strict, cudnn_benchmark=not strict)


def prepare_device(
    spec: str | torch.device | None = "auto", mode: str = STRICT
) -> tuple[torch.device, Numerics]:
    """Resolve ``spec`` (:func:`~harness.policy.device.resolve_device`) and set its numerics."""
    check_mode(mode)
    device = resolve_device(spec)
    return device, configure_numerics(device, mode)
