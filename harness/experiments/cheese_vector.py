"""The cheese-vector experiments (CV family): per-maze vectors, transfer, averages, noise.

Each experiment is a small value: ``conditions(mazes)`` names the arms (unpatched, patched
with the maze's own vector, with another maze's, ...), calling it on a batch of mazes
returns named per-maze columns, which is what the claim sampler records and analyses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np
import torch

from harness.behavior.compare import field_changes, mean_total_variation, off_path_cells
from harness.experiments.activations import cheese_vector, cheese_vectors
from harness.experiments.conditions import (
    Condition,
    ConditionExperiment,
    Conditions,
    Example,
    added,
    conditions,
    decisions,
    fields,
    p_cheese,
    unpatched,
)
from harness.experiments.subject import Subject
from harness.interventions import AddVectors
from harness.maze.checks import as_index
from harness.maze.maze import Maze, MazeError
from harness.maze.procgen_env import WORLD_DIM
from harness.maze.streams import (
    MAX_SEEDS_WITHOUT_MATCH,
    MazeFilter,
    MazeSearchError,
    maze_stream,
    mazes_with_cheese_at,
    shifted,
)

#: Layers CV8 leaves out: the heads (patching them just shifts logits).
HEADS = ("fc_policy_out", "fc_value_out")


@dataclass(frozen=True, eq=False)
class OwnVector(ConditionExperiment):
    """CV1/CV2: each maze patched with ``coeff`` times its own cheese vector."""

    subject: Subject
    coeff: float

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        vectors = cheese_vector(self.subject, mazes)
        return conditions(
            unpatched(mazes), added(self.subject, "patched", mazes, vectors, self.coeff)
        )

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        del mazes
        base = decisions(self.subject, arms["unpatched"])
        patched = decisions(self.subject, arms["patched"])
        return {
            "unpatched": base.p_cheese,
            "patched": patched.p_cheese,
            "p_top_right_unpatched": base.p_top_right,
            "p_top_right_patched": patched.p_top_right,
        }

    def example(self, maze: Maze) -> Example:
        arms = self.conditions([maze])
        return Example(arms["unpatched"], arms["patched"], ("unpatched", f"c = {self.coeff:g}"))

    def p_cheese_does_not_fall(self, maze: Maze) -> bool:
        """A counterexample to CV1: P(cheese) at the decision square does not fall."""
        d = self([maze])
        return bool(d["patched"][0] >= d["unpatched"][0])

    def p_cheese_moves_more_than(self, margin: float, maze: Maze) -> bool:
        """A counterexample to CV2: P(cheese) at the decision square moves beyond ``margin``."""
        d = self([maze])
        return bool(abs(d["patched"][0] - d["unpatched"][0]) > margin)


# ------------------------------------------------------------------------------ CV3
def _far_enough(a: Maze, b: Maze, min_offset: int) -> bool:
    ra, ca = a.to_outer(a.cheese)
    rb, cb = b.to_outer(b.cheese)
    return max(abs(ra - rb), abs(ca - cb)) >= min_offset


@dataclass(frozen=True, eq=False)
class Transfer(ConditionExperiment):
    """CV3: each target maze patched with its own vector and with the vector of the next
    maze of the stream whose cheese is at least ``min_offset`` outer cells away."""

    subject: Subject
    min_offset: int

    def __post_init__(self) -> None:
        offset = as_index(self.min_offset, "CV3 min_offset")
        if not 1 <= offset < WORLD_DIM:
            raise MazeError(f"CV3 min_offset must lie in 1..{WORLD_DIM - 1} cells, got {offset}")

    def sources(self, targets: Sequence[Maze]) -> list[Maze]:
        where = self.subject.where(has_decision_square=True)
        return [self._source(t, where) for t in targets]

    def _source(self, target: Maze, where: MazeFilter) -> Maze:
        """The next maze whose cheese is far enough from ``target``'s, in a bounded search."""
        candidates = islice(maze_stream(target.seed + 1, where), MAX_SEEDS_WITHOUT_MATCH)
        for maze in candidates:
            if _far_enough(maze, target, self.min_offset):
                return maze
        raise MazeSearchError(
            f"none of the {MAX_SEEDS_WITHOUT_MATCH} mazes after seed {target.seed} "
            f"({where.describe()}) has its cheese at least {self.min_offset} cells from that "
            "maze's cheese: lower CV3's min_offset"
        )

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        own = cheese_vector(self.subject, mazes)
        foreign = cheese_vector(self.subject, self.sources(mazes))
        return conditions(
            unpatched(mazes),
            added(self.subject, "own", mazes, own, -1.0),
            added(self.subject, "transfer", mazes, foreign, -1.0, "foreign_vector"),
        )

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        del mazes
        base, own, far = p_cheese(self.subject, arms, "unpatched", "own", "transfer")
        return {
            "unpatched": base,
            "own_patched": own,
            "transfer_patched": far,
            "own_drop": base - own,
            "transfer_change": far - base,
            "transfer_drop": base - far,
        }


