"""DR: dreaming mazes by gradient ascent on a relaxed render (issue 7)."""

from __future__ import annotations

import pytest

from harness.claim.examples import example_mazes
from harness.dream import DreamSettings
from harness.experiments.dreaming import DreamValues, dream_figure, dream_maze
from harness.stats import PairedDifference


@pytest.mark.claim("DR1", source="issue 7; dreaming (seed 003)")
def test_dr1_dreamed_mazes_raise_the_objective(claim, subject):
    """Dreamed mazes raise the policy's heading toward a target above random mazes.

    Starting from a random maze (mouse and target drawn from its free cells), gradient ascent on
    relaxed wall logits, thresholded and repaired to a legal maze and rendered by procgen,
    raises P(moves toward the target) at the mouse's cell by more than the threshold over the
    same random maze (paired).
    """
    p = claim.params
    target = p.params.get("target", "random")
    if p.params.get("objective", "heading") != "heading":
        raise ValueError(f"DR1 knows the objective 'heading', not {p.params['objective']!r}")
    settings = DreamSettings(
        steps=int(p.require("steps")),
        lr=float(p.require("lr")),
        init_logit=float(p.params.get("init_logit", 2.0)),
    )
    stream = subject.stream(min_size=p.require("min_size"), max_size=p.require("max_size"))
    sample = claim.measure(stream, DreamValues(subject, target, settings), n=p.n)
    claim.add_note(settings.describe())
    result = sample.test(PairedDifference("dreamed", "random", threshold=p.require("threshold")))
    v = sample.values
    claim.add_note(
        f"objective P(heading toward a {target} target) at a random mouse cell; means over "
        f"{v.n} mazes: random (procgen) {v['random'].mean():.3f}, relaxed start "
        f"{v['relaxed_start'].mean():.3f}, relaxed end {v['relaxed'].mean():.3f}, dreamed "
        f"after discretization (procgen) {v['dreamed'].mean():.3f}; repair opened "
        f"{v['repaired'].mean():.2f} cells per maze"
    )
    for maze in example_mazes(result, 1):
        try:
            example = dream_maze(subject, maze, target, settings)
            claim.add_figure(
                "example",
                dream_figure(subject, example, "DR1: random vs dreamed maze"),
                "random vs dreamed maze, procgen renders with the policy's field "
                f"({claim.maze_label(maze)})",
            )
        except Exception as exc:  # a figure never fails the claim
            claim.add_note(f"example figure failed: {type(exc).__name__}: {exc}")
    claim.conclude(result)
