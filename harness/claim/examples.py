"""Example figures for claim reports: the first maze of the sample, before and after the edit.

The figure draws the same :class:`~harness.experiments.conditions.Condition` objects the
experiment measures (``experiment.example(maze)``), so a picture never shows another edit
than the one the numbers come from.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from harness.behavior.plots import field_comparison
from harness.experiments.conditions import Example, fields
from harness.experiments.subject import Subject
from harness.stats.result import Result


def comparison_figure(subject: Subject, example: Example, title: str) -> plt.Figure:
    """The maze's vector field under the example's two conditions, side by side."""
    before = fields(subject, example.before)[0]
    after = fields(subject, example.after)[0]
    return field_comparison(before, after, example.labels, title, example.targets)


def first_seed(result: Result) -> int | None:
    """The first unit's seed of an analysed sample (the example figure's maze)."""
    sample = result.sample
    seeds = sample.seeds if sample is not None else ()
    return int(seeds[0]) if len(seeds) else None
