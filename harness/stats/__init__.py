"""Statistics of claims: effect sizes, intervals, tests, verdicts, multiplicity, sampling.

Two layers. The *tests* (``paired_difference``, ``equivalence``, ``ratio``, ``trend``, ...)
take arrays and return a :class:`Result` (scipy vocabulary: ``statistic``, ``pvalue``,
``confidence_interval(confidence_level=...)``, ``alternative``) whose verdict --
supported / refuted / inconclusive -- comes with its reason in words. The *verdict forms*
(:mod:`harness.stats.forms`) are values naming a sample's columns and the claimed region;
a :class:`Measurement` evaluates one at the run's alpha.
"""

from harness.stats.association import AssociationResult, association
from harness.stats.conjunction import OrderingResult, all_of, ordering
from harness.stats.design import BUDGETS, DESIGN_POINTS, sample_size
from harness.stats.equivalence import equivalence
from harness.stats.errors import StatsInputError
from harness.stats.forms import (
    Accuracy,
    AllOf,
    Association,
    Equivalence,
    Form,
    Magnitude,
    Ordering,
    PairedDifference,
    Proportion,
    Ratio,
    Trend,
)
from harness.stats.magnitude import magnitude_below
from harness.stats.multiplicity import holm
from harness.stats.paired import DifferenceResult, paired_difference
from harness.stats.proportion import (
    AccuracyResult,
    ProportionResult,
    accuracy_vs_base_rate,
    proportion,
)
from harness.stats.ratio import RatioResult, ratio
from harness.stats.result import (
    ConfidenceInterval,
    ConjunctionResult,
    DirectionalResult,
    EquivalenceResult,
    Result,
)
from harness.stats.sampling import (
    Measurement,
    MetricError,
    Sample,
    SamplingPlan,
    Values,
    unit_seed,
)
from harness.stats.sequential import GroupSequentialDesign
from harness.stats.trend import TrendResult, trend
from harness.stats.verdict import Verdict, VerdictKind

__all__ = [
    "BUDGETS",
    "DESIGN_POINTS",
    "Accuracy",
    "AccuracyResult",
    "AllOf",
    "Association",
    "AssociationResult",
    "ConfidenceInterval",
    "ConjunctionResult",
    "DifferenceResult",
    "DirectionalResult",
    "Equivalence",
    "EquivalenceResult",
    "Form",
    "GroupSequentialDesign",
    "Magnitude",
    "Measurement",
    "MetricError",
    "Ordering",
    "OrderingResult",
    "PairedDifference",
    "Proportion",
    "ProportionResult",
    "Ratio",
    "RatioResult",
    "Result",
    "Sample",
    "SamplingPlan",
    "StatsInputError",
    "Trend",
    "TrendResult",
    "Values",
    "Verdict",
    "VerdictKind",
    "accuracy_vs_base_rate",
    "all_of",
    "association",
    "equivalence",
    "holm",
    "magnitude_below",
    "ordering",
    "paired_difference",
    "proportion",
    "ratio",
    "sample_size",
    "trend",
    "unit_seed",
]
