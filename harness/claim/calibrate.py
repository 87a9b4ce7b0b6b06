"""End-to-end calibration of a claim on graded planted policies: its real error rates.

The synthetic calibration (:mod:`harness.stats.calibration`) checks the verdict forms on
idealized samples. This module measures what a user relies on: the claim as it runs, with
mazes, interventions, forward passes and its verdict form, on policies whose effect is known.

Design, per claim (a :class:`CalibrationCase`):

* **Population.** A pool of ``P`` consecutive units of the claim's own stream (level seeds
  from :data:`CALIBRATION_BASE_SEED`, disjoint from every other use), measured once per
  policy by the claim's real test function (:mod:`harness.claim.replay`). The pool is the
  population: its true effect is the claim's estimate on the whole pool, exactly.
* **Policies.** The graded planted family (:func:`harness.policy.planted.graded_name`): one
  knob (cheese gain, K cap, stop-without-cheese) is solved so that the pool's effect sits
  *exactly* at the claim's threshold or margin (the least favourable null; to 2 % of one
  sample's standard error), at a clear alternative, and at the mechanism-absent policy.
* **Samples.** ``R`` samples of the budget's ``n`` drawn from the pool with replacement (i.i.d.
  draws from the population; without replacement where the form splits units into training
  and held-out sets), each decided by the claim's own form through a fresh Measurement,
  fixed-size and ``--sequential``.
* **Alternative.** The effect the budget's ``n`` detects with power 0.8 by the nominal t
  design (statsmodels ``TTestPower``), in the per-unit spread at that effect; for a
  conjunction, every part that far inside its region (the weakest part sets the power). The
  profile's ``n`` is judged by the effect it was sized to detect; power is bounded at the
  budgets in :data:`POWER_BUDGETS` and reported at the quick one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from harness.claim.options import ClaimOptions
from harness.claim.replay import ClaimFunction, ClaimRun, run_claim
from harness.experiments.subject import Subject
from harness.maze.seed_ranges import CALIBRATION_BASE_SEED
from harness.policy import load_planted
from harness.policy.planted import graded_name
from harness.profiles import Profile
from harness.stats.design import sample_size
from harness.stats.result import Result
from harness.stats.verdict import VerdictKind

#: Target power at the alternative, and the per-claim alpha the rates are judged against.
POWER = 0.8
#: Budgets whose n is the profile's design (the post's sample sizes), so power is bounded
#: there; the quick budget is 0.3 x that n for smoke runs: its power is measured and
#: reported, with the n that would reach 0.8, but not held to 0.8.
POWER_BUDGETS = ("default", "paper")
#: How close the pool's effect must come to a target, in standard errors of one sample.
TARGET_TOLERANCE = 0.02


class CalibrationError(RuntimeError):
    """The graded family cannot reach a target effect for a claim in the knob's range."""


@dataclass(frozen=True)
class CalibrationCase:
    """One claim, the knob that grades its effect, and the policy without the mechanism."""

    label: str
    form: str
    claim: ClaimFunction
    knob: str  # a graded parameter: gain, cap, stop, bias
    search: tuple[float, float]  # knob values between which the targets lie
    fixed: Mapping[str, float] = field(default_factory=dict)  # the other graded parameters
    zero: Mapping[str, float] = field(default_factory=lambda: {"gain": 0.0})
    part: int | None = None  # for a conjunction: the component set at its boundary
    arguments: Mapping[str, Any] = field(default_factory=dict)
    case: str | None = None
    budgets: tuple[str, ...] = ("quick", "default")
    with_replacement: bool = True  # False where the form holds units out
    #: Cap on the pool size / largest n, for claims whose units are expensive (BH1).
    max_pool_factor: int | None = None


@dataclass(frozen=True)
class Effect:
    """A result's estimate and claimed boundary on the per-unit scale, and its direction."""

    estimate: float
    boundary: float
    direction: int  # +1: the claim says above the boundary; -1: below
    spread: float  # per-unit standard deviation
    units: int  # units the form used on the pool (held-out forms use fewer)

    @property
    def distance(self) -> float:
        return self.estimate - self.boundary


def effects_of(result: Result) -> list[Effect]:
    """One :class:`Effect` per part of a conjunction, or the result's own."""
    parts = getattr(result, "parts", None)
    return [effect_of(p) for p in parts] if parts else [effect_of(result)]


