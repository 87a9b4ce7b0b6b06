"""Batched measurements under interventions: decisions at the decision square, vector
fields, and field changes, for many mazes at once.

An intervention that differs per maze is given as a function of the owner indices of a
forward chunk (which maze each row belongs to), so mazes of different sizes batch together.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from harness.behavior.compare import average_change, mean_total_variation, off_path_cells
from harness.behavior.decision import DecisionProbs, decision_probs
from harness.behavior.vfield import VectorField, vector_fields
from harness.experiments.subject import InterventionsFor, Subject
from harness.interventions import AddVector
from harness.maze.maze import Maze


def per_maze_vector(
    subject: Subject, vectors: torch.Tensor, coeff: float, name: str
) -> InterventionsFor:
    """Interventions adding ``coeff * vectors[owner]`` at the subject's layer, row by row."""
    vectors = vectors.to(subject.device)

    def make(owners: np.ndarray) -> list[AddVector]:
        idx = torch.as_tensor(owners, device=vectors.device)
        return [AddVector(subject.layer, vectors[idx], coeff, name)]

    return make


def decisions(
    subject: Subject, mazes: Sequence[Maze], interventions_for: InterventionsFor | None = None
) -> DecisionProbs:
    return decision_probs(subject.runner(interventions_for), mazes, subject.device)


def fields(
    subject: Subject, mazes: Sequence[Maze], interventions_for: InterventionsFor | None = None
) -> list[VectorField]:
    return vector_fields(subject.runner(interventions_for), mazes, subject.device)


def field_changes(
    before: Sequence[VectorField], after: Sequence[VectorField], prefix: str
) -> dict[str, np.ndarray]:
    """Per maze: mean total variation over all cells and off the cheese path, and the post's
    average change in action probabilities."""
    tv, tv_off, avg = [], [], []
    for a, b in zip(before, after, strict=True):
        tv.append(mean_total_variation(a, b))
        off = off_path_cells(a.maze)
        tv_off.append(mean_total_variation(a, b, off) if off else 0.0)
        avg.append(average_change(a, b))
    return {
        f"{prefix}_tv": np.array(tv),
        f"{prefix}_tv_off_path": np.array(tv_off),
        f"{prefix}_avg_change": np.array(avg),
    }
