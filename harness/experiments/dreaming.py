"""DR1's measurement: per maze, dream walls toward a target and score both mazes on procgen.

Each random maze fixes the pairing: the mouse and the target are drawn from its free cells
by its seed, and the dream starts from its walls, so "random" and "dreamed" differ only in
the walls the ascent changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.dream import Dream, DreamSettings, Heading, dream
from harness.experiments.subject import Subject
from harness.maze.maze import Cell, Maze

COLUMNS = ("random", "dreamed", "relaxed", "relaxed_start", "repaired")


def pick_cells(maze: Maze, target: str = "random", min_distance: int = 2) -> tuple[Cell, Cell]:
    """(mouse, target) for ``maze``, reproducible from its seed.

    The mouse is a random free cell other than the cheese; the target is the top-right cell
    (``"top-right"``, or the cell next to it when the mouse is there) or a random free cell at
    least ``min_distance`` steps away in straight-line (Manhattan) distance.
    """
    rng = np.random.default_rng(maze.seed if maze.seed is not None else 0)
    mice = [c for c in maze.mouse_cells if c != maze.top_right] if target == "top-right" else []
    mice = mice or list(maze.mouse_cells)
    mouse = mice[int(rng.integers(len(mice)))]
    if target == "top-right":
        return mouse, maze.top_right
    if target != "random":
        raise ValueError(f"target must be 'random' or 'top-right', got {target!r}")
    far = [
        c
        for c in maze.free_cells
        if c != maze.cheese and abs(c[0] - mouse[0]) + abs(c[1] - mouse[1]) >= min_distance
    ]
    if not far:
        far = [c for c in maze.free_cells if c not in (mouse, maze.cheese)] or [maze.cheese]
    return mouse, far[int(rng.integers(len(far)))]


def dream_maze(subject: Subject, maze: Maze, target: str, settings: DreamSettings) -> Dream:
    mouse, goal = pick_cells(maze, target)
    return dream(subject.policy, maze.with_mouse(mouse), Heading(mouse, goal), settings)


@dataclass(frozen=True, eq=False)
class DreamValues:
    """Per maze: the objective on procgen's render of the random and the dreamed maze, the
    relaxed objective at the start and end of the ascent, and the cells repair opened."""

    subject: Subject
    target: str
    settings: DreamSettings

    def __call__(self, mazes: Sequence[Maze]) -> dict[str, np.ndarray]:
        dreams = [dream_maze(self.subject, m, self.target, self.settings) for m in mazes]
        return {
            "random": np.array([d.start_real for d in dreams]),
            "dreamed": np.array([d.dreamed_real for d in dreams]),
            "relaxed": np.array([d.relaxed for d in dreams]),
            "relaxed_start": np.array([d.trace[0] for d in dreams]),
            "repaired": np.array([float(d.repaired) for d in dreams]),
        }


def dream_figure(subject: Subject, result: Dream, title: str):
    """Random vs dreamed maze (procgen's renders) with the policy's vector field on each;
    mouse and target marked."""
    import matplotlib.pyplot as plt

    from harness.behavior.plots import plot_field
    from harness.experiments.conditions import Condition, fields

    before, after = fields(subject, Condition("random vs dreamed", (result.start, result.dreamed)))
    marks = [result.objective.mouse, result.objective.target]
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 4.0))
    plot_field(axes[0], before, f"random maze: objective {result.start_real:.2f}", marks)
    plot_field(axes[1], after, f"dreamed maze: objective {result.dreamed_real:.2f}", marks)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
