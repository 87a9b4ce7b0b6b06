"""Holm's adjustment across the claims of one run (statsmodels ``multipletests``).

Each claim's verdict is stated at its own alpha; the report shows the Holm-adjusted
p-value next to the raw one, so a reader can see which claims survive family-wise control.
Claims without a p-value (errors) are left out of the family.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values in the input order; None stays None."""
    present = [i for i, p in enumerate(pvalues) if p is not None and not math.isnan(float(p))]
    adjusted: list[float | None] = [None] * len(pvalues)
    if not present:
        return adjusted
    from statsmodels.stats.multitest import multipletests  # slow import, needed at the end

    raw = np.array([float(pvalues[i]) for i in present])  # type: ignore[arg-type]
    if np.any((raw < 0) | (raw > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {raw.tolist()}")
    _, corrected, _, _ = multipletests(raw, method="holm")
    for i, p in zip(present, corrected, strict=True):
        adjusted[i] = float(p)
    return adjusted
