"""What a verdict form returns: one protocol, one small result class per kind of claim.

``statistic``, ``pvalue``, ``alternative`` and ``confidence_interval(confidence_level=...)``
mean what they mean in ``scipy.stats``. On top of that a result carries the estimate, the
sample size, the claimed region (threshold or margin), effect sizes, secondary tests and the
verdict. ``pvalue`` is always the p-value *for the claim* (small = evidence that the claim
holds), so Holm's adjustment across claims is well defined.

The verdict's reason and the claimed region in words are derived from a result's own
fields (:attr:`Result.reason`, :meth:`Result.requirement`), never written by hand, so they
cannot disagree with the numbers. :meth:`Result.to_dict` spells every key as the report
does (``p_value``, also inside components and secondary tests).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar

import numpy as np

from harness.stats.format import fmt, fmt_interval, fmt_level, fmt_p, json_number, json_ready
from harness.stats.verdict import Verdict, VerdictKind, decide_one

if TYPE_CHECKING:
    from harness.stats.sampling import Sample


R = TypeVar("R", bound="Result")


class ConfidenceInterval(NamedTuple):
    low: float
    high: float


@dataclass(frozen=True, kw_only=True)
class Result(ABC):
    """The statistics of one claim: estimate, interval, test, n, effect sizes and verdict."""

    #: The verdict form's name in reports (``difference``, ``equivalence``, ...).
    form: ClassVar[str] = ""

    test: str
    alternative: str
    statistic: float
    pvalue: float
    estimate: float
    estimate_name: str
    ci: tuple[float, float]
    ci_level: float
    n: int
    alpha: float
    kind: VerdictKind
    threshold: float | None = None
    margin: tuple[float, float] | None = None
    df: float | None = None
    pvalue_refute: float | None = None
    pvalue_nominal: float | None = None
    effects: Mapping[str, Any] = field(default_factory=dict)
    secondary: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    unit_values: np.ndarray | None = field(default=None, repr=False, compare=False)
    unit_label: str = ""
    sequential: Mapping[str, Any] | None = None
    sample: Sample | None = field(default=None, repr=False, compare=False)
    interval_fn: Callable[[float], tuple[float, float]] | None = field(
        default=None, repr=False, compare=False
    )

    # -- the verdict in words -----------------------------------------------------------
    @abstractmethod
    def _reason(self) -> str:
        """Where the interval lies relative to the claimed region (fixed-sample wording)."""

    @abstractmethod
    def requirement(self) -> str:
        """What the claim asserts, in words: '> 0.1', 'inside [-0.05, 0.05]', 'all parts'."""

    @property
    def reason(self) -> str:
        return self._reason() + _sequential_note(self)

    @property
    def verdict(self) -> Verdict:
        return Verdict(self.kind, self.reason)

    @property
    def components(self) -> tuple[Result, ...]:
        """Parts of a claim made of several (empty for a single test)."""
        return ()

    @property
    def part_name(self) -> str:
        """How this result is named as a part of a larger claim."""
        return self.label or self.estimate_name

    @property
    def reason_pvalue(self) -> float:
        """The p-value the reason quotes: the fixed-sample one at the look that decided."""
        return self.pvalue if self.pvalue_nominal is None else self.pvalue_nominal

    def _tail(self) -> str:
        return (
            f"{self.test}, p = {fmt_p(self.reason_pvalue)}, alpha = {fmt(self.alpha)}, n = {self.n}"
        )

    def _where(self) -> str:
        return (
            f"the {fmt_level(self.ci_level)} interval {fmt_interval(self.ci)} of the "
            f"{self.estimate_name}"
        )

    # -- scipy-style access -------------------------------------------------------------
    def confidence_interval(self, confidence_level: float | None = None) -> ConfidenceInterval:
        """Two-sided interval of the estimate; default level = the one the verdict used."""
        if confidence_level is None or math.isclose(confidence_level, self.ci_level):
            return ConfidenceInterval(*self.ci)
        if not 0.0 < float(confidence_level) < 1.0:
            raise ValueError(f"confidence_level must lie in (0, 1), got {confidence_level}")
        if self.interval_fn is None:
            raise NotImplementedError(f"{self.test} has no interval at other levels")
        return ConfidenceInterval(*self.interval_fn(float(confidence_level)))

    def with_(self, **changes: Any) -> Result:
        """A copy with some fields replaced (results are immutable)."""
        return replace(self, **changes)

    def recast(self, cls: type[R], **changes: Any) -> R:
        """The same numbers as a result of another form (e.g. a log difference as a ratio)."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        values = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**{**values, **changes})

    # -- output -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content with the report's key names (per-unit values and the sample
        are reported separately)."""
        return {
            "form": self.form,
            "label": self.label,
            "test": self.test,
            "alternative": self.alternative,
            "statistic": json_number(self.statistic),
            "df": json_number(self.df),
            "p_value": json_number(self.pvalue),
            "p_value_nominal": json_number(self.pvalue_nominal),
            "p_value_refute": json_number(self.pvalue_refute),
            "estimate": json_number(self.estimate),
            "estimate_name": self.estimate_name,
            "ci": [json_number(self.ci[0]), json_number(self.ci[1])],
            "ci_level": json_number(self.ci_level),
            "n": int(self.n),
            "alpha": json_number(self.alpha),
            "threshold": json_number(self.threshold),
            "margin": None if self.margin is None else [json_number(m) for m in self.margin],
            "verdict": self.kind.value,
            "reason": self.reason,
            "effects": json_ready(self.effects),
            "secondary": json_ready(self.secondary),
            "components": [c.to_dict() for c in self.components],
            "unit_label": self.unit_label,
            "sequential": json_ready(self.sequential),
        }

    def summary(self) -> str:
        """One line: estimate, interval, n, test, p and verdict."""
        stat = f"statistic = {fmt(self.statistic)}" + (
            f" (df = {fmt(self.df)})" if self.df is not None else ""
        )
        return (
            f"{self.estimate_name} = {fmt(self.estimate)}, {fmt_level(self.ci_level)} CI "
            f"{fmt_interval(self.ci)}, n = {self.n}; {self.test} ({self.alternative}), {stat}, "
            f"p = {fmt_p(self.pvalue)} -> {self.kind.value}"
        )

    def __str__(self) -> str:
        lines = [self.summary(), f"  reason: {self.reason}"]
        for key, value in self.effects.items():
            lines.append(f"  {key}: {_short(value)}")
        for comp in self.components:
            lines.append(f"  part {comp.part_name}: {comp.summary()}")
        return "\n".join(lines)


def interval_level(alpha: float, alternative: str) -> float:
    """The level of the interval a verdict reads: 1 - 2 alpha for one-sided claims and
    equivalence (each edge tested at alpha), 1 - alpha for two-sided ones."""
    return 1.0 - (alpha if alternative == "two-sided" else 2.0 * alpha)


def decision(
    p_support: float,
    p_refute: float | None,
    alpha: float,
    interval_fn: Callable[[float], tuple[float, float]],
    level: float,
) -> dict[str, Any]:
    """The result fields every test fills alike: both p-values, the verdict they decide at
    ``alpha`` (:func:`harness.stats.verdict.decide_one`) and the interval at ``level``."""
    return {
        "pvalue": float(p_support),
        "pvalue_refute": None if p_refute is None else float(p_refute),
        "alpha": alpha,
        "kind": decide_one(float(p_support), p_refute, alpha),
        "ci": interval_fn(level),
        "ci_level": level,
        "interval_fn": interval_fn,
    }


_SIGNS = {"greater": ">", "less": "<", "two-sided": "!="}


@dataclass(frozen=True, kw_only=True)
class DirectionalResult(Result):
    """A claim 'estimate > threshold' (or '<'; '!=' for two-sided, refuted only by a margin)."""

    def requirement(self) -> str:
        return f"{_SIGNS.get(self.alternative, '?')} {fmt(self.threshold)}"

    def _reason(self) -> str:
        where, thr, tail = self._where(), fmt(self.threshold), self._tail()
        kind = self.kind
        if self.alternative == "two-sided":
            if kind is VerdictKind.SUPPORTED:
                return f"{where} excludes {thr} ({tail})"
            if kind is VerdictKind.REFUTED:
                lo, hi = self.margin or (math.nan, math.nan)
                return (
                    f"{where} lies inside [{fmt(lo)}, {fmt(hi)}]: no effect beyond the margin "
                    f"({tail})"
                )
            return f"{where} contains {thr} and is not inside a margin ({tail})"
        side, other = ("above", "below") if self.alternative == "greater" else ("below", "above")
        if kind is VerdictKind.SUPPORTED:
            return f"{where} lies {side} {thr} ({tail})"
        if kind is VerdictKind.REFUTED:
            return f"{where} lies {other} {thr}: the effect is not {side} {thr} as claimed ({tail})"
        if self.ci[0] == self.ci[1] == self.threshold:
            return f"every unit's value equals {thr} exactly, so it is not {side} it ({tail})"
        return f"{where} contains {thr}: n = {self.n} units do not decide ({tail})"


@dataclass(frozen=True, kw_only=True)
class EquivalenceResult(Result):
    """A null claim: the interval of the effect lies inside the margin (TOST)."""

    form: ClassVar[str] = "equivalence"

    def requirement(self) -> str:
        lo, hi = self.margin or (math.nan, math.nan)
        return f"inside [{fmt(lo)}, {fmt(hi)}]"

    def _reason(self) -> str:
        lo, hi = self.margin or (math.nan, math.nan)
        where, tail = self._where(), self._tail()
        margin = f"the margin [{fmt(lo)}, {fmt(hi)}]"
        if self.kind is VerdictKind.SUPPORTED:
            return f"{where} lies inside {margin} ({tail})"
        if self.kind is VerdictKind.REFUTED:
            return f"{where} lies entirely outside {margin}: the effect exceeds it ({tail})"
        return (
            f"{where} is not inside {margin}; a non-significant difference is not evidence "
            f"of equivalence ({tail})"
        )


@dataclass(frozen=True, kw_only=True)
class ConjunctionResult(Result):
    """A claim made of parts that must all hold; headline numbers are the weakest part's."""

    form: ClassVar[str] = "all_of"

    parts: tuple[Result, ...] = ()

    @property
    def components(self) -> tuple[Result, ...]:
        return self.parts

    def requirement(self) -> str:
        return "all parts hold: " + "; ".join(
            f"{c.part_name} {c.requirement()}" for c in self.parts
        )

    def _reason(self) -> str:
        listed = "; ".join(f"{c.part_name}: {c.kind.value}" for c in self.parts)
        m = len(self.parts)
        if self.kind is VerdictKind.SUPPORTED:
            return f"all {m} parts are supported at alpha = {fmt(self.alpha)} ({listed})"
        if self.kind is VerdictKind.REFUTED:
            return (
                "at least one part is refuted (refutations Bonferroni-adjusted over "
                f"{m} parts) ({listed})"
            )
        return f"not every part is decided ({listed})"


def _sequential_note(result: Result) -> str:
    seq = result.sequential
    if not seq:
        return ""
    look = int(seq["stopped_at_look"])
    drawn = seq["looks"][-1]["n"]
    return (
        f" [group-sequential, O'Brien-Fleming spending: stopped at look {look} of "
        f"{seq['looks_planned']}, n = {drawn} of at most {seq['look_sizes'][-1]}, nominal alpha "
        f"{fmt(seq['nominal_alphas'][look - 1])}, stage-wise p = {fmt(result.pvalue)}]"
    )


def _short(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} = {_short(v)}" for k, v in value.items())
    if isinstance(value, list | tuple) and len(value) == 2:
        return fmt_interval((value[0], value[1]))
    if isinstance(value, float | int | np.floating | np.integer):
        return fmt(float(value))
    return str(value)
