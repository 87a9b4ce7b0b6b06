"""The top-right vector (TR family), alone and composed with the cheese vector."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.behavior.decision import direction_prior_probs
from harness.experiments.activations import cheese_vector, top_right_vector
from harness.experiments.conditions import (
    Condition,
    ConditionExperiment,
    Conditions,
    added,
    conditions,
    decisions,
    p_cheese,
    unpatched,
)
from harness.experiments.subject import Subject
from harness.interventions import AddVector
from harness.maze.maze import Maze


@dataclass(frozen=True, eq=False)
class TopRightVector(ConditionExperiment):
    """TR1/TR2: P(cheese), P(top-right) at the DS, unpatched and with ``coeff`` x the maze's
    top-right vector; and P(top-right) of a wall-aware direction-prior policy (the control)."""

    subject: Subject
    coeff: float

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        vectors = top_right_vector(self.subject, mazes)
        return conditions(
            unpatched(mazes),
            added(self.subject, "patched", mazes, vectors, self.coeff, "top_right_vector"),
        )

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        base = decisions(self.subject, arms["unpatched"])
        patched = decisions(self.subject, arms["patched"])
        prior = direction_prior_probs(mazes, base.probs[:, :4].mean(0))
        return {
            "p_cheese_unpatched": base.p_cheese,
            "p_cheese_patched": patched.p_cheese,
            "p_top_right_unpatched": base.p_top_right,
            "p_top_right_patched": patched.p_top_right,
            "p_top_right_direction_prior": prior.p_top_right,
        }


@dataclass(frozen=True, eq=False)
class Composition(ConditionExperiment):
    """TR3: change of P(cheese) under the cheese vector (-1), the TR vector (+1), and both."""

    subject: Subject

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        layer = self.subject.layer
        cv = AddVector(layer, cheese_vector(self.subject, mazes), -1.0, "cheese_vector")
        tr = AddVector(layer, top_right_vector(self.subject, mazes), 1.0, "top_right_vector")
        mazes = tuple(mazes)
        return conditions(
            unpatched(mazes),
            Condition("cheese", mazes, (cv,)),
            Condition("top_right", mazes, (tr,)),
            Condition("both", mazes, (cv, tr)),
        )

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        del mazes
        base, cv, tr, both = p_cheese(
            self.subject, arms, "unpatched", "cheese", "top_right", "both"
        )
        d_cv, d_tr = cv - base, tr - base
        return {
            "change_both": both - base,
            "change_sum": d_cv + d_tr,
            "change_cheese": d_cv,
            "change_top_right": d_tr,
        }
