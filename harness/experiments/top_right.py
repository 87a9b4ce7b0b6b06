"""The top-right vector (TR family), alone and composed with the cheese vector."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from harness.behavior.decision import direction_prior_probs
from harness.experiments.activations import cheese_vector, top_right_vector
from harness.experiments.measure import decisions, per_maze_vector
from harness.experiments.subject import Subject
from harness.interventions import AddVector
from harness.maze.maze import Maze


def top_right_decisions(subject: Subject, mazes: Sequence[Maze], coeff: float) -> dict:
    """P(cheese), P(top-right) at the DS, unpatched and with ``coeff`` x the TR vector."""
    vectors = top_right_vector(subject, mazes)
    base = decisions(subject, mazes)
    patched = decisions(
        subject, mazes, per_maze_vector(subject, vectors, coeff, "top_right_vector")
    )
    prior = direction_prior_probs(mazes, base.probs[:, :4].mean(0))
    return {
        "p_cheese_unpatched": base.p_cheese,
        "p_cheese_patched": patched.p_cheese,
        "p_top_right_unpatched": base.p_top_right,
        "p_top_right_patched": patched.p_top_right,
        "p_top_right_direction_prior": prior.p_top_right,
    }


def composition(subject: Subject, mazes: Sequence[Maze]) -> dict:
    """TR3: change of P(cheese) under the cheese vector (-1), the TR vector (+1), and both."""
    cv = cheese_vector(subject, mazes).to(subject.device)
    tr = top_right_vector(subject, mazes).to(subject.device)

    def add(pairs):
        def make(owners: np.ndarray) -> list[AddVector]:
            idx = torch.as_tensor(owners, device=subject.device)
            return [AddVector(subject.layer, v[idx], c, name) for v, c, name in pairs]

        return make

    base = decisions(subject, mazes).p_cheese
    d_cv = decisions(subject, mazes, add([(cv, -1.0, "cheese_vector")])).p_cheese - base
    d_tr = decisions(subject, mazes, add([(tr, 1.0, "top_right_vector")])).p_cheese - base
    both = (
        decisions(
            subject, mazes, add([(cv, -1.0, "cheese_vector"), (tr, 1.0, "top_right_vector")])
        ).p_cheese
        - base
    )
    return {
        "change_both": both,
        "change_sum": d_cv + d_tr,
        "change_cheese": d_cv,
        "change_top_right": d_tr,
    }