# ------------------------------------------------------------------------------ CV4
#: Seeds scanned for a CV4 target maze before giving up.
OFFSET_SEARCH_SEEDS = 20_000


def offset_target(source: Maze, offset: int, search_from: int, subject: Subject) -> Maze:
    """A maze (not ``source``) with a DS whose cheese sits at the source's cheese cell moved
    ``offset`` columns (right if it fits in the world, else left)."""
    r, c = source.to_outer(source.cheese)
    # stay inside the outer columns the subject's largest mazes cover: a cell outside them
    # is in no maze the stream can yield, and the search would never end
    first = (source.world_dim - subject.max_size) // 2
    last = first + subject.max_size - 1
    if c + offset <= last:
        dc = offset
    elif c - offset >= first:
        dc = -offset
    else:
        raise ValueError(
            f"no cell {offset} columns from outer column {c} lies in mazes of size <= "
            f"{subject.max_size}"
        )
    cell = shifted((r, c), (0, dc))
    where = subject.where(has_decision_square=True)
    found = mazes_with_cheese_at(
        cell, search_from, where, exclude=[source.seed], max_seeds=OFFSET_SEARCH_SEEDS
    )
    for maze in islice(found, 1):
        return maze
    raise LookupError(
        f"no maze with a decision square and the cheese movable to outer cell {cell} among "
        f"{OFFSET_SEARCH_SEEDS} seeds from {search_from}"
    )


@dataclass(frozen=True, eq=False)
class OffsetTransfer(ConditionExperiment):
    """CV4: each source maze's vector subtracted in mazes whose cheese is at the source's
    cell moved by each offset. Column ``drops`` is (units, offsets); ``drop_offset_<d>``
    one offset's drop of P(cheese). With ``own_vector`` the first offset's target mazes also
    get their *own* vector subtracted (column ``own_drop``: CV1's effect in those mazes,
    which a transfer at offset 0 should be comparable to)."""

    subject: Subject
    offsets: tuple[int, ...]
    own_vector: bool = False

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        vectors = cheese_vector(self.subject, mazes)
        arms = []
        for j, d in enumerate(self.offsets):
            targets = [offset_target(s, d, s.seed + 1 + 100_000 * j, self.subject) for s in mazes]
            arms.append(unpatched(targets, f"unpatched_offset_{d}"))
            arms.append(
                added(self.subject, f"patched_offset_{d}", targets, vectors, -1.0, "source_vector")
            )
            if self.own_vector and j == 0:
                own = cheese_vector(self.subject, targets)
                arms.append(added(self.subject, "own_patched", targets, own, -1.0, "own_vector"))
        return conditions(*arms)

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        drops = np.empty((len(mazes), len(self.offsets)))
        for j, d in enumerate(self.offsets):
            base, patched = p_cheese(
                self.subject, arms, f"unpatched_offset_{d}", f"patched_offset_{d}"
            )
            drops[:, j] = base - patched
        cols = {f"drop_offset_{d}": drops[:, j] for j, d in enumerate(self.offsets)}
        if self.own_vector:
            first = self.offsets[0]
            base, own = p_cheese(self.subject, arms, f"unpatched_offset_{first}", "own_patched")
            cols["own_drop"] = base - own
        return {"drops": drops, **cols}


# ------------------------------------------------------------------------------ CV5
def mean_cheese_vector(subject: Subject, base_seed: int, count: int) -> torch.Tensor:
    """The average of the cheese vectors of levels ``base_seed .. base_seed + count - 1``
    (computed once per policy, layer and seed range)."""

    def compute() -> torch.Tensor:
        mazes = [Maze.from_seed(s) for s in range(base_seed, base_seed + count)]
        return cheese_vector(subject, mazes).mean(0)

    return subject.hooked.memo(("mean_cheese_vector", subject.layer, base_seed, count), compute)