def standardized(e: Effect) -> float:
    """How far the effect lies inside the claimed region, in per-unit standard deviations."""
    if not e.spread > 0:
        return math.inf if e.direction * e.distance > 0 else -math.inf
    return e.direction * e.distance / e.spread


def effect_of(result: Result, part: int | None = None) -> Effect:
    """Where a result's estimate lies relative to its claimed region (log scale for ratios)."""
    r = result.parts[part] if part is not None else result  # type: ignore[attr-defined]
    direction = -1 if r.alternative == "less" else 1
    if r.margin is not None and r.threshold is None:
        boundary = r.margin[1] if direction < 0 else r.margin[0]
        estimate = r.estimate
    elif r.form == "ratio":
        estimate, boundary = math.log(r.estimate), math.log(r.threshold)
    else:
        estimate, boundary = r.estimate, r.threshold
    values = np.asarray(r.unit_values if r.unit_values is not None else [], dtype=float)
    spread = float(np.std(values, ddof=1)) if values.size > 1 else float("nan")
    return Effect(float(estimate), float(boundary), direction, spread, int(r.n))


@dataclass
class Calibrator:
    """Pools of one case, measured per knob value (cached), and the knob solved for targets."""

    case: CalibrationCase
    profile: Profile
    pool_units: int
    base_seed: int = CALIBRATION_BASE_SEED
    device: str = "cpu"
    runs: dict[tuple, ClaimRun] = field(default_factory=dict)
    log: Callable[[str], None] = print

    def strengths(self, value: float | None = None, zero: bool = False) -> dict[str, float]:
        if zero:
            return dict(self.case.zero)
        return {**self.case.fixed, self.case.knob: float(value)}  # type: ignore[arg-type]

    def run(self, strengths: Mapping[str, float]) -> ClaimRun:
        key = tuple(sorted(strengths.items()))
        if key not in self.runs:
            loaded = load_planted(graded_name(**strengths), self.device)
            subject = Subject.from_profile(loaded.policy, torch.device(self.device), self.profile)
            options = ClaimOptions(
                budget="default",
                seeds=self.pool_units,
                base_seed=self.base_seed,
                counterexamples=0,
                diagnostics=False,
            )
            self.runs[key] = run_claim(
                self.case.claim,
                subject,
                self.profile,
                options,
                self.case.case,
                **self.case.arguments,
            )
            e = self.effect(self.runs[key])
            self.log(
                f"  {self.case.label} {graded_name(**strengths)}: pool effect "
                f"{e.estimate:+.4f} (boundary {e.boundary:+.4f}) over {self.pool_units} units"
            )
        return self.runs[key]

    def effect(self, run: ClaimRun) -> Effect:
        return effect_of(run.result, self.case.part)

    def solve(self, gap_of: Callable[[ClaimRun], float], tolerance: float) -> float:
        """The knob value whose run's ``gap_of`` is within ``tolerance`` of zero (Brent's
        method; the pool is fixed, so the effect is a smooth function of the knob)."""
        from scipy.optimize import brentq

        def gap(value: float) -> float:
            g = gap_of(self.run(self.strengths(value)))
            return 0.0 if abs(g) <= tolerance else g

        lo, hi = self.case.search
        g_lo, g_hi = gap(lo), gap(hi)
        if g_lo == 0.0:
            return lo
        if g_hi == 0.0:
            return hi
        if np.sign(g_lo) == np.sign(g_hi):
            raise CalibrationError(
                f"{self.case.label}: the {self.case.knob} range {lo}..{hi} does not reach the "
                f"target (gaps {g_lo:+.4f}, {g_hi:+.4f})"
            )
        return float(brentq(gap, lo, hi, xtol=1e-6, rtol=1e-9, maxiter=40))


@dataclass(frozen=True)
class Rates:
    """Verdict shares over ``replicates`` samples, and the mean sample size used."""

    supported: float
    refuted: float
    inconclusive: float
    mean_n: float
    replicates: int

    def to_dict(self) -> dict[str, float]:
        return {
            "supported": self.supported,
            "refuted": self.refuted,
            "inconclusive": self.inconclusive,
            "mean_n": self.mean_n,
            "replicates": self.replicates,
        }


