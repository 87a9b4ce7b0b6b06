"""Input checks shared by the statistical functions (one message style, one error type)."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.stats.errors import StatsInputError

#: Fewest units any test accepts: below this no interval is meaningful.
MIN_UNITS = 3
ALTERNATIVES = ("two-sided", "less", "greater")


def as_sample(values: Any, name: str = "x", *, min_n: int = MIN_UNITS) -> np.ndarray:
    """A 1-D float array of finite per-unit values, or a StatsInputError saying what is wrong."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(f"{name} must be numeric per-unit values: {exc}") from None
    if arr.ndim != 1:
        raise StatsInputError(f"{name} must be 1-D (one value per unit), got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise StatsInputError(
            f"{name} has {bad.size} non-finite value(s) (NaN or inf) of {arr.size}, "
            f"at positions {bad[:10].tolist()}{' ...' if bad.size > 10 else ''}",
            positions=bad.tolist(),
        )
    if arr.size < min_n:
        raise StatsInputError(f"{name} needs at least {min_n} units, got {arr.size}")
    return arr


def is_constant(values: np.ndarray) -> np.ndarray:
    """True where a sample (last axis) is constant up to floating-point rounding.

    ``x - (x - 0.3)`` differs from 0.3 in the last bits; such a sample is constant, and
    scipy's moment-based tests would otherwise warn and return unstable statistics.
    """
    values = np.asarray(values, dtype=float)
    scale = np.maximum(1.0, np.max(np.abs(values), axis=-1))
    return np.ptp(values, axis=-1) <= 1e-12 * scale


def paired_differences(x: Any, y: Any | None, names: tuple[str, str] = ("x", "y")) -> np.ndarray:
    """``x - y`` per unit (or ``x`` itself when ``y`` is None), both checked."""
    a = as_sample(x, names[0])
    if y is None:
        return a
    b = as_sample(y, names[1])
    if a.shape != b.shape:
        raise StatsInputError(
            f"paired samples must have one value per unit each: {names[0]} has {a.size}, "
            f"{names[1]} has {b.size}"
        )
    return a - b


def check_alpha(alpha: float) -> float:
    """alpha as a float in (0, 0.5): the two one-sided decisions must not overlap."""
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        raise StatsInputError(f"alpha must be a number, got {alpha!r}") from None
    if not 0.0 < value < 0.5:
        raise StatsInputError(f"alpha must lie in (0, 0.5), got {value}")
    return value


def check_alternative(alternative: str) -> str:
    if alternative not in ALTERNATIVES:
        raise StatsInputError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    return alternative


def check_finite_number(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise StatsInputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(number):
        raise StatsInputError(f"{name} must be finite, got {number}")
    return number


def check_margin(margin: Any, center: float = 0.0) -> tuple[float, float]:
    """An equivalence margin: ``m > 0`` meaning ``center ± m``, or explicit ``(low, high)``."""
    if isinstance(margin, tuple | list):
        if len(margin) != 2:
            raise StatsInputError(f"margin must be m > 0 or (low, high), got {margin!r}")
        low = check_finite_number(margin[0], "margin low")
        high = check_finite_number(margin[1], "margin high")
        if not low < high:
            raise StatsInputError(f"margin (low, high) needs low < high, got {margin!r}")
        return low, high
    m = check_finite_number(margin, "margin")
    if m <= 0:
        raise StatsInputError(f"margin must be > 0, got {m}")
    return center - m, center + m
