"""Vector-field figures: arrows over procgen's human view, and the diff of two fields.

Arrows are net move vectors (p_right - p_left, p_up - p_down) drawn at cell centres of the
512-pixel render; the decision square, the cheese and any targets are marked.
"""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from harness.behavior.vfield import VectorField
from harness.maze.maze import Cell, Maze
from harness.maze.render import human_view

HUMAN = 512


def _centre(maze: Maze, cell: Cell) -> tuple[float, float]:
    """Pixel (x, y) of a cell's centre in the 512-pixel human view (y down)."""
    per = HUMAN / maze.world_dim
    r, c = maze.to_outer(cell)
    return (c + 0.5) * per, (maze.world_dim - 1 - r + 0.5) * per


def _arrows(ax, maze: Maze, cells, vectors: np.ndarray, color: str) -> None:
    per = HUMAN / maze.world_dim
    xy = np.array([_centre(maze, c) for c in cells])
    ax.quiver(
        xy[:, 0],
        xy[:, 1],
        vectors[:, 0] * per * 0.45,
        -vectors[:, 1] * per * 0.45,
        color=color,
        angles="xy",
        scale_units="xy",
        scale=1,
        width=0.004,
    )


def _marks(ax, maze: Maze, targets: Iterable[Cell]) -> None:
    if maze.decision_square is not None:
        x, y = _centre(maze, maze.decision_square)
        ax.scatter([x], [y], s=60, facecolors="none", edgecolors="red", linewidths=1.5)
    for t in targets:
        x, y = _centre(maze, t)
        ax.scatter([x], [y], s=40, c="magenta", marker="x")


def _zoom(ax, maze: Maze) -> None:
    per = HUMAN / maze.world_dim
    lo, hi = maze.margin * per - per, (maze.margin + maze.size) * per + per
    ax.set_xlim(lo, hi)
    ax.set_ylim(hi, lo)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_field(ax, field: VectorField, title: str = "", targets: Iterable[Cell] = ()) -> None:
    maze = field.maze
    ax.imshow(human_view(maze))
    _arrows(ax, maze, field.cells, field.net, "white")
    _marks(ax, maze, targets)
    _zoom(ax, maze)
    ax.set_title(title, fontsize=9)


def plot_field_diff(
    ax, before: VectorField, after: VectorField, title: str = "", targets: Iterable[Cell] = ()
) -> None:
    """Arrows of ``after.net - before.net`` on the cells both fields cover."""
    cells = [c for c in before.cells if after.has(c)]
    diff = np.array([after.net[after._index[c]] - before.net[before._index[c]] for c in cells])
    maze = before.maze
    ax.imshow(human_view(maze))
    if len(cells):
        _arrows(ax, maze, cells, diff, "yellow")
    _marks(ax, maze, targets)
    _zoom(ax, maze)
    ax.set_title(title, fontsize=9)


def field_comparison(
    before: VectorField,
    after: VectorField,
    labels: tuple[str, str],
    suptitle: str = "",
    targets: Iterable[Cell] = (),
) -> plt.Figure:
    """Three panels: the two fields and their difference."""
    targets = list(targets)
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.8))
    plot_field(axes[0], before, labels[0], targets)
    plot_field(axes[1], after, labels[1], targets)
    plot_field_diff(axes[2], before, after, "difference", targets)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig
