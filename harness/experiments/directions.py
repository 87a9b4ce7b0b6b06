"""Experiments with channel-space directions (AT1, NM1, ED1): where integrated gradients of
P(cheese) land, an NMF direction that tracks the cheese, and a policy edited to ignore it.

The NMF is fitted once per policy and settings on a fixed *fit set* (mazes from
``fit_seed`` on, disjoint from the claims' seeds, the mouse on several random cells each),
and its cheese direction is chosen there too (the direction whose positive peak most often
sits at the cheese's channel cell, as in CH1). The claims then measure that fixed direction
on fresh mazes, so the choice cannot overfit the tested sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from harness.analysis.attribution import (
    layer_activations,
    layer_attribution,
    share_near,
    spatial_map,
)
from harness.analysis.kernel_edit import KernelEdit
from harness.analysis.nmf import LayerNMF, fit_layer_nmf
from harness.behavior.compare import field_changes
from harness.behavior.decision import at_decision_squares, decision_moves
from harness.experiments.activations import activations
from harness.experiments.channels import MIN_TRACKING_SIZE, cheese_placements, peak_hits
from harness.experiments.conditions import (
    Condition,
    ConditionExperiment,
    Conditions,
    Example,
    conditions,
    fields,
    p_cheese,
)
from harness.experiments.subject import Subject
from harness.intervention_values import as_direction
from harness.interventions import ProjectOut
from harness.maze.maze import Maze
from harness.maze.render import observations
from harness.maze.streams import maze_stream, take
from harness.policy.geometry import channel_cell


@dataclass(frozen=True)
class FitSettings:
    """How the NMF is fitted and its cheese direction chosen (the profile's [shared.nmf])."""

    components: int = 6
    fit_mazes: int = 40
    positions: int = 4  # mouse cells per fit maze
    fit_seed: int = 5_000_000
    placements: int = 6  # cheese cells per maze when scoring tracking
    tolerance: int = 1

    @classmethod
    def from_table(cls, table) -> FitSettings:
        """Settings from the profile's shared ``[shared.nmf]`` table (NM1 and ED1 read it)."""
        names = ("components", "fit_mazes", "positions", "fit_seed", "placements", "tolerance")
        return cls(**{k: int(table.require(k)) for k in names})


@dataclass(frozen=True, eq=False)
class CheeseDirection:
    nmf: LayerNMF
    index: int  # the chosen direction
    fit_hit_rates: np.ndarray  # (k,) peak-at-cheese rate of every direction on the fit set
    fit_mazes: tuple[Maze, ...]

    @property
    def vector(self) -> np.ndarray:
        return self.nmf.directions[self.index]


def fit_set(subject: Subject, s: FitSettings) -> list[Maze]:
    """The fit mazes, each with the mouse on ``positions`` random cells (cheese present)."""
    mazes = take(maze_stream(s.fit_seed, subject.where()), s.fit_mazes)
    out = []
    for m in mazes:
        rng = np.random.default_rng([m.seed or 0, 7])
        cells = m.mouse_cells
        picks = rng.choice(len(cells), size=min(s.positions, len(cells)), replace=False)
        out += [m.with_mouse(cells[i]) for i in sorted(picks)]
    return out


def direction_maps(subject: Subject, nmf: LayerNMF, mazes: Sequence[Maze]) -> np.ndarray:
    return nmf.maps(activations(subject, list(mazes))[subject.layer])


@dataclass(frozen=True, eq=False)
class Tracking:
    """Per maze: each direction's peak-at-cheese rate over the cheese placements (mouse at
    the start), and the share of a direction's response the cheese channels carry."""

    rates: np.ndarray  # (mazes, k)
    placed: list[Maze]
    owners: np.ndarray  # (placements,) index of each placement's maze
    maps: np.ndarray  # (placements, k, H, W)
    acts: np.ndarray  # (placements, C, H, W), clipped at zero


def tracking(
    subject: Subject, nmf: LayerNMF, mazes: Sequence[Maze], placements: int, tolerance: int
) -> Tracking:
    placed, owners = [], []
    for i, m in enumerate(mazes):
        ps = cheese_placements(m.with_mouse(m.start), placements, tolerance)
        if not ps:
            raise ValueError(
                f"maze {m.seed} has no cheese cell more than {tolerance} channel cell(s) from "
                f"the mouse; track the cheese on mazes of size >= {MIN_TRACKING_SIZE}"
            )
        placed += ps
        owners += [i] * len(ps)
    acts = activations(subject, placed)[subject.layer]
    maps = nmf.maps(acts)
    cells = [channel_cell(p.to_outer(p.cheese)) for p in placed]
    hits = peak_hits(torch.as_tensor(maps), cells, tolerance)
    owners = np.array(owners)
    rates = np.stack([hits[owners == i].mean(0) for i in range(len(mazes))])
    return Tracking(rates, placed, owners, maps, np.maximum(acts.cpu().numpy(), 0))


def cheese_direction(subject: Subject, s: FitSettings) -> CheeseDirection:
    """NMF of the subject's layer on the fit set and the direction that tracks the cheese
    best there (computed once per policy, layer, maze sizes and settings)."""

    def fit() -> CheeseDirection:
        mazes = fit_set(subject, s)
        acts = activations(subject, mazes)[subject.layer]
        nmf = fit_layer_nmf(acts, min(s.components, acts.shape[1]), subject.layer)
        firsts = [
            m for i, m in enumerate(mazes) if i % s.positions == 0 and m.size >= MIN_TRACKING_SIZE
        ]
        mean = tracking(subject, nmf, firsts, s.placements, s.tolerance).rates.mean(0)
        return CheeseDirection(nmf, int(np.argmax(mean)), mean, tuple(mazes))

    key = ("cheese_direction", subject.layer, subject.min_size, subject.max_size, s)
    return subject.hooked.memo(key, fit)


# ------------------------------------------------------------------------------ NM1
@dataclass(frozen=True, eq=False)
class DirectionTracking:
    """NM1 columns per maze: the chosen direction's hit rate, the other directions' mean,
    and the share of the direction's response (u . relu(x), summed over the maze's cheese
    placements and cells) that the cheese channels carry (0 when it never responds)."""

    subject: Subject
    found: CheeseDirection
    cheese: tuple[int, ...]
    settings: FitSettings

    def __call__(self, mazes: Sequence[Maze]) -> dict[str, np.ndarray]:
        return nmf_tracking(self.subject, self.found, mazes, self.cheese, self.settings)


def nmf_tracking(
    subject: Subject,
    found: CheeseDirection,
    mazes: Sequence[Maze],
    cheese: Sequence[int],
    s: FitSettings,
) -> dict[str, np.ndarray]:
    """:class:`DirectionTracking`'s columns."""
    t = tracking(subject, found.nmf, mazes, s.placements, s.tolerance)
    others = [j for j in range(found.nmf.k) if j != found.index]
    response = np.einsum("nchw,c->nc", t.acts, found.vector)
    per_row = np.stack([response[:, list(cheese)].sum(1), response.sum(1)], 1)
    share = np.zeros(len(mazes))
    for i in range(len(mazes)):
        part, total = per_row[t.owners == i].sum(0)
        share[i] = part / total if total > 0 else 0.0
    return {
        "hit_direction": t.rates[:, found.index],
        "hit_other_directions": t.rates[:, others].mean(1) if others else np.zeros(len(mazes)),
        "cheese_channel_share": share,
    }


# ------------------------------------------------------------------------------ AT1
def decision_attribution(
    subject: Subject, mazes: Sequence[Maze], steps: int, baseline: str = "zero"
) -> tuple[torch.Tensor, np.ndarray]:
    """IG of P(move toward the cheese) at each decision square w.r.t. the subject's layer:
    (N, C, H, W) attributions and the move indices used."""
    placed = at_decision_squares(mazes)
    moves = decision_moves(mazes).to_cheese
    obs = observations(placed, subject.device)
    base = None
    if baseline == "no_cheese":
        nobs = observations([m.without_cheese() for m in placed], subject.device)
        base = layer_activations(subject.policy, nobs, subject.layer)
    elif baseline != "zero":
        raise ValueError(f"baseline must be 'zero' or 'no_cheese', got {baseline!r}")
    attr = layer_attribution(subject.policy, obs, subject.layer, moves, base, steps)
    return attr, moves


@dataclass(frozen=True, eq=False)
class AttributionNearCheese:
    """AT1 columns: share of positive attribution within ``radius`` channel cells of the
    cheese, and the share of the map's area there."""

    subject: Subject
    radius: int
    steps: int
    baseline: str = "zero"

    def __call__(self, mazes: Sequence[Maze]) -> dict[str, np.ndarray]:
        attr, _ = decision_attribution(self.subject, mazes, self.steps, self.baseline)
        cells = [channel_cell(m.to_outer(m.cheese)) for m in mazes]
        observed, area = share_near(spatial_map(attr).cpu(), cells, self.radius)
        return {"share_near_cheese": observed, "area_share": area, "excess": observed - area}


# ------------------------------------------------------------------------------ ED1
def random_directions(mazes: Sequence[Maze], channels: int) -> torch.Tensor:
    """One Gaussian unit direction per maze, seeded by its level seed."""
    out = []
    for m in mazes:
        g = torch.Generator().manual_seed(int(m.seed or 0) + 7_000_000)
        out.append(as_direction(torch.randn(channels, generator=g), channels))
    return torch.stack(out)


def second_moments(subject: Subject, mazes: Sequence[Maze], layers: Sequence[str]) -> torch.Tensor:
    """(mazes, C, C): per maze, the sum over the edit layers and positions of a a^T of the
    channel vectors, mouse on the decision square (what P(cheese) is read from). The
    activation energy a direction u removes there is u^T M u."""
    acts = activations(subject, at_decision_squares(mazes), layers)
    out = 0
    for a in acts.values():
        flat = a.double().flatten(2)  # (N, C, positions)
        out = out + flat @ flat.transpose(1, 2)
    return out.cpu()


def energy(moments: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    return torch.einsum("...i,...ij,...j->...", u, moments, u)


def matched_direction(moments: torch.Tensor, start: torch.Tensor, target: float) -> torch.Tensor:
    """A unit direction removing ``target`` energy: on the great circle from the random
    ``start`` toward the top (or bottom) eigenvector of ``moments``, by bisection. Energy is
    continuous along the arc and spans [E(start), E(top)], which contains the target
    whenever the target lies between the start's and the extreme (else the extreme)."""
    _, evecs = torch.linalg.eigh(moments)
    e0 = float(energy(moments, start))
    end = evecs[:, -1] if target > e0 else evecs[:, 0]
    end = end - (end @ start) * start
    if float(end.norm()) < 1e-12:
        return start
    end = end / end.norm()
    lo, hi = 0.0, float(np.pi / 2)
    for _ in range(50):
        mid = (lo + hi) / 2
        e = float(energy(moments, np.cos(mid) * start + np.sin(mid) * end))
        lo, hi = (mid, hi) if (e < target) == (target > e0) else (lo, mid)
    t = (lo + hi) / 2
    return np.cos(t) * start + np.sin(t) * end


def matched_random_directions(
    subject: Subject, mazes: Sequence[Maze], direction: np.ndarray, layers: Sequence[str]
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Per maze a random unit direction matched to ``direction`` on the activation energy it
    removes (:func:`matched_direction`), with both energies' ratio and its |cosine| with
    ``direction``. An unmatched Gaussian direction removes about 1/C of the energy, while an
    NMF direction aligned with the activations removes far more, so "the edit's drop exceeds
    a random direction's" would hold by construction."""
    moments = second_moments(subject, mazes, layers)
    u = torch.as_tensor(direction, dtype=torch.float64).flatten()
    u = u / u.norm()
    starts = random_directions(mazes, moments.shape[-1]).double()
    out, ratio, cos = [], [], []
    for m, s in zip(moments, starts, strict=True):
        target = float(energy(m, u))
        r = matched_direction(m, s, target)
        out.append(r)
        ratio.append(float(energy(m, r)) / target if target > 0 else 1.0)
        cos.append(abs(float(r @ u)))
    return torch.stack(out).float(), np.array(ratio), np.array(cos)


@dataclass(frozen=True, eq=False)
class KernelEditEffects(ConditionExperiment):
    """ED1 columns: P(cheese) at the DS unpatched, with the kernels reading ``layers`` edited
    to ignore the direction, and with each maze's random direction -- matched on the
    activation energy it removes -- projected out at the same layers (the activation twin of
    the kernel edit); field change off the cheese path."""

    subject: Subject
    edit: KernelEdit

    def control(self, mazes: Sequence[Maze]):
        """The matched random directions of these mazes (computed once per batch)."""
        key = ("ed1_control", self.edit.key, tuple(m.seed for m in mazes))
        return self.subject.hooked.memo(
            key,
            lambda: matched_random_directions(
                self.subject, mazes, self.edit.direction, self.edit.layers
            ),
        )

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        rand = self.control(mazes)[0].to(self.subject.device)
        mazes = tuple(mazes)
        project = tuple(ProjectOut(layer, rand, "random_direction") for layer in self.edit.layers)
        return conditions(
            Condition("unpatched", mazes),
            Condition("edited", mazes, kernel_edit=self.edit),
            Condition("random_edited", mazes, project),
        )

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        base, after, randomized = p_cheese(
            self.subject, arms, "unpatched", "edited", "random_edited"
        )
        before, edited = (fields(self.subject, arms[k]) for k in ("unpatched", "edited"))
        _, ratio, cos = self.control(mazes)
        return {
            "control_energy_ratio": ratio,
            "control_abs_cosine": cos,
            "unpatched": base,
            "edited": after,
            "random_edited": randomized,
            "drop": base - after,
            "random_drop": base - randomized,
            **field_changes(before, edited, "edit"),
        }

    def example(self, maze: Maze) -> Example:
        arms = self.conditions([maze])
        return Example(arms["unpatched"], arms["edited"], ("unpatched", "kernels edited"))