def verdict_rates(
    run: ClaimRun,
    n: int,
    replicates: int,
    *,
    sequential: bool = False,
    with_replacement: bool = True,
    seed: int = 0,
) -> Rates:
    """The claim's verdicts on ``replicates`` samples of ``n`` units from the run's pool."""
    pool = np.asarray(run.values.seeds)
    if not with_replacement and n > pool.size:
        raise ValueError(f"cannot draw {n} distinct units from a pool of {pool.size}")
    rng = np.random.default_rng([seed, n])
    kinds, sizes = [], []
    for _ in range(replicates):
        units = rng.choice(pool, size=n, replace=with_replacement)
        result = run.replay([int(u) for u in units], sequential=sequential)
        kinds.append(result.kind)
        sizes.append(result.n if result.sample is None else result.sample.n)
    share = {k: sum(v is k for v in kinds) / replicates for k in VerdictKind}
    return Rates(
        share[VerdictKind.SUPPORTED],
        share[VerdictKind.REFUTED],
        share[VerdictKind.INCONCLUSIVE],
        float(np.mean(sizes)),
        replicates,
    )


def detectable_effect(n: int, alpha: float, power: float = POWER) -> float:
    """The standardized effect a one-sided t test on ``n`` units detects with ``power``."""
    from statsmodels.stats.power import TTestPower

    return float(TTestPower().solve_power(nobs=n, alpha=alpha, power=power, alternative="larger"))


def rate_bound(rate: float, replicates: int) -> float:
    """Three binomial standard errors of a rate estimated from ``replicates`` samples."""
    return 3.0 * math.sqrt(rate * (1.0 - rate) / replicates)


@dataclass(frozen=True)
class PointResult:
    """The rates at one policy of one case and budget, and the bound they are judged by."""

    case: str
    budget: str
    point: str  # boundary | zero | alternative
    policy: str
    true_effect: float
    boundary: float
    n: int
    fixed: Rates
    sequential: Rates
    checks: Mapping[str, tuple[float, float, str]]  # name -> (value, bound, "<=" or ">=")
    #: At an alternative whose power falls short: the sample size that reaches 0.8 there
    #: (None: it was reached, or not within 4 x n).
    n_for_power: int | None = None

    @property
    def failed(self) -> list[str]:
        return [
            name
            for name, (value, bound, op) in self.checks.items()
            if (op == "<=" and value > bound) or (op == ">=" and value < bound)
        ]


def budget_sizes(case: CalibrationCase, profile: Profile) -> dict[str, int]:
    n = profile.claim(case.claim.spec.id).n
    return {b: sample_size(b, n) for b in case.budgets}


def calibrate_case(
    case: CalibrationCase,
    profile: Profile,
    *,
    budgets: Sequence[str],
    replicates: int,
    pool_factor: int,
    alpha: float = 0.05,
    log: Callable[[str], None] = print,
) -> list[PointResult]:
    """Boundary, zero and alternative rates of one case at each budget (see module doc)."""
    sizes = {b: n for b, n in budget_sizes(case, profile).items() if b in budgets}
    if not sizes:
        return []
    pool = min(pool_factor, case.max_pool_factor or pool_factor) * max(sizes.values())
    cal = Calibrator(case, profile, pool, log=log)
    smallest = min(sizes.values())
    ends = [cal.effect(cal.run(cal.strengths(v))) for v in case.search]
    spread = max(e.spread for e in ends if math.isfinite(e.spread))
    tolerance = TARGET_TOLERANCE * spread / math.sqrt(smallest)
    boundary_value = cal.solve(lambda run: cal.effect(run).distance, tolerance)
    at_boundary = cal.effect(cal.run(cal.strengths(boundary_value)))
    points: list[PointResult] = []
    for budget, n in sizes.items():
        per_unit = at_boundary.units / pool  # share of pool units the form uses (held out)
        n_form = max(3, round(n * per_unit))
        d = detectable_effect(n_form, alpha)

        def weakest_part(run: ClaimRun, d: float = d) -> float:
            # every part of a conjunction must be detectable: the weakest sets the power
            return min(standardized(e) for e in effects_of(run.result)) - d

        try:
            alternative = cal.solve(weakest_part, TARGET_TOLERANCE)
        except CalibrationError:
            # the family cannot reach the detectable effect: its strongest effect instead,
            # judged against the power the t design gives there
            alternative = max(case.search, key=lambda v: weakest_part(cal.run(cal.strengths(v))))
            log(
                f"  {case.label} {budget}: an effect {d:.2f} SD inside the claim is out of "
                "reach; the alternative is the family's strongest effect"
            )
        for point, strengths in (
            ("boundary", cal.strengths(boundary_value)),
            ("zero", cal.strengths(zero=True)),
            ("alternative", cal.strengths(alternative)),
        ):
            run = cal.run(strengths)
            e = cal.effect(run)
            fixed = verdict_rates(
                run, n, replicates, with_replacement=case.with_replacement, seed=1
            )
            seq = verdict_rates(
                run,
                n,
                replicates,
                sequential=True,
                with_replacement=case.with_replacement,
                seed=1,  # the same samples as fixed-size: the modes differ by design only
            )
            checks = checks_at(
                point, effects_of(run.result), e, fixed, seq, alpha, replicates, n_form, budget
            )
            needed = None
            if point == "alternative" and fixed.supported < checks["power_fixed"][1]:
                needed = n_for_power(run, n, replicates, case.with_replacement)
            points.append(
                PointResult(
                    case.label,
                    budget,
                    point,
                    graded_name(**strengths),
                    e.estimate,
                    e.boundary,
                    n,
                    fixed,
                    seq,
                    checks,
                    needed,
                )
            )
    return points


