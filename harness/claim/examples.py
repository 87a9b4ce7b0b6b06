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
from harness.maze.maze import Maze
from harness.stats.result import Result


def comparison_figure(subject: Subject, example: Example, title: str) -> plt.Figure:
    """The maze's vector field under the example's two conditions, side by side."""
    before = fields(subject, example.before)[0]
    after = fields(subject, example.after)[0]
    return field_comparison(before, after, example.labels, title, example.targets)


def example_mazes(result: Result, k: int) -> list[Maze]:
    """The first ``k`` mazes of an analysed sample, as measured (a given maze, not the level
    of its seed); units that are bare seeds become their levels."""
    sample = result.sample
    if sample is None:
        return []
    units = sample.units or sample.seeds
    return [u if isinstance(u, Maze) else Maze.from_seed(int(u)) for u in units[:k]]
