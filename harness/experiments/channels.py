"""Cheese-tracking channels (CH family): peaks that follow the cheese, ablation, clamping
one activation to retarget the mouse, and scaling.

Channel cells follow CLAIMS.md's grid -> channel map (:func:`channel_cell`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from harness.behavior.compare import normalized_path_probability, path_moves
from harness.behavior.vfield import VectorField, policy_probs
from harness.experiments.activations import activations
from harness.experiments.measure import decisions, field_changes, fields
from harness.experiments.subject import Subject
from harness.interventions import (
    Intervention,
    ReplaceChannelMapExceptCell,
    ScaleChannels,
    SetCell,
    ZeroChannels,
)
from harness.maze.grid import distances_from
from harness.maze.maze import Cell, Maze
from harness.policy.geometry import channel_cell

#: Smallest maze size for peak-tracking statistics: a 3 x 3 maze spans about two channel
#: cells, so no cheese cell there can be told apart from the mouse's at tolerance 1.
MIN_TRACKING_SIZE = 7


def cheese_placements(maze: Maze, k: int, tolerance: int = 1) -> list[Maze]:
    """Up to ``k`` copies of the maze with the cheese on distinct random free cells (seeded by
    the level seed), mouse at the start.

    Only cells whose channel cell lies more than ``tolerance`` channel cells (Chebyshev) from
    the mouse's are used: there a peak on the mouse cannot count as a peak on the cheese
    (a mouse-tracking channel would otherwise pass for a cheese channel in small mazes).
    """
    rng = np.random.default_rng([maze.seed or 0, 55])
    mouse = np.array(channel_cell(maze.to_outer(maze.start)))
    free = [
        c
        for c in maze.free_cells
        if c != maze.start
        and np.abs(np.array(channel_cell(maze.to_outer(c))) - mouse).max() > tolerance
    ]
    picks = rng.choice(len(free), size=min(k, len(free)), replace=False)
    return [maze.with_cheese(free[i]) for i in sorted(picks)]


def peak_hits(maps: torch.Tensor, cells: Sequence[Cell], tolerance: int) -> np.ndarray:
    """(N, C) booleans: channel c's maximum is positive and within ``tolerance`` map cells
    (Chebyshev) of ``cells[i]``."""
    n, c, h, w = maps.shape
    flat = maps.reshape(n, c, h * w)
    peak, where = flat.max(-1)
    rows, cols = (where // w).cpu().numpy(), (where % w).cpu().numpy()
    target = np.array(cells)
    dist = np.maximum(np.abs(rows - target[:, :1]), np.abs(cols - target[:, 1:]))
    return (dist <= tolerance) & (peak.cpu().numpy() > 0)


def channel_peak_hit_rates(
    subject: Subject, mazes: Sequence[Maze], placements: int, tolerance: int
) -> np.ndarray:
    """(mazes, channels): share of cheese placements at which each channel's positive peak
    sits at the cheese's channel cell (see :func:`cheese_placements` for which cells)."""
    per_maze = [cheese_placements(m, placements, tolerance) for m in mazes]
    empty = [m.seed for m, ps in zip(mazes, per_maze, strict=True) if not ps]
    if empty:
        raise ValueError(
            f"mazes with seeds {empty[:5]} have no free cell more than {tolerance} channel "
            f"cell(s) from the mouse; sample mazes of size >= {MIN_TRACKING_SIZE}"
        )
    placed = [p for ps in per_maze for p in ps]
    owners = np.repeat(np.arange(len(mazes)), [len(ps) for ps in per_maze])
    maps = activations(subject, placed)[subject.layer]
    cells = [channel_cell(p.to_outer(p.cheese)) for p in placed]
    hits = peak_hits(maps, cells, tolerance)
    out = np.zeros((len(mazes), hits.shape[1]))
    for i in range(len(mazes)):
        out[i] = hits[owners == i].mean(0)
    return out


def tracking(subject: Subject, mazes: Sequence[Maze], placements: int, tolerance: int) -> dict:
    """CH1 columns: hit rate of each cheese channel and the mean of the other channels."""
    rates = channel_peak_hit_rates(subject, mazes, placements, tolerance)
    cheese = list(subject.require_cheese_channels())
    others = [c for c in range(rates.shape[1]) if c not in cheese]
    out = {f"hit_{c}": rates[:, c] for c in cheese}
    out["hit_non_cheese"] = rates[:, others].mean(1)
    out["hit_chance"] = np.full(len(mazes), (2 * tolerance + 1) ** 2 / 256)
    return out


