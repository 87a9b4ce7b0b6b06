"""Group-sequential sampling with Lan-DeMets O'Brien-Fleming-type alpha spending.

Why this method: claims are evaluated in rounds of mazes with a hard budget cap, i.e. a
known maximum sample and a handful of planned looks -- exactly the group-sequential
setting. O'Brien-Fleming-type spending keeps almost all of alpha for the final look, so a
run that reaches the budget loses almost no power compared with a fixed-size test, while
overwhelming effects (CV1's drop from 0.81 to 0.03) stop after the first round or two.
Anytime-valid confidence sequences would allow unplanned looks, but they are wider at every
n (paying for infinitely many looks we never take) and the usual closed forms need bounded
or sub-Gaussian data, which per-unit slopes or log ratios are not.

How: at information fractions t_k = n_k / n_max, the cumulative one-sided error spent is
alpha(t) = 2 - 2 Phi(z_{1 - alpha/2} / sqrt(t)). The critical values c_k solve
P(Z_1 < c_1, ..., Z_{k-1} < c_{k-1}, Z_k >= c_k) = alpha(t_k) - alpha(t_{k-1}) for the
canonical joint normal with corr(Z_i, Z_j) = sqrt(t_i / t_j), computed with scipy's
multivariate normal CDF (seeded, so boundaries are reproducible) and ``brentq``. Look k then
uses the nominal level alpha_k = 1 - Phi(c_k) for both one-sided decisions (support and
refute), so each error stays at most alpha over all looks; t-test p-values are compared
with the nominal levels (the usual nominal-p approach, checked by simulation in the tests).
The p-value reported after a sequential run is the stage-wise ordering p-value, which is
below alpha exactly when the claim was supported and is valid for Holm's adjustment.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import optimize, stats

from harness.stats.verdict import INCONCLUSIVE_CODE

_MVN_SEED = 12345
_MVN_MAXPTS = 20_000


def obrien_fleming_spending(t: np.ndarray | float, alpha: float) -> np.ndarray:
    """Cumulative one-sided alpha spent by information fraction t (Lan-DeMets OBF type)."""
    t = np.asarray(t, dtype=float)
    z = stats.norm.isf(alpha / 2.0)
    with np.errstate(divide="ignore"):
        return 2.0 - 2.0 * stats.norm.cdf(z / np.sqrt(t))


def _correlation(info: tuple[float, ...]) -> np.ndarray:
    t = np.asarray(info)
    return np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))


def _tail_after_continuing(crit: list[float], corr: np.ndarray, z: float) -> float:
    """P(Z_1 < c_1, ..., Z_{k-1} < c_{k-1}, Z_k >= z) with k = len(crit) + 1."""
    k = len(crit) + 1
    if k == 1:
        return float(stats.norm.sf(z))
    upper = np.array([*crit, np.inf])
    lower = np.array([-np.inf] * (k - 1) + [z])
    return float(
        stats.multivariate_normal.cdf(
            upper,
            mean=np.zeros(k),
            cov=corr[:k, :k],
            lower_limit=lower,
            maxpts=_MVN_MAXPTS * k,
            abseps=1e-7,
            releps=1e-5,
            rng=np.random.default_rng(_MVN_SEED),
        )
    )


@cache
def _critical_values(alpha: float, info: tuple[float, ...]) -> tuple[float, ...]:
    spent = obrien_fleming_spending(np.array(info), alpha)
    increments = np.diff(np.concatenate([[0.0], spent]))
    corr = _correlation(info)
    crit: list[float] = []
    for k, target in enumerate(increments):
        if k == 0:
            crit.append(float(stats.norm.isf(target)))
            continue

        def excess(c: float, k: int = k, target: float = float(target)) -> float:
            return _tail_after_continuing(crit[:k], corr, c) - target

        crit.append(float(optimize.brentq(excess, -1.0, 12.0, xtol=1e-6)))
    return tuple(crit)


@dataclass(frozen=True)
class GroupSequentialDesign:
    """Planned looks (information fractions, last = 1) at one-sided level alpha."""

    alpha: float
    information: tuple[float, ...]

    def __post_init__(self) -> None:
        info = tuple(float(t) for t in self.information)
        if not info or any(b <= a for a, b in itertools.pairwise(info)):
            raise ValueError(f"information fractions must increase, got {info}")
        if not (info[0] > 0.0 and math.isclose(info[-1], 1.0)):
            raise ValueError(f"information fractions must lie in (0, 1] and end at 1, got {info}")
        if not 0.0 < self.alpha < 0.5:
            raise ValueError(f"alpha must lie in (0, 0.5), got {self.alpha}")
        object.__setattr__(self, "information", info)

    @classmethod
    def for_sizes(cls, alpha: float, sizes: tuple[int, ...]) -> GroupSequentialDesign:
        """Design whose looks are at these cumulative sample sizes (the last is the cap)."""
        return cls(alpha, tuple(s / sizes[-1] for s in sizes))

    @property
    def looks(self) -> int:
        return len(self.information)

    @property
    def critical_z(self) -> tuple[float, ...]:
        return _critical_values(float(self.alpha), self.information)

    @property
    def nominal_alphas(self) -> tuple[float, ...]:
        """Per-look one-sided nominal levels: compare each look's p-values with these."""
        return tuple(float(stats.norm.sf(c)) for c in self.critical_z)

    @property
    def cumulative_alpha(self) -> tuple[float, ...]:
        spent = obrien_fleming_spending(np.array(self.information), self.alpha)
        return tuple(float(a) for a in spent)

    def stagewise_pvalue(self, look: int, p_nominal: float) -> float:
        """Stage-wise ordering p-value when the run stopped at ``look`` (0-based).

        P(crossing at an earlier look) + P(continuing to this look and being at least as
        extreme there), under the null. Below alpha exactly when the look's nominal p is
        below its nominal level.
        """
        if not 0 <= look < self.looks:
            raise ValueError(f"look must be in 0..{self.looks - 1}, got {look}")
        if look == 0:
            return float(p_nominal)
        z = float(stats.norm.isf(min(max(p_nominal, 1e-300), 1.0)))
        earlier = self.cumulative_alpha[look - 1]
        corr = _correlation(self.information)
        tail = _tail_after_continuing(list(self.critical_z[:look]), corr, z)
        return float(min(1.0, earlier + tail))


