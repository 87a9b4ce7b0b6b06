"""Cheese-tracking channels (CH family): peaks that follow the cheese, ablation, clamping
one activation to retarget the mouse, and scaling.

Channel cells follow CLAIMS.md's grid -> channel map (:func:`channel_cell`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from harness.behavior.compare import field_changes, normalized_path_probability, path_moves
from harness.behavior.decision import decision_moves
from harness.behavior.vfield import VectorField
from harness.experiments.activations import activations
from harness.experiments.conditions import (
    Condition,
    ConditionExperiment,
    Conditions,
    Example,
    conditions,
    decisions,
    fields,
    move_probs,
)
from harness.experiments.subject import Subject
from harness.interventions import (
    Intervention,
    ReplaceChannelMapExceptCell,
    ScaleChannels,
    SetCell,
    ZeroChannels,
)
from harness.maze.grid import distances_from_nearest
from harness.maze.maze import Cell, Maze
from harness.maze.streams import maze_stream, take
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
    # one copy to the host for all three (rows, columns, positive peak)
    rows, cols, positive = torch.stack([where // w, where % w, (peak > 0).long()]).cpu().numpy()
    target = np.array(cells)
    dist = np.maximum(np.abs(rows - target[:, :1]), np.abs(cols - target[:, 1:]))
    return (dist <= tolerance) & (positive > 0)


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


@dataclass(frozen=True, eq=False)
class Tracking:
    """CH1 columns: hit rate of each cheese channel and the mean of the other channels."""

    subject: Subject
    placements: int
    tolerance: int

    def __call__(self, mazes: Sequence[Maze]) -> dict[str, np.ndarray]:
        rates = channel_peak_hit_rates(self.subject, mazes, self.placements, self.tolerance)
        cheese = list(self.subject.require_cheese_channels())
        others = [c for c in range(rates.shape[1]) if c not in cheese]
        out = {f"hit_{c}": rates[:, c] for c in cheese}
        out["hit_non_cheese"] = rates[:, others].mean(1)
        out["hit_chance"] = np.full(len(mazes), (2 * self.tolerance + 1) ** 2 / 256)
        return out

    def peak_misses_the_cheese(self, channel: int, maze: Maze) -> bool:
        """A counterexample to CH1: the channel's positive peak is not at the cheese."""
        maps = activations(self.subject, [maze])[self.subject.layer][:, [channel]]
        cell = channel_cell(maze.to_outer(maze.cheese))
        return not peak_hits(maps, [cell], self.tolerance)[0, 0]


@dataclass(frozen=True, eq=False)
class ChannelEdit(ConditionExperiment):
    """CH2 (zero-ablation) and CH5 (scaling): P(cheese) at the decision square unpatched and
    with one edit of the channels (column ``name``), and -- given ``field_prefix`` -- the
    field change (columns ``<prefix>_tv``, ``<prefix>_tv_off_path``, ...). With
    ``no_cheese_baseline``, column ``no_cheese``: the unpatched probability of the same first
    step with the cheese removed (what "avoidance" must fall below)."""

    subject: Subject
    edit: Intervention
    name: str
    field_prefix: str | None = None
    no_cheese_baseline: bool = False

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        arms = [
            Condition("unpatched", tuple(mazes)),
            Condition(self.name, tuple(mazes), (self.edit,)),
        ]
        if self.no_cheese_baseline:
            rows = tuple(m.without_cheese().with_mouse(m.decision_square) for m in mazes)
            arms.append(Condition("no_cheese", rows))
        return conditions(*arms)

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        base, edited = arms["unpatched"], arms[self.name]
        out = {
            "unpatched": decisions(self.subject, base).p_cheese,
            self.name: decisions(self.subject, edited).p_cheese,
        }
        if self.field_prefix is not None:
            changes = field_changes(
                fields(self.subject, base), fields(self.subject, edited), self.field_prefix
            )
            out.update(changes)
        if self.no_cheese_baseline:
            probs = move_probs(self.subject, arms["no_cheese"])
            out["no_cheese"] = probs[np.arange(len(mazes)), decision_moves(mazes).to_cheese]
        return out


def zero_ablation(subject: Subject, channels: Sequence[int]) -> ChannelEdit:
    """CH2: the channels zeroed; P(cheese) and the field change."""
    edit = ZeroChannels(subject.layer, tuple(channels))
    return ChannelEdit(subject, edit, "ablated", field_prefix="ablation")


def scaling(
    subject: Subject, channels: Sequence[int], k: float, no_cheese_baseline: bool = False
) -> ChannelEdit:
    """CH5: the channels multiplied by ``k`` (and, for avoidance, the no-cheese baseline)."""
    edit = ScaleChannels(subject.layer, tuple(channels), k)
    return ChannelEdit(subject, edit, "scaled", no_cheese_baseline=no_cheese_baseline)


