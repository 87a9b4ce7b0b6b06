"""Example figures for claim reports: one maze of the sample, before and after the edit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt

from harness.behavior.plots import field_comparison
from harness.experiments.measure import fields
from harness.experiments.subject import InterventionsFor, Subject
from harness.maze.maze import Cell, Maze


def edit_example(
    subject: Subject,
    maze: Maze,
    interventions_for: InterventionsFor,
    labels: tuple[str, str],
    title: str,
    targets: Sequence[Cell] = (),
    before_maze: Maze | None = None,
) -> plt.Figure:
    """The maze's field unpatched (or of ``before_maze``) vs with the interventions."""
    before = fields(subject, [before_maze or maze])[0]
    after = fields(subject, [maze], interventions_for)[0]
    return field_comparison(before, after, labels, title, targets)


def first_seed(result) -> int | None:
    """The first unit's seed of an analysed sample (for the example figure)."""
    sample = getattr(result, "sample", None)
    seeds = getattr(sample, "seeds", ()) if sample is not None else ()
    return int(seeds[0]) if len(seeds) else None


def attach_example(claim, result, make: Callable[[Maze], plt.Figure], caption: str) -> None:
    """Attach ``make(first maze of the sample)``; a figure failure never fails the claim."""
    seed = first_seed(result)
    if seed is None:
        return
    try:
        claim.add_figure("example", make(Maze.from_seed(seed)), caption + f" (seed {seed})")
    except Exception as exc:
        claim.add_note(f"example figure failed: {type(exc).__name__}: {exc}")
