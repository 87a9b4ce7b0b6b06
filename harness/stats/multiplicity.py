"""Holm's adjustment across the claims of one run (statsmodels ``multipletests``).

Each claim's verdict is stated at its own alpha; the report shows the Holm-adjusted
p-value next to the raw one, so a reader can see which claims survive family-wise control.
Holm's method is valid under arbitrary dependence between the p-values, so claims that
measured the same mazes may share a family.

Entries without a p-value (None or NaN) get no adjusted value. By default they also leave
the family; a caller that wants them to count -- a claim test that errored, or one whose
test gave no p-value, is still a hypothesis the run set out to test -- passes their number
as ``untested``: each is a member with p = 1, which never rejects but enlarges the family
exactly as much as if it had been tested and found nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def holm(pvalues: Sequence[float | None], *, untested: int = 0) -> list[float | None]:
    """Holm-adjusted p-values in the input order; None (and NaN) stays None.

    ``untested`` adds that many members with p = 1 to the family (they are not returned).
    """
    if untested < 0:
        raise ValueError(f"untested must be >= 0, got {untested}")
    present = [i for i, p in enumerate(pvalues) if p is not None and not math.isnan(float(p))]
    adjusted: list[float | None] = [None] * len(pvalues)
    if not present:
        return adjusted
    from statsmodels.stats.multitest import multipletests  # slow import, needed at the end

    raw = np.array([float(pvalues[i]) for i in present])  # type: ignore[arg-type]
    if np.any((raw < 0) | (raw > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {raw.tolist()}")
    family = np.concatenate([raw, np.ones(untested)])
    _, corrected, _, _ = multipletests(family, method="holm")
    for i, p in zip(present, corrected[: len(present)], strict=True):
        adjusted[i] = float(p)
    return adjusted