def ablation_effects(subject: Subject, mazes: Sequence[Maze], channels: Sequence[int]) -> dict:
    """CH2: P(cheese) and field changes with the channels zero-ablated."""
    ablate = [ZeroChannels(subject.layer, tuple(channels))]
    base = decisions(subject, mazes)
    ablated = decisions(subject, mazes, lambda owners: ablate)
    before = fields(subject, mazes)
    after = fields(subject, mazes, lambda owners: ablate)
    return {
        "unpatched": base.p_cheese,
        "ablated": ablated.p_cheese,
        **field_changes(before, after, "ablation"),
    }


def scaling_effects(subject: Subject, mazes: Sequence[Maze], channels, k: float) -> dict:
    """CH5: P(cheese) at the decision square with the channels multiplied by ``k``."""
    scale = [ScaleChannels(subject.layer, tuple(channels), k)]
    base = decisions(subject, mazes)
    scaled = decisions(subject, mazes, lambda owners: scale)
    return {"unpatched": base.p_cheese, "scaled": scaled.p_cheese}


# ------------------------------------------------------------------------ retargeting
def retarget_cells(maze: Maze, k: int) -> list[Cell]:
    """``k`` random target cells (not the start), seeded by the level seed."""
    rng = np.random.default_rng([maze.seed or 0, 3])
    free = [c for c in maze.free_cells if c != maze.start]
    return [free[i] for i in sorted(rng.choice(len(free), size=min(k, len(free)), replace=False))]


def near_and_far_targets(maze: Maze) -> list[Cell]:
    """One target on the path to the top-right (its middle) and one as far from that path
    as the maze allows (CH3: success falls with distance from the top-right path)."""
    path = maze.path_to_top_right
    near = path[len(path) // 2]
    dist = np.full(maze.walls.shape, np.iinfo(np.int64).max)
    for cell in path:
        d = distances_from(maze.walls, cell)
        dist = np.where(d >= 0, np.minimum(dist, d), dist)
    dist[maze.walls] = -1
    far = tuple(int(v) for v in np.unravel_index(np.argmax(dist), dist.shape))
    return [near, far]


Clamp = tuple[str, tuple[int, ...], float]  # (name, channels, value)


def _target_interventions(
    subject: Subject, clamp: Clamp | None, cells: list[Cell], kind: str, background: float
) -> list[Intervention]:
    if clamp is None:
        return []
    _, channels, value = clamp
    if kind == "set":
        return [SetCell(subject.layer, channels, cells, value)]
    return [ReplaceChannelMapExceptCell(subject.layer, channels, cells, background, value)]


def path_probabilities(
    subject: Subject,
    mazes: Sequence[Maze],
    targets: Sequence[Sequence[Cell]],
    clamps: Sequence[Clamp | None],
    kind: str = "set",
    background: float = 0.0,
) -> dict[str, np.ndarray]:
    """Normalized path probability from the start to each target, cheese removed, for each
    clamp (None = unpatched). Returns ``{clamp name: (mazes, targets) array}``.

    Only the cells on each path are evaluated, each row clamped at its own target's channel
    cell, all in one batched pass per clamp.
    """
    rows: list[Maze] = []
    row_cell: list[Cell] = []
    spans = []
    for m, ts in zip(mazes, targets, strict=True):
        nm = m.without_cheese()
        for t in ts:
            cells = [c for c, _ in path_moves(nm, t)] or [nm.mouse]
            start = len(rows)
            rows += [nm.with_mouse(c) for c in cells]
            row_cell += [channel_cell(nm.to_outer(t))] * len(cells)
            spans.append((nm, t, start, len(rows)))
    out = {}
    for clamp in clamps:
        name = "unpatched" if clamp is None else clamp[0]
        runner = subject.runner(
            lambda owners, clamp=clamp: _target_interventions(
                subject, clamp, [row_cell[i] for i in owners], kind, background
            )
        )
        probs = policy_probs(runner, rows, subject.device)
        values = []
        for nm, t, a, b in spans:
            cells = tuple(r.mouse for r in rows[a:b])
            vf = VectorField(nm, cells, probs[a:b])
            values.append(normalized_path_probability(vf, t, start=nm.start))
        out[name] = np.array(values).reshape(len(mazes), -1)
    return out