#: The smallest look of a sequential design (see :func:`look_sizes`).
MIN_PER_LOOK = 20


def look_sizes(n_max: int, rounds: int, min_per_look: int = MIN_PER_LOOK) -> tuple[int, ...]:
    """Cumulative sizes of equally spaced looks ending at ``n_max``.

    Fewer looks than ``rounds`` when a round would hold under ``min_per_look`` units. An
    early look tests at a far-out nominal level (O'Brien-Fleming), where a t statistic on
    few skewed per-maze effects strays furthest from the normal theory behind the
    boundaries: on the graded planted policies a trend claim at its threshold was refuted
    in 10.7 % of sequential runs with a first look at 10 mazes (benchmarks/calibrate_claims.py),
    so no look is taken before 20 units.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    if n_max < 3:
        raise ValueError(f"the budget must be >= 3 units, got {n_max}")
    looks = max(1, min(rounds, n_max // min_per_look))
    return tuple(math.ceil(n_max * k / looks) for k in range(1, looks + 1))


def first_decisive(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stop at the first decisive look: (final verdict code, index of the stopping look).

    ``codes`` has looks on the last axis; a run that never decides ends inconclusive at the
    last look. This is the stopping rule the sampler applies one look at a time.
    """
    codes = np.asarray(codes)
    decisive = codes != INCONCLUSIVE_CODE
    any_decisive = decisive.any(axis=-1)
    stop = np.where(any_decisive, decisive.argmax(axis=-1), codes.shape[-1] - 1)
    final = np.take_along_axis(codes, stop[..., None], axis=-1)[..., 0]
    return np.where(any_decisive, final, INCONCLUSIVE_CODE), stop
