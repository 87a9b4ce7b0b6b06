"""Verdict forms as values: what a claim tests, stated as data over named columns.

A form names the sample's columns it compares and the claimed region (threshold, margin,
alternative); :meth:`Form.evaluate` runs the matching test of this package on a sample's
values at the alpha it is given. Claims never pass alpha themselves: the measurement
evaluates the form at the run's ``--alpha`` and, with ``--sequential``, at each look's
nominal level (:meth:`harness.stats.sampling.Measurement.test`). ::

    sample.test(PairedDifference("unpatched", "patched", relative=0.5))
    sample.test(AllOf(Magnitude("transfer_change", margin=0.02,
                                relative_to="own_drop", fraction=0.25),
                      PairedDifference("own_drop", "transfer_drop", threshold=0.05)))

A claim whose statistic needs more than the built-in forms (a model fitted on the sample,
say) defines its own small frozen dataclass with the same ``evaluate(values, alpha)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from harness.stats.association import association
from harness.stats.conjunction import all_of, ordering
from harness.stats.equivalence import equivalence
from harness.stats.magnitude import magnitude_below
from harness.stats.paired import DEFAULT_TEST, paired_difference
from harness.stats.proportion import accuracy_vs_base_rate, proportion
from harness.stats.ratio import ratio
from harness.stats.sampling import VALUE
from harness.stats.trend import trend

if TYPE_CHECKING:
    from harness.stats.result import Result
    from harness.stats.sampling import Values


@runtime_checkable
class Form(Protocol):
    """Anything that turns a sample's values into a result at a given alpha."""

    def evaluate(self, values: Values, alpha: float) -> Result: ...


def column(values: Values, name: str | None):
    """The named column, or the only one when ``name`` is None."""
    return values.value if name is None else values[name]


@dataclass(frozen=True)
class PairedDifference:
    """Per unit ``a - b`` (or column ``a`` alone) beyond ``threshold`` (paired t or Wilcoxon).

    ``relative`` states the claimed effect as a share of ``a``: the claim becomes
    ``a - b > relative * a`` per unit on average (``relative=0.5``: "b at most half of a",
    e.g. patched P(cheese) at most half the unpatched one), tested on ``(1 - relative) a - b``.
    """

    a: str | None = None
    b: str | None = None
    _: KW_ONLY
    threshold: float = 0.0
    alternative: str = "greater"
    test: str = DEFAULT_TEST
    margin: float | tuple[float, float] | None = None
    relative: float = 0.0
    label: str = ""

    def evaluate(self, values: Values, alpha: float) -> Result:
        if self.relative:
            return self._relative(values, alpha)
        return paired_difference(
            column(values, self.a),
            None if self.b is None else values[self.b],
            alternative=self.alternative,
            threshold=self.threshold,
            alpha=alpha,
            test=self.test,
            margin=self.margin,
            names=(self.a or VALUE, self.b or ""),
            label=self.label,
        )

    def _relative(self, values: Values, alpha: float) -> Result:
        if self.a is None or self.b is None or not 0.0 < self.relative < 1.0:
            raise ValueError("a relative difference needs columns a and b and 0 < relative < 1")
        a, b = np.asarray(values[self.a], float), np.asarray(values[self.b], float)
        name = f"{self.a} - {self.b} - {self.relative:g} x {self.a}"
        result = paired_difference(
            (1.0 - self.relative) * a - b,
            alternative=self.alternative,
            threshold=self.threshold,
            alpha=alpha,
            test=self.test,
            names=(name, ""),
            label=self.label,
        )
        mean_a = float(np.mean(a))
        share = float(np.mean(a - b) / mean_a) if mean_a else float("nan")
        return result.with_(
            estimate_name=f"mean of ({name})",
            effects={
                **result.effects,
                f"mean {self.a} - {self.b}": float(np.mean(a - b)),
                f"share of mean {self.a}": share,
                "claimed share": self.relative,
            },
        )


@dataclass(frozen=True)
class Magnitude:
    """'Does nothing': the mean per-unit ``|a - b|`` (or ``|a|``) below a margin, one-sided.

    ``margin`` is the absolute floor; ``relative_to`` names a per-unit reference effect (a
    column, or two columns whose difference it is) and ``fraction`` the share of it each
    unit may change by: allowance ``max(margin, fraction * reference)``. ``measure`` names
    the magnitude in reports (default ``absolute difference`` / ``|a|``).
    """

    a: str
    b: str | None = None
    _: KW_ONLY
    margin: float
    relative_to: str | tuple[str, str] | None = None
    fraction: float = 0.0
    measure: str = ""
    label: str = ""

    def evaluate(self, values: Values, alpha: float) -> Result:
        x = np.asarray(values[self.a], float)
        mag = np.abs(x if self.b is None else x - np.asarray(values[self.b], float))
        pair = self.a if self.b is None else f"{self.a} - {self.b}"
        name = self.measure or f"mean absolute difference |{pair}|"
        reference, ref_name = None, ""
        if self.relative_to is not None:
            if isinstance(self.relative_to, str):
                reference, ref_name = np.asarray(values[self.relative_to], float), self.relative_to
            else:
                first, second = self.relative_to
                reference = np.asarray(values[first], float) - np.asarray(values[second], float)
                ref_name = f"({first} - {second})"
        return magnitude_below(
            mag,
            margin=self.margin,
            fraction=self.fraction,
            reference=reference,
            alpha=alpha,
            name=name,
            reference_name=ref_name,
            label=self.label,
        )


