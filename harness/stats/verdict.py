"""Verdicts: supported / refuted / inconclusive, decided from two one-sided p-values.

Every verdict form reduces to two one-sided questions asked at level alpha:

* ``p_support``: evidence that the claim holds (the estimate lies in the claimed region);
* ``p_refute``: evidence that it does not (the estimate lies outside the claimed region).

``supported`` when ``p_support < alpha``, ``refuted`` when ``p_refute < alpha``, otherwise
``inconclusive``. For t-based forms this is the same as asking where the (1 - 2 alpha)
two-sided interval lies: entirely inside the claimed region, entirely outside, or straddling
its edge. Both errors are therefore controlled at alpha at the edge of the region. The rule
lives in :func:`decide`, which is vectorized so the calibration simulations run it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

SUPPORTED_CODE = 1
INCONCLUSIVE_CODE = 0
REFUTED_CODE = -1


class VerdictKind(StrEnum):
    SUPPORTED = "supported"
    REFUTED = "refuted"
    INCONCLUSIVE = "inconclusive"

    @classmethod
    def from_code(cls, code: int) -> VerdictKind:
        return {
            SUPPORTED_CODE: cls.SUPPORTED,
            REFUTED_CODE: cls.REFUTED,
            INCONCLUSIVE_CODE: cls.INCONCLUSIVE,
        }[int(code)]


@dataclass(frozen=True)
class Verdict:
    """A verdict and the reason for it, in words."""

    kind: VerdictKind
    reason: str

    @property
    def decisive(self) -> bool:
        return self.kind is not VerdictKind.INCONCLUSIVE

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.reason}"


def decide(p_support: np.ndarray | float, p_refute: np.ndarray | float, alpha: float) -> np.ndarray:
    """Verdict codes (1 supported, -1 refuted, 0 inconclusive); NaN p-values never decide."""
    ps = np.asarray(p_support, dtype=float)
    pr = np.asarray(p_refute, dtype=float)
    supported = np.nan_to_num(ps, nan=1.0) < alpha
    refuted = np.nan_to_num(pr, nan=1.0) < alpha
    return np.where(supported, SUPPORTED_CODE, np.where(refuted, REFUTED_CODE, INCONCLUSIVE_CODE))


def decide_one(p_support: float, p_refute: float | None, alpha: float) -> VerdictKind:
    """Scalar :func:`decide`."""
    code = decide(p_support, np.nan if p_refute is None else p_refute, alpha)
    return VerdictKind.from_code(int(code))
