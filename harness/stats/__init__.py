"""Statistics of claims: effect sizes, intervals, tests, verdicts, multiplicity, sampling.

Every verdict form returns one :class:`EffectResult` (scipy vocabulary: ``statistic``,
``pvalue``, ``confidence_interval(confidence_level=...)``, ``alternative``) carrying a
:class:`Verdict` -- supported / refuted / inconclusive with the reason in words.
"""

from harness.stats.association import association
from harness.stats.conjunction import all_of, ordering
from harness.stats.design import BUDGETS, DESIGN_POINTS, sample_size
from harness.stats.equivalence import equivalence
from harness.stats.errors import StatsInputError
from harness.stats.multiplicity import holm
from harness.stats.paired import paired_difference
from harness.stats.proportion import accuracy_vs_base_rate, proportion
from harness.stats.ratio import ratio
from harness.stats.result import ConfidenceInterval, EffectResult
from harness.stats.sampling import (
    Measurement,
    MetricError,
    Sample,
    SamplingPlan,
    Values,
    unit_seed,
)
from harness.stats.sequential import GroupSequentialDesign
from harness.stats.trend import trend
from harness.stats.verdict import Verdict, VerdictKind

__all__ = [
    "BUDGETS",
    "DESIGN_POINTS",
    "ConfidenceInterval",
    "EffectResult",
    "GroupSequentialDesign",
    "Measurement",
    "MetricError",
    "Sample",
    "SamplingPlan",
    "StatsInputError",
    "Values",
    "Verdict",
    "VerdictKind",
    "accuracy_vs_base_rate",
    "all_of",
    "association",
    "equivalence",
    "holm",
    "ordering",
    "paired_difference",
    "proportion",
    "ratio",
    "sample_size",
    "trend",
    "unit_seed",
]
