"""Number formatting shared by verdict reasons, failure messages and reports."""

from __future__ import annotations

import math


def fmt(value: float | None, digits: int = 3) -> str:
    """A short, stable rendering: 3 significant digits, 'inf', 'n/a' for missing."""
    if value is None:
        return "n/a"
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def fmt_p(p: float | None) -> str:
    if p is None or math.isnan(float(p)):
        return "n/a"
    return f"{float(p):.2g}" if p < 0.001 else f"{float(p):.3f}"


def fmt_interval(ci: tuple[float, float], digits: int = 3) -> str:
    return f"[{fmt(ci[0], digits)}, {fmt(ci[1], digits)}]"


def fmt_level(level: float) -> str:
    pct = 100 * float(level)
    return f"{pct:.0f}%" if abs(pct - round(pct)) < 1e-9 else f"{pct:.3g}%"
