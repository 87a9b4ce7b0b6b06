"""Activations of many mazes at named layers, and the difference vectors built from them.

The cheese vector of a maze is the activation at a layer with the mouse at the start and
the cheese present, minus the same without the cheese (CLAIMS.md). The top-right vector is
the same difference between the maze with a corridor opened to the world's top-right corner
and the maze as generated. Both come from one batched forward pass per chunk.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from harness.behavior.forward import batch_rows
from harness.experiments.subject import Subject
from harness.hooks import run_with_cache
from harness.maze.maze import Maze
from harness.maze.render import observations


def activations(
    subject: Subject, mazes: Sequence[Maze], layers: Sequence[str] | None = None
) -> dict[str, torch.Tensor]:
    """``{layer: (N, ...) tensor}`` for the mazes as they are (mouse where each has it)."""
    layers = list(layers or [subject.layer])
    parts: dict[str, list[torch.Tensor]] = {label: [] for label in layers}
    step = batch_rows(subject.device)  # full batches: see harness.behavior.forward
    for i in range(0, len(mazes), step):
        part = list(mazes[i : i + step])
        n = len(part)
        obs = observations(part + part[-1:] * (step - n), subject.device)
        cache = run_with_cache(subject.policy, obs, layers).cache
        for label in layers:
            parts[label].append(cache[label][:n])
    return {label: torch.cat(ts) for label, ts in parts.items()}


def at_start(mazes: Sequence[Maze]) -> list[Maze]:
    return [m.with_mouse(m.start, reflected=False) for m in mazes]


def difference_vectors(
    subject: Subject,
    with_feature: Sequence[Maze],
    without_feature: Sequence[Maze],
    layers: Sequence[str] | None = None,
) -> dict[str, torch.Tensor]:
    """Per maze ``act(with) - act(without)`` at each layer, one batched pass for both."""
    n = len(with_feature)
    if len(without_feature) != n:
        raise ValueError("need one maze without the feature per maze with it")
    acts = activations(subject, [*with_feature, *without_feature], layers)
    return {label: a[:n] - a[n:] for label, a in acts.items()}


def cheese_vectors(
    subject: Subject, mazes: Sequence[Maze], layers: Sequence[str] | None = None
) -> dict[str, torch.Tensor]:
    """Each maze's own cheese vector (mouse at the start), per layer."""
    start = at_start(mazes)
    return difference_vectors(subject, start, [m.without_cheese() for m in start], layers)


def cheese_vector(subject: Subject, mazes: Sequence[Maze]) -> torch.Tensor:
    """(N, C, H, W) cheese vectors at the subject's layer."""
    return cheese_vectors(subject, mazes)[subject.layer]


def with_top_right_corridor(maze: Maze) -> Maze:
    """The maze embedded in the full world with a corridor from its top-right cell up to the
    world's top row and along it to the world's top-right corner (TR vector, CLAIMS.md).

    The result is a lifted, world-sized maze (walls outside the original inner grid, whose
    size it keeps as ``inner_size``) with mouse, cheese and start on the same outer cells, so
    both render identically except for the corridor.
    """
    world, m, n = maze.world_dim, maze.margin, maze.size
    if n == world:
        raise ValueError("the maze already fills the world; its top-right vector is zero")
    walls = np.ones((world, world), dtype=bool)
    walls[m : m + n, m : m + n] = maze.walls
    corner = m + n - 1
    walls[corner:, corner] = False  # up from the inner top-right cell to the top row
    walls[world - 1, corner:] = False  # then right to the corner
    return Maze(
        walls=walls,
        cheese=None if maze.cheese is None else maze.to_outer(maze.cheese),
        mouse=maze.to_outer(maze.mouse),
        seed=maze.seed,
        template=maze.template,
        mouse_reflected=maze.mouse_reflected,
        inner_size=maze.size,
    )


def top_right_vector(subject: Subject, mazes: Sequence[Maze]) -> torch.Tensor:
    """(N, C, H, W): act(maze with the corridor) - act(maze), mouse at the start."""
    start = at_start(mazes)
    return difference_vectors(subject, [with_top_right_corridor(m) for m in start], start)[
        subject.layer
    ]
