"""Number formatting shared by verdict reasons, failure messages and reports, as text and
as strict JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


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


def json_number(value: Any) -> float | int | None:
    """A JSON-safe number: non-finite floats become None (JSON has no NaN)."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)  # type: ignore[return-value]
    if isinstance(value, int | np.integer):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None


def json_ready(value: Any) -> Any:
    """Recursively convert numpy scalars/arrays and tuples into JSON-safe builtins."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, bool | np.bool_ | int | float | np.integer | np.floating):
        return json_number(value)
    return str(value)