def n_for_power(run: ClaimRun, n: int, replicates: int, with_replacement: bool) -> int | None:
    """The smallest sample size (in steps of n/4, up to 4 n) whose measured power at this
    policy reaches 0.8: what the budget would need for the effect it was sized for."""
    pool = len(run.values.seeds)
    for m in range(n + max(1, n // 4), 4 * n + 1, max(1, n // 4)):
        if not with_replacement and m > pool:
            return None
        rates = verdict_rates(run, m, replicates, with_replacement=with_replacement, seed=3)
        if rates.supported >= POWER:
            return m
    return None


def nominal_power(e: Effect, n: int, alpha: float) -> float:
    """Power of the one-sided t design on ``n`` units at the effect ``e`` (statsmodels)."""
    from statsmodels.stats.power import TTestPower

    d = standardized(e)
    if not math.isfinite(d):
        return 1.0 if d > 0 else 0.0
    return float(TTestPower().power(effect_size=d, nobs=n, alpha=alpha, alternative="larger"))


def checks_at(
    point: str,
    parts: Sequence[Effect],
    e: Effect,
    fixed: Rates,
    seq: Rates,
    alpha: float,
    replicates: int,
    n_form: int,
    budget: str = "default",
) -> dict[str, tuple[float, float, str]]:
    """The bounds a point's rates must meet: false verdicts <= alpha + 3 SE at the boundary
    (both directions) and where the claim is false; power >= 0.8 - 3 SE at the alternative
    (or the t design's power there, when the family cannot reach the detectable effect) at
    the budgets in :data:`POWER_BUDGETS` (elsewhere power is reported, ``op`` "reported")."""
    ceiling = alpha + rate_bound(alpha, replicates)
    nominal = min(nominal_power(p, n_form, alpha) for p in parts)
    target = min(POWER, nominal) if point == "alternative" else POWER
    floor = target - rate_bound(target, replicates)
    checks: dict[str, tuple[float, float, str]] = {}
    for mode, rates in (("fixed", fixed), ("sequential", seq)):
        if point == "boundary":
            checks[f"false_supported_{mode}"] = (rates.supported, ceiling, "<=")
            checks[f"false_refuted_{mode}"] = (rates.refuted, ceiling, "<=")
        elif point == "zero":
            claim_true = e.direction * (e.estimate - e.boundary) > 0
            if claim_true:
                checks[f"false_refuted_{mode}"] = (rates.refuted, ceiling, "<=")
            else:
                checks[f"false_supported_{mode}"] = (rates.supported, ceiling, "<=")
        else:
            enforced = ">=" if budget in POWER_BUDGETS else "reported"
            checks[f"power_{mode}"] = (rates.supported, floor, enforced)
    return checks