# ------------------------------------------------------------------------ retargeting
def retarget_cells(maze: Maze, k: int) -> list[Cell]:
    """``k`` random target cells (not the start), seeded by the level seed."""
    rng = np.random.default_rng([maze.seed or 0, 3])
    free = [c for c in maze.free_cells if c != maze.start]
    return [free[i] for i in sorted(rng.choice(len(free), size=min(k, len(free)), replace=False))]


@functools.lru_cache(maxsize=4096)
def distance_targets(maze: Maze, k: int) -> tuple[tuple[Cell, ...], tuple[float, ...]]:
    """``k`` target cells (not the start) spread evenly over the step distances from the
    path to the top-right, from on the path to as far as the maze allows, and those
    distances; ties broken by a generator seeded by the level seed. Cached: an
    experiment's conditions and its evaluation of a batch ask for the same targets."""
    dist = distances_from_nearest(maze.walls, maze.path_to_top_right)
    free = [c for c in maze.free_cells if c != maze.start]
    d = np.array([dist[c] for c in free], dtype=float)
    rng = np.random.default_rng([maze.seed or 0, 5])
    jitter = rng.random(len(free)) * 1e-3
    chosen: list[Cell] = []
    for goal in np.linspace(0.0, d.max(), k):
        order = np.argsort(np.abs(d - goal) + jitter)
        chosen.append(next(free[i] for i in order if free[i] not in chosen))
    return tuple(chosen), tuple(float(dist[c]) for c in chosen)


#: Reference mazes whose activations fix a channel's typical positive peak (clamp scale).
PEAK_SEED, PEAK_MAZES = 7_000_000, 32


def channel_peak(subject: Subject, channels: Sequence[int]) -> float:
    """The channels' typical positive peak at the layer: the mean over ``PEAK_MAZES``
    reference mazes (mouse at the start, cheese present) and over the channels of each map's
    maximum. Clamps stated as multiples of it carry over between checkpoints whose
    activations differ in scale (the post's 5.5 is about 9 x channel 55's ~0.6)."""
    key = ("channel_peak", subject.layer, tuple(int(c) for c in channels))

    def compute() -> float:
        mazes = take(maze_stream(PEAK_SEED, subject.where()), PEAK_MAZES)
        acts = activations(subject, mazes)[subject.layer][:, list(channels)]
        return float(acts.flatten(2).amax(-1).mean())

    return subject.hooked.memo(key, compute)


@dataclass(frozen=True)
class Clamp:
    """A retargeting patch: set ``channels`` at the target's channel cell to ``value``."""

    name: str
    channels: tuple[int, ...]
    value: float

    def at(self, layer: str, cells: Sequence[Cell]) -> SetCell:
        """The patch for rows whose targets sit at ``cells`` (one channel cell per row)."""
        return SetCell(layer, self.channels, list(cells), self.value)

    def on_background(self, layer: str, cells: Sequence[Cell], background: float):
        """The same spot on a map set to ``background`` everywhere else (CH4)."""
        return ReplaceChannelMapExceptCell(
            layer, self.channels, list(cells), background, self.value
        )


@dataclass(frozen=True, eq=False)
class PathRows:
    """Every cell on the path from the start to each target, cheese removed: the rows whose
    move probabilities give the normalized path probabilities, and each row's target cell."""

    rows: tuple[Maze, ...]
    target_cells: tuple[Cell, ...]  # per row: the target's channel cell
    spans: tuple[tuple[Maze, Cell, int, int], ...]  # (maze without cheese, target, start, stop)
    mazes: int

    @classmethod
    def build(cls, mazes: Sequence[Maze], targets: Sequence[Sequence[Cell]]) -> PathRows:
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
        return cls(tuple(rows), tuple(row_cell), tuple(spans), len(mazes))

    def path_probabilities(self, probs: np.ndarray) -> np.ndarray:
        """(mazes, targets) normalized path probabilities from the rows' move probabilities."""
        values = []
        for nm, t, a, b in self.spans:
            cells = tuple(r.mouse for r in self.rows[a:b])
            vf = VectorField(nm, cells, probs[a:b])
            values.append(normalized_path_probability(vf, t, start=nm.start))
        return np.array(values).reshape(self.mazes, -1)


@functools.lru_cache(maxsize=8)
def path_rows(mazes: tuple[Maze, ...], targets: tuple[tuple[Cell, ...], ...]) -> PathRows:
    """:meth:`PathRows.build`, once per batch: an experiment's conditions and its
    evaluation of the same batch share the rows (mazes are hashable values)."""
    return PathRows.build(mazes, targets)


