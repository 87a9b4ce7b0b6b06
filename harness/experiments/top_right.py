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


#: Probabilities are clipped to [LOGIT_CLIP, 1 - LOGIT_CLIP] before the logit (|logit| <= 9.2).
LOGIT_CLIP = 1e-4


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), LOGIT_CLIP, 1.0 - LOGIT_CLIP)
    return np.log(p) - np.log1p(-p)


def interaction_columns(name: str, base, cv, tr, both) -> dict[str, np.ndarray]:
    """Additivity of two effects on P(name), per maze: on the logit scale (where floors
    and ceilings do not force an interaction) the interaction
    ``logit(both) - logit(cv) - logit(tr) + logit(base)`` and the separate effects' summed
    size; on the probability scale the change under both and the sum of the changes."""
    lb, lc, lt, l2 = (logit(v) for v in (base, cv, tr, both))
    return {
        f"logit_interaction_{name}": l2 - lc - lt + lb,
        f"logit_separate_{name}": np.abs(lc - lb) + np.abs(lt - lb),
        f"change_both_{name}": both - base,
        f"change_sum_{name}": (cv - base) + (tr - base),
    }


@dataclass(frozen=True, eq=False)
class Composition(ConditionExperiment):
    """TR3: P(cheese) and P(top-right) under the cheese vector (-1), the TR vector (+1), and
    both; their interaction on the logit scale (:func:`interaction_columns`)."""

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
        probs = [
            decisions(self.subject, arms[k]) for k in ("unpatched", "cheese", "top_right", "both")
        ]
        return {
            **interaction_columns("cheese", *(d.p_cheese for d in probs)),
            **interaction_columns("top_right", *(d.p_top_right for d in probs)),
        }