@dataclass(frozen=True, eq=False)
class AveragedVector(ConditionExperiment):
    """CV5: each maze's own vector vs the mean of ``sources`` mazes' vectors, both subtracted."""

    subject: Subject
    source_base_seed: int
    sources: int

    @property
    def name(self) -> str:
        last = self.source_base_seed + self.sources - 1
        return f"mean of {self.sources} cheese vectors (seeds {self.source_base_seed}..{last})"

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        average = mean_cheese_vector(self.subject, self.source_base_seed, self.sources)
        return conditions(
            unpatched(mazes),
            added(self.subject, "own", mazes, cheese_vector(self.subject, mazes), -1.0),
            added(self.subject, "average", mazes, average, -1.0, self.name),
        )

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        del mazes
        base, own, avg = p_cheese(self.subject, arms, "unpatched", "own", "average")
        return {"unpatched": base, "own_drop": base - own, "average_drop": base - avg}


# ------------------------------------------------------------------------------ CV6
def noise_like(vectors: torch.Tensor, seeds: Sequence[int], scale: float | str) -> torch.Tensor:
    """Gaussian vectors, one per maze (seeded by its level seed), with per-element std
    ``scale`` or, for ``"match"``, the std of that maze's own cheese vector."""
    # Drawn on the CPU from per-seed generators (the same numbers on every device), moved
    # once; the per-maze stds stay on the device (no host sync per maze).
    shape = vectors.shape[1:]
    noise = torch.stack(
        [torch.randn(shape, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
    ).to(vectors)
    if scale == "match":
        std = vectors.flatten(1).std(1).reshape(-1, *(1,) * len(shape))
    else:
        std = float(scale)
    return noise * std


def _on_path_tv(a, b) -> float:
    off = set(off_path_cells(a.maze))
    on = [c for c in a.cells if c not in off]
    return mean_total_variation(a, b, on) if on else 0.0


@dataclass(frozen=True, eq=False)
class NoiseVsCheese(ConditionExperiment):
    """CV6: field changes from the cheese vector and from matched Gaussian noise."""

    subject: Subject
    coeff: float
    scale: float | str

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        vectors = cheese_vector(self.subject, mazes)
        noise = noise_like(vectors, [m.seed for m in mazes], self.scale)
        std = "std of the maze's cheese vector" if self.scale == "match" else f"std {self.scale}"
        return conditions(
            unpatched(mazes),
            added(self.subject, "cheese", mazes, vectors, self.coeff),
            added(self.subject, "random", mazes, noise, self.coeff, f"Gaussian vector ({std})"),
        )

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        del mazes
        base, cheese, rand = (
            fields(self.subject, arms[k]) for k in ("unpatched", "cheese", "random")
        )
        out = {**field_changes(base, cheese, "cheese"), **field_changes(base, rand, "random")}
        out["cheese_tv_on_path"] = np.array(
            [_on_path_tv(a, b) for a, b in zip(base, cheese, strict=True)]
        )
        return out


# ------------------------------------------------------------------------------ CV7
@dataclass(frozen=True, eq=False)
class PatchedVsNoCheese(ConditionExperiment):
    """CV7: distance of (cheese, patched) and of (cheese, unpatched) to (no cheese)."""

    subject: Subject

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        vectors = cheese_vector(self.subject, mazes)
        return conditions(
            unpatched([m.without_cheese() for m in mazes], "no_cheese"),
            unpatched(mazes),
            added(self.subject, "patched", mazes, vectors, -1.0),
        )

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        del mazes
        no_cheese, base, patched = (
            fields(self.subject, arms[k]) for k in ("no_cheese", "unpatched", "patched")
        )
        d_un, d_pa = [], []
        for f0, f1, f2 in zip(no_cheese, patched, base, strict=True):
            cells = f2.cells  # the cheese maze's mouse cells (the cheese cell has no field entry)
            d_pa.append(mean_total_variation(f0, f1, cells))
            d_un.append(mean_total_variation(f0, f2, cells))
        return {"distance_unpatched": np.array(d_un), "distance_patched": np.array(d_pa)}


# ------------------------------------------------------------------------------ CV8
def patchable_layers(subject: Subject) -> list[str]:
    """Every activation (each once) except the two heads: CV8's layers."""
    shapes = subject.hooked.shapes
    return [label for label in shapes if label in subject.hooked.leaves and label not in HEADS]


@dataclass(frozen=True, eq=False)
class AllLayers(ConditionExperiment):
    """CV8: each maze's cheese-vector difference at every layer, all added at once."""

    subject: Subject
    coeff: float

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        layers = patchable_layers(self.subject)
        vectors = cheese_vectors(self.subject, mazes, layers)
        patch = AddVectors(vectors, self.coeff, "cheese_vectors")
        return conditions(unpatched(mazes), Condition("patched", tuple(mazes), (patch,)))

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        base, patched = p_cheese(self.subject, arms, "unpatched", "patched")
        layers = len(patchable_layers(self.subject))
        return {"unpatched": base, "patched": patched, "layers": np.full(len(mazes), layers)}