def geometric_mean_over_targets(values: np.ndarray) -> np.ndarray:
    return np.exp(np.log(np.clip(values, 1e-12, 1)).mean(1))


@dataclass(frozen=True, eq=False)
class Retargeting(ConditionExperiment):
    """CH3: normalized path probability from the start to ``targets`` random cells per maze,
    cheese removed, unpatched and under each clamp (each row clamped at its own target's
    channel cell). Columns: the geometric mean over targets per condition, or -- with
    ``log_ratios`` -- each clamp's log ratio of those means to the unpatched one."""

    subject: Subject
    clamps: tuple[Clamp, ...]
    targets: int
    log_ratios: bool = False

    def target_cells(self, maze: Maze) -> list[Cell]:
        return retarget_cells(maze, self.targets)

    def rows(self, mazes: Sequence[Maze]) -> PathRows:
        return path_rows(tuple(mazes), tuple(tuple(self.target_cells(m)) for m in mazes))

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        rows = self.rows(mazes)
        layer = self.subject.layer
        return conditions(
            Condition("unpatched", rows.rows),
            *(Condition(c.name, rows.rows, (c.at(layer, rows.target_cells),)) for c in self.clamps),
        )

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        rows = self.rows(mazes)
        means = {
            name: geometric_mean_over_targets(
                rows.path_probabilities(move_probs(self.subject, arm))
            )
            for name, arm in arms.items()
        }
        if not self.log_ratios:
            return means
        return {c.name: np.log(means[c.name] / means["unpatched"]) for c in self.clamps}

    def example(self, maze: Maze) -> Example:
        """The no-cheese maze's field unpatched and with the first clamp at one target."""
        target = retarget_cells(maze, 1)[0]
        cell = channel_cell(maze.to_outer(target))
        clamp = self.clamps[0]
        nm = (maze.without_cheese(),)
        return Example(
            Condition("unpatched", nm),
            Condition(
                clamp.name, nm, (SetCell(self.subject.layer, clamp.channels, cell, clamp.value),)
            ),
            ("unpatched, no cheese", f"clamped ({clamp.name})"),
            (target,),
        )


@dataclass(frozen=True, eq=False)
class RetargetingByDistance(ConditionExperiment):
    """CH3[distance]: retargeting *success* -- the normalized path probability to the target
    under the clamp, cheese removed -- at ``targets`` cells per maze spread from the path to
    the top-right to the farthest cell. Columns: ``success`` and ``distance`` (mazes,
    targets), ``mean_success`` and ``size`` per maze, and the unpatched path probabilities
    (``unpatched``) beside them."""

    subject: Subject
    clamp: Clamp
    targets: int = 5

    def target_cells(self, maze: Maze) -> tuple[Cell, ...]:
        return distance_targets(maze, self.targets)[0]

    def rows(self, mazes: Sequence[Maze]) -> PathRows:
        return path_rows(tuple(mazes), tuple(tuple(self.target_cells(m)) for m in mazes))

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        rows = self.rows(mazes)
        patch = self.clamp.at(self.subject.layer, rows.target_cells)
        return conditions(
            Condition("unpatched", rows.rows), Condition(self.clamp.name, rows.rows, (patch,))
        )

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        rows = self.rows(mazes)
        base, success = (
            rows.path_probabilities(move_probs(self.subject, arms[k]))
            for k in ("unpatched", self.clamp.name)
        )
        distance = np.array([distance_targets(m, self.targets)[1] for m in mazes])
        return {
            "success": success,
            "distance": distance,
            "unpatched": base,
            "mean_success": success.mean(1),
            "size": np.array([m.size for m in mazes], dtype=float),
        }


@dataclass(frozen=True, eq=False)
class SpotOnBackground(ConditionExperiment):
    """CH4: mean path probability over ``targets`` random cells with the channel clamped at
    the target (``clamped``) and with the whole map at ``background`` except the target's
    spot (``replaced``)."""

    subject: Subject
    clamp: Clamp
    spot: Clamp
    targets: int
    background: float

    def rows(self, mazes: Sequence[Maze]) -> PathRows:
        return path_rows(tuple(mazes), tuple(tuple(retarget_cells(m, self.targets)) for m in mazes))

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        rows = self.rows(mazes)
        layer, cells = self.subject.layer, rows.target_cells
        return conditions(
            Condition("clamped", rows.rows, (self.clamp.at(layer, cells),)),
            Condition(
                "replaced", rows.rows, (self.spot.on_background(layer, cells, self.background),)
            ),
        )

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        rows = self.rows(mazes)
        return {
            k: rows.path_probabilities(move_probs(self.subject, arm)).mean(1)
            for k, arm in (("replaced", arms["replaced"]), ("clamped", arms["clamped"]))
        }
