"""One result type for every verdict form, in scipy's vocabulary.

``statistic``, ``pvalue``, ``alternative`` and ``confidence_interval(confidence_level=...)``
mean what they mean in ``scipy.stats``; on top of that a result carries the estimate, the
sample size, the claim's threshold or margin, effect sizes, secondary tests and the verdict.
``pvalue`` is always the p-value *for the claim* (small = evidence that the claim holds), so
Holm's adjustment across claims is well defined.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from harness.stats.format import fmt, fmt_interval, fmt_level, fmt_p
from harness.stats.verdict import Verdict, VerdictKind

if TYPE_CHECKING:
    from harness.stats.sampling import Sample


class ConfidenceInterval(NamedTuple):
    low: float
    high: float


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


@dataclass(frozen=True)
class EffectResult:
    """The statistics of one claim: estimate, interval, test, n, effect sizes and verdict."""

    form: str
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
    verdict: Verdict
    threshold: float | None = None
    margin: tuple[float, float] | None = None
    df: float | None = None
    pvalue_refute: float | None = None
    pvalue_nominal: float | None = None
    effects: Mapping[str, Any] = field(default_factory=dict)
    secondary: Mapping[str, Any] = field(default_factory=dict)
    components: tuple[EffectResult, ...] = ()
    label: str = ""
    unit_values: np.ndarray | None = field(default=None, repr=False, compare=False)
    unit_label: str = ""
    sequential: Mapping[str, Any] | None = None
    sample: Sample | None = field(default=None, repr=False, compare=False)
    interval_fn: Callable[[float], tuple[float, float]] | None = field(
        default=None, repr=False, compare=False
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

    @property
    def kind(self) -> VerdictKind:
        return self.verdict.kind

    def with_(self, **changes: Any) -> EffectResult:
        """A copy with some fields replaced (results are immutable)."""
        return replace(self, **changes)

    # -- output -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content (the per-unit values and the sample are reported separately)."""
        return {
            "form": self.form,
            "label": self.label,
            "test": self.test,
            "alternative": self.alternative,
            "statistic": json_number(self.statistic),
            "df": json_number(self.df),
            "pvalue": json_number(self.pvalue),
            "pvalue_nominal": json_number(self.pvalue_nominal),
            "pvalue_refute": json_number(self.pvalue_refute),
            "estimate": json_number(self.estimate),
            "estimate_name": self.estimate_name,
            "ci": [json_number(self.ci[0]), json_number(self.ci[1])],
            "ci_level": json_number(self.ci_level),
            "n": int(self.n),
            "alpha": json_number(self.alpha),
            "threshold": json_number(self.threshold),
            "margin": None if self.margin is None else [json_number(m) for m in self.margin],
            "verdict": self.verdict.kind.value,
            "reason": self.verdict.reason,
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
            f"p = {fmt_p(self.pvalue)} -> {self.verdict.kind.value}"
        )

    def __str__(self) -> str:
        lines = [self.summary(), f"  reason: {self.verdict.reason}"]
        for key, value in self.effects.items():
            lines.append(f"  {key}: {_short(value)}")
        for comp in self.components:
            lines.append(f"  part {comp.label or comp.estimate_name}: {comp.summary()}")
        return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} = {_short(v)}" for k, v in value.items())
    if isinstance(value, list | tuple) and len(value) == 2:
        return fmt_interval((value[0], value[1]))
    if isinstance(value, float | int | np.floating | np.integer):
        return fmt(float(value))
    return str(value)
