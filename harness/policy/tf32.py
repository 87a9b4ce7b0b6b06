"""A CPU-runnable stand-in for CUDA's TF32 convolutions and matrix products.

On Ampere and later GPUs, cuDNN convolutions (``torch.backends.cudnn.allow_tf32``, on by
default) and, when enabled, cuBLAS matrix products (``torch.backends.cuda.matmul.allow_tf32``)
run on tensor cores in TF32: each float32 operand is cut to 1 sign, 8 exponent and
10 explicit mantissa bits, the products (exact in float32: 11 x 11 significant bits) are
accumulated in float32, and the bias is added in float32. Whether a result -- above all the
exact 0/1 indicators of the planted policies (:mod:`harness.policy.planted`) -- survives
that cannot be checked on a CPU-only machine by running the GPU, so this module emulates
it: :func:`round_to_tf32` rounds a tensor to TF32 values, and inside :func:`emulate_tf32`
convolutions and matrix products see both operands rounded to TF32 while the real float32
kernel does the accumulation.

The rounding is round to nearest, ties to even (IEEE's default, CUTLASS's usual
conversion). Which one a given cuDNN kernel uses is not documented; some tensor-core paths
drop the 13 low bits instead (round toward zero), which at most doubles the per-operand
error (``2 ** -10`` instead of ``2 ** -11``, relative). The order of the float32
accumulation differs from any GPU kernel's, which only matters at float32 rounding level
(:func:`dot_error_bound` holds for every order). GPU algorithms that transform the
operands first (Winograd, FFT) have other error patterns: this is a model, not a replay.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

#: Explicit mantissa bits of TF32 and of float32.
TF32_MANTISSA_BITS = 10
FP32_MANTISSA_BITS = 23
#: Unit roundoff (half an ulp at 1, relative) of one rounding to TF32 and to float32.
TF32_UNIT_ROUNDOFF = 2.0 ** -(TF32_MANTISSA_BITS + 1)
FP32_UNIT_ROUNDOFF = 2.0 ** -(FP32_MANTISSA_BITS + 1)

_DROPPED = FP32_MANTISSA_BITS - TF32_MANTISSA_BITS  # 13 low bits
_HALF = (1 << (_DROPPED - 1)) - 1  # 0xFFF: just under half of the dropped range
_KEEP = ~((1 << _DROPPED) - 1)  # clears the 13 low bits (two's complement int32 mask)


def round_to_tf32(t: torch.Tensor) -> torch.Tensor:
    """Float32 ``t`` rounded to the nearest TF32 value (ties to even), still as float32.

    Works on the int32 bit pattern: adding ``0xFFF`` plus the lowest kept bit and clearing
    the 13 dropped bits is round-to-nearest-even on the magnitude (the sign bit is never
    reached: a carry out of the mantissa bumps the exponent, and past the largest finite
    TF32 value gives infinity, as IEEE rounding does). Infinities and NaNs are returned
    unchanged; zeros keep their sign.
    """
    if t.dtype != torch.float32:
        raise TypeError(f"round_to_tf32 expects a float32 tensor, got {t.dtype}")
    bits = t.view(torch.int32)
    lowest_kept = (bits >> _DROPPED) & 1
    rounded = ((bits + (_HALF + lowest_kept)) & _KEEP).view(torch.float32)
    return torch.where(torch.isfinite(t), rounded, t)


def dot_error_bound(
    abs_products: torch.Tensor | float,
    terms: int,
    tf32: bool,
    abs_bias: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """A rigorous bound on ``|computed - exact|`` of ``sum_i w_i x_i + b`` in float32, with
    ``abs_products = sum_i |w_i x_i|``, ``abs_bias = |b|`` and ``terms`` nonzero summands
    (the bias counted; exact zeros cost nothing in any summation order).

    float32: Higham's ``gamma_terms * (abs_products + abs_bias)``. TF32: each product's
    factors are first rounded, a relative error of at most ``(1 + u_tf32) ** 2 - 1`` (the
    product of two TF32 values is exact in float32), then the float32 accumulation adds its
    gamma on the perturbed terms; the bias is added in float32, unrounded.
    """
    u = FP32_UNIT_ROUNDOFF
    gamma = terms * u / (1 - terms * u)
    operand = (1 + TF32_UNIT_ROUNDOFF) ** 2 - 1 if tf32 else 0.0
    products = torch.as_tensor(abs_products, dtype=torch.float64)
    bias = torch.as_tensor(abs_bias, dtype=torch.float64)
    return operand * products + gamma * ((1 + operand) * products + bias)


def _rounded(x: Any) -> Any:
    if isinstance(x, torch.Tensor) and x.dtype == torch.float32:
        return round_to_tf32(x)
    return x


_Operands = tuple[tuple[int, str], ...]  # (position, keyword) of each factor to round
_INPUT_WEIGHT: _Operands = ((0, "input"), (1, "weight"))
_INPUT_OTHER: _Operands = ((0, "input"), (1, "other"))
_INPUT_MAT2: _Operands = ((0, "input"), (1, "mat2"))
_MAT1_MAT2: _Operands = ((1, "mat1"), (2, "mat2"))  # addmm(bias, mat1, mat2)

#: The ops whose factors TF32 rounds. The bias of conv2d / linear / addmm is not among them:
#: cuDNN and cuBLAS add it in float32.
_TF32_OPS: dict[Callable, _Operands] = {
    # what the IMPALA forward calls: nn.Conv2d -> F.conv2d (which is torch.conv2d),
    # nn.Linear -> F.linear (torch._C._nn.linear)
    torch.conv2d: _INPUT_WEIGHT,
    torch.nn.functional.linear: _INPUT_WEIGHT,
    # the matmul family (torch.backends.cuda.matmul.allow_tf32); unused by the policy
    torch.matmul: _INPUT_OTHER,
    torch.Tensor.matmul: _INPUT_OTHER,
    torch.Tensor.__matmul__: _INPUT_OTHER,
    torch.mm: _INPUT_MAT2,
    torch.Tensor.mm: _INPUT_MAT2,
    torch.bmm: _INPUT_MAT2,
    torch.Tensor.bmm: _INPUT_MAT2,
    torch.addmm: _MAT1_MAT2,
    torch.Tensor.addmm: _MAT1_MAT2,
}


class _EmulateTF32(TorchFunctionMode):
    """Rounds the float32 factors of convolutions and matrix products to TF32."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        operands = _TF32_OPS.get(func)
        if operands is not None:
            args = list(args)
            for position, keyword in operands:
                if position < len(args):
                    args[position] = _rounded(args[position])
                elif keyword in kwargs:
                    kwargs[keyword] = _rounded(kwargs[keyword])
        # the mode is off while its handler runs, so this is the real float32 kernel
        return func(*args, **kwargs)


@contextlib.contextmanager
def emulate_tf32() -> Iterator[None]:
    """``with emulate_tf32():`` -- conv2d, linear and matmul/mm/bmm/addmm compute on TF32-
    rounded float32 operands (bias and accumulation in float32), as CUDA tensor cores do
    with TF32 allowed. Other ops, and float64 or integer tensors, are untouched."""
    with _EmulateTF32():
        yield
