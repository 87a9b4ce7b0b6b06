"""The cheese-vector experiments (CV family): per-maze vectors, transfer, averages, noise.

Every function takes a batch of mazes and returns named per-maze arrays (columns), which
is what the claim sampler records and analyses.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

import numpy as np
import torch

from harness.behavior.compare import mean_total_variation, off_path_cells
from harness.experiments.activations import cheese_vector, cheese_vectors
from harness.experiments.measure import decisions, field_changes, fields, per_maze_vector
from harness.experiments.subject import Subject
from harness.hooks import layer_shapes
from harness.interventions import AddVector, AddVectors
from harness.maze.maze import Maze
from harness.maze.streams import maze_stream, mazes_with_cheese_at, shifted

#: Layers CV8 leaves out: the heads (patching them just shifts logits).
HEADS = ("fc_policy_out", "fc_value_out")


def patched_decisions(
    subject: Subject, mazes: Sequence[Maze], vectors: torch.Tensor, coeff: float, name: str
) -> dict[str, np.ndarray]:
    """P(cheese) and P(top-right) at each DS, unpatched and with ``coeff * vectors[i]``."""
    base = decisions(subject, mazes)
    patched = decisions(subject, mazes, per_maze_vector(subject, vectors, coeff, name))
    return {
        "unpatched": base.p_cheese,
        "patched": patched.p_cheese,
        "p_top_right_unpatched": base.p_top_right,
        "p_top_right_patched": patched.p_top_right,
    }


def own_vector_decisions(subject: Subject, mazes: Sequence[Maze], coeff: float) -> dict:
    """CV1/CV2: each maze patched with its own cheese vector."""
    return patched_decisions(subject, mazes, cheese_vector(subject, mazes), coeff, "cheese_vector")


def _far_enough(a: Maze, b: Maze, min_offset: int) -> bool:
    ra, ca = a.to_outer(a.cheese)
    rb, cb = b.to_outer(b.cheese)
    return max(abs(ra - rb), abs(ca - cb)) >= min_offset


def transfer_sources(subject: Subject, targets: Sequence[Maze], min_offset: int) -> list[Maze]:
    """For each target, the next maze of the stream whose cheese is at least ``min_offset``
    outer cells away (the vector's source in CV3)."""
    out = []
    for t in targets:
        stream = maze_stream(t.seed + 1, subject.where(has_decision_square=True))
        out.append(next(m for m in stream if _far_enough(m, t, min_offset)))
    return out


def transfer_decisions(subject: Subject, mazes: Sequence[Maze], min_offset: int) -> dict:
    """CV3: target mazes patched with their own vector and with a far source's vector."""
    own = cheese_vector(subject, mazes)
    sources = transfer_sources(subject, mazes, min_offset)
    foreign = cheese_vector(subject, sources)
    base = decisions(subject, mazes)
    own_p = decisions(subject, mazes, per_maze_vector(subject, own, -1.0, "cheese_vector"))
    far_p = decisions(subject, mazes, per_maze_vector(subject, foreign, -1.0, "foreign_vector"))
    return {
        "unpatched": base.p_cheese,
        "own_patched": own_p.p_cheese,
        "transfer_patched": far_p.p_cheese,
        "own_drop": base.p_cheese - own_p.p_cheese,
        "transfer_change": far_p.p_cheese - base.p_cheese,
        "transfer_drop": base.p_cheese - far_p.p_cheese,
    }


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


def offset_transfer_drops(
    subject: Subject, sources: Sequence[Maze], offsets: Sequence[int]
) -> dict[str, np.ndarray]:
    """CV4: drop of P(cheese) in mazes whose cheese is at the source's cell + offset,
    patched with the source's vector. Column ``drops`` is (units, len(offsets))."""
    vectors = cheese_vector(subject, sources)
    drops = np.empty((len(sources), len(offsets)))
    for j, d in enumerate(offsets):
        targets = [offset_target(s, d, s.seed + 1 + 100_000 * j, subject) for s in sources]
        out = patched_decisions(subject, targets, vectors, -1.0, "source_vector")
        drops[:, j] = out["unpatched"] - out["patched"]
    cols = {f"drop_offset_{d}": drops[:, j] for j, d in enumerate(offsets)}
    return {"drops": drops, **cols}


def mean_cheese_vector(subject: Subject, base_seed: int, count: int) -> torch.Tensor:
    """The average of the cheese vectors of levels ``base_seed .. base_seed + count - 1``."""
    mazes = [Maze.from_seed(s) for s in range(base_seed, base_seed + count)]
    return cheese_vector(subject, mazes).mean(0)


def averaged_vector_decisions(
    subject: Subject, mazes: Sequence[Maze], average: torch.Tensor
) -> dict[str, np.ndarray]:
    """CV5: own vector vs the averaged vector, both subtracted."""
    own = cheese_vector(subject, mazes)
    base = decisions(subject, mazes)
    own_p = decisions(subject, mazes, per_maze_vector(subject, own, -1.0, "cheese_vector"))
    avg = AddVector(subject.layer, average.to(subject.device), -1.0, "mean_cheese_vector")
    avg_p = decisions(subject, mazes, lambda owners: [avg])
    return {
        "unpatched": base.p_cheese,
        "own_drop": base.p_cheese - own_p.p_cheese,
        "average_drop": base.p_cheese - avg_p.p_cheese,
    }


def noise_like(vectors: torch.Tensor, seeds: Sequence[int], scale: float | str) -> torch.Tensor:
    """Gaussian vectors, one per maze (seeded by its level seed), with per-element std
    ``scale`` or, for ``"match"``, the std of that maze's own cheese vector."""
    out = torch.empty_like(vectors)
    for i, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(int(seed))
        std = float(vectors[i].std()) if scale == "match" else float(scale)
        out[i] = torch.randn(vectors[i].shape, generator=gen).to(vectors) * std
    return out


def _on_path_tv(a, b) -> float:
    off = set(off_path_cells(a.maze))
    on = [c for c in a.cells if c not in off]
    return mean_total_variation(a, b, on) if on else 0.0


def noise_vs_cheese_fields(
    subject: Subject, mazes: Sequence[Maze], coeff: float, scale: float | str
) -> dict[str, np.ndarray]:
    """CV6: field changes from the cheese vector and from matched Gaussian noise."""
    vectors = cheese_vector(subject, mazes)
    noise = noise_like(vectors, [m.seed for m in mazes], scale)
    base = fields(subject, mazes)
    cheese = fields(subject, mazes, per_maze_vector(subject, vectors, coeff, "cheese_vector"))
    rand = fields(subject, mazes, per_maze_vector(subject, noise, coeff, "random_vector"))
    out = {**field_changes(base, cheese, "cheese"), **field_changes(base, rand, "random")}
    out["cheese_tv_on_path"] = np.array(
        [_on_path_tv(a, b) for a, b in zip(base, cheese, strict=True)]
    )
    return out


def patched_vs_no_cheese_fields(subject: Subject, mazes: Sequence[Maze]) -> dict[str, np.ndarray]:
    """CV7: distance of (cheese, patched) and of (cheese, unpatched) to (no cheese)."""
    vectors = cheese_vector(subject, mazes)
    no_cheese = fields(subject, [m.without_cheese() for m in mazes])
    unpatched = fields(subject, mazes)
    patched = fields(subject, mazes, per_maze_vector(subject, vectors, -1.0, "cheese_vector"))
    d_un, d_pa = [], []
    for f0, f1, f2 in zip(no_cheese, patched, unpatched, strict=True):
        cells = f2.cells  # the cheese maze's mouse cells (the cheese cell has no field entry)
        d_pa.append(mean_total_variation(f0, f1, cells))
        d_un.append(mean_total_variation(f0, f2, cells))
    return {"distance_unpatched": np.array(d_un), "distance_patched": np.array(d_pa)}


def patchable_layers(subject: Subject) -> list[str]:
    """Every activation (each once) except the two heads: CV8's layers."""
    return [label for label in layer_shapes(subject.policy, containers=False) if label not in HEADS]


def all_layer_decisions(subject: Subject, mazes: Sequence[Maze], coeff: float) -> dict:
    """CV8: each maze's cheese-vector difference at every layer, all added at once."""
    layers = patchable_layers(subject)
    vectors = {k: v.to(subject.device) for k, v in cheese_vectors(subject, mazes, layers).items()}

    def make(owners: np.ndarray) -> list[AddVectors]:
        idx = torch.as_tensor(owners, device=subject.device)
        return [AddVectors({k: v[idx] for k, v in vectors.items()}, coeff, "cheese_vectors")]

    base = decisions(subject, mazes)
    patched = decisions(subject, mazes, make)
    return {
        "unpatched": base.p_cheese,
        "patched": patched.p_cheese,
        "layers": np.full(len(mazes), len(layers)),
    }