@dataclass(frozen=True)
class Equivalence:
    """Per unit ``a - b`` (or column ``a``) inside ``center +- margin`` (TOST)."""

    a: str | None = None
    b: str | None = None
    _: KW_ONLY
    margin: float | tuple[float, float]
    center: float = 0.0
    label: str = ""

    def evaluate(self, values: Values, alpha: float) -> Result:
        return equivalence(
            column(values, self.a),
            None if self.b is None else values[self.b],
            margin=self.margin,
            center=self.center,
            alpha=alpha,
            names=(self.a or VALUE, self.b or ""),
            label=self.label,
        )


@dataclass(frozen=True)
class Ratio:
    """Per unit ``a / b`` on the log scale beyond ``threshold`` (a ratio; 1 = any increase)."""

    a: str
    b: str
    _: KW_ONLY
    threshold: float = 1.0
    alternative: str = "greater"
    test: str = DEFAULT_TEST
    label: str = ""

    def evaluate(self, values: Values, alpha: float) -> Result:
        return ratio(
            values[self.a],
            values[self.b],
            threshold=self.threshold,
            alternative=self.alternative,
            alpha=alpha,
            test=self.test,
            names=(self.a, self.b),
            label=self.label,
        )


@dataclass(frozen=True)
class Trend:
    """Per-unit trend of a (units, k) column over ``levels`` (k numbers or a column name)."""

    column: str | None = None
    _: KW_ONLY
    levels: Sequence[float] | str
    alternative: str = "less"
    threshold: float = 0.0
    per_unit: str = "slope"
    level_name: str = "level"
    label: str = ""
    test: str = DEFAULT_TEST

    def evaluate(self, values: Values, alpha: float) -> Result:
        levels = values[self.levels] if isinstance(self.levels, str) else list(self.levels)
        return trend(
            column(values, self.column),
            levels,
            alternative=self.alternative,
            threshold=self.threshold,
            alpha=alpha,
            per_unit=self.per_unit,
            name=self.column or VALUE,
            level_name=self.level_name,
            label=self.label,
            test=self.test,
        )


@dataclass(frozen=True)
class Association:
    """OLS slope of column ``y`` on column ``x`` across units beyond ``threshold``."""

    x: str
    y: str
    _: KW_ONLY
    alternative: str = "greater"
    threshold: float = 0.0
    label: str = ""

    def evaluate(self, values: Values, alpha: float) -> Result:
        return association(
            values[self.x],
            values[self.y],
            alternative=self.alternative,
            threshold=self.threshold,
            alpha=alpha,
            names=(self.x, self.y),
            label=self.label,
        )


@dataclass(frozen=True, init=False)
class Ordering:
    """'columns[0] > columns[1] > ...' on the same units (each consecutive pair paired)."""

    columns: tuple[str, ...]
    alternative: str = "greater"
    threshold: float = 0.0
    test: str = DEFAULT_TEST
    label: str = ""

    def __init__(
        self,
        *columns: str,
        alternative: str = "greater",
        threshold: float = 0.0,
        test: str = DEFAULT_TEST,
        label: str = "",
    ) -> None:
        for name, value in zip(
            ("columns", "alternative", "threshold", "test", "label"),
            (tuple(columns), alternative, threshold, test, label),
            strict=True,
        ):
            object.__setattr__(self, name, value)

    def evaluate(self, values: Values, alpha: float) -> Result:
        return ordering(
            *(values[c] for c in self.columns),
            names=list(self.columns),
            alternative=self.alternative,
            threshold=self.threshold,
            alpha=alpha,
            test=self.test,
            label=self.label,
        )


@dataclass(frozen=True)
class Proportion:
    """Share of units whose 0/1 value is 1 beyond ``threshold`` (exact binomial)."""

    column: str | None = None
    _: KW_ONLY
    threshold: float
    alternative: str = "greater"
    name: str | None = None
    label: str = ""

    def evaluate(self, values: Values, alpha: float) -> Result:
        return proportion(
            column(values, self.column),
            threshold=self.threshold,
            alternative=self.alternative,
            alpha=alpha,
            name=self.name or f"proportion of {self.column or VALUE}",
            label=self.label,
        )


@dataclass(frozen=True)
class Accuracy:
    """Held-out accuracy (0/1 per held-out unit) minus ``base_rate`` beyond ``threshold``."""

    column: str | None = None
    _: KW_ONLY
    base_rate: float
    threshold: float = 0.0
    label: str = ""

    def evaluate(self, values: Values, alpha: float) -> Result:
        return accuracy_vs_base_rate(
            column(values, self.column),
            base_rate=self.base_rate,
            threshold=self.threshold,
            alpha=alpha,
            label=self.label,
        )


@dataclass(frozen=True, init=False)
class AllOf:
    """Every part must hold (intersection-union test); one part is just that part."""

    parts: tuple[Form, ...]
    label: str = ""

    def __init__(self, *parts: Form, label: str = "") -> None:
        if not parts:
            raise ValueError("AllOf needs at least one part")
        object.__setattr__(self, "parts", tuple(parts))
        object.__setattr__(self, "label", label)

    def evaluate(self, values: Values, alpha: float) -> Result:
        results = [part.evaluate(values, alpha) for part in self.parts]
        if len(results) == 1:
            return results[0]
        return all_of(*results, label=self.label)
