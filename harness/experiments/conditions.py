"""Conditions: the arms of an experiment as data, and the measurements run under them.

A :class:`Condition` names what the policy sees (mazes) and what is done to it there
(interventions, or a kernel edit). Per-maze data -- each maze's own cheese vector -- is one
tensor with a row per maze inside the intervention; the hook machinery indexes it by the
maze each forward row belongs to, so mazes of every size batch together and nothing is
rebuilt per chunk. An experiment (:class:`ConditionExperiment`) builds its conditions for a
batch of mazes and evaluates them into per-maze columns; the claim records the conditions
with :meth:`Condition.to_dict`, and the example figures reuse the same objects.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from harness.behavior.decision import (
    DecisionProbs,
    at_decision_squares,
    decision_probs,
    decisions_from_probs,
)
from harness.behavior.vfield import VectorField, policy_probs, vector_fields
from harness.experiments.shared_results import shared_results
from harness.experiments.subject import Subject
from harness.interventions import AddVector, Intervention
from harness.maze.maze import Cell, Maze

if TYPE_CHECKING:
    from harness.analysis.kernel_edit import KernelEdit


@dataclass(frozen=True, eq=False)
class Condition:
    """One arm of an experiment: the mazes the policy sees and what is done to it."""

    name: str
    mazes: tuple[Maze, ...]
    interventions: tuple[Intervention, ...] = ()
    kernel_edit: KernelEdit | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mazes", tuple(self.mazes))
        object.__setattr__(self, "interventions", tuple(self.interventions))

    def to_dict(self) -> dict[str, Any]:
        edits = [iv.to_dict() for iv in self.interventions]
        if self.kernel_edit is not None:
            edits.append(self.kernel_edit.to_dict())
        return {"name": self.name, "interventions": edits}

    def __str__(self) -> str:
        done = [str(iv) for iv in self.interventions]
        if self.kernel_edit is not None:
            done.append(str(self.kernel_edit))
        return f"{self.name}: " + ("; ".join(done) or "no intervention")


Conditions = Mapping[str, Condition]


def conditions(*items: Condition) -> dict[str, Condition]:
    """Conditions by name, in the given order (names must be distinct)."""
    out: dict[str, Condition] = {}
    for c in items:
        if c.name in out:
            raise ValueError(f"two conditions are named {c.name!r}")
        out[c.name] = c
    return out


def unpatched(mazes: Sequence[Maze], name: str = "unpatched") -> Condition:
    return Condition(name, tuple(mazes))


def added(
    subject: Subject,
    name: str,
    mazes: Sequence[Maze],
    vectors: torch.Tensor,
    coeff: float,
    vector: str = "cheese_vector",
) -> Condition:
    """``mazes`` with ``coeff * vectors`` added at the subject's layer (one vector per maze,
    or one shared by all)."""
    return Condition(name, tuple(mazes), (AddVector(subject.layer, vectors, coeff, vector),))


# ------------------------------------------------------------------ measuring a condition
def _subject_for(subject: Subject, condition: Condition) -> Subject:
    return subject if condition.kernel_edit is None else subject.edited(condition.kernel_edit)


def _shared_key(subject: Subject, condition: Condition) -> str | None:
    """The checkpoint key under which this condition's results are shared across claims:
    only the unpatched policy's (an intervention's data is the claim's own)."""
    if condition.interventions or condition.kernel_edit is not None:
        return None
    return subject.checkpoint_sha256


def _unpatched_probs(subject: Subject, checkpoint: str, mazes: Sequence[Maze]) -> np.ndarray:
    """(N, 5) unpatched move distributions, through the shared store."""
    rows = shared_results().per_maze(
        checkpoint,
        "move_probs",
        mazes,
        lambda todo: list(policy_probs(subject.runner(), todo, subject.device)),
    )
    return np.stack(rows) if rows else np.empty((0, 5))


def decisions(subject: Subject, condition: Condition) -> DecisionProbs:
    """P(cheese), P(top-right) at each maze's decision square under the condition."""
    s = _subject_for(subject, condition)
    key = _shared_key(s, condition)
    if key is None:
        return decision_probs(s.runner(condition.interventions), condition.mazes, s.device)
    placed = at_decision_squares(condition.mazes)
    return decisions_from_probs(condition.mazes, _unpatched_probs(s, key, placed))


def fields(subject: Subject, condition: Condition, reflected: bool = False) -> list[VectorField]:
    """Each maze's vector field under the condition."""
    s = _subject_for(subject, condition)
    key = _shared_key(s, condition)
    if key is None:
        return vector_fields(
            s.runner(condition.interventions), condition.mazes, s.device, reflected
        )
    probs = shared_results().per_maze(
        key,
        "vector_field_reflected" if reflected else "vector_field",
        condition.mazes,
        lambda todo: [f.probs for f in vector_fields(s.runner(), todo, s.device, reflected)],
    )
    return [
        VectorField(m, m.mouse_cells, p, reflected)
        for m, p in zip(condition.mazes, probs, strict=True)
    ]


def p_cheese(subject: Subject, arms: Conditions, *names: str) -> list[np.ndarray]:
    """P(cheese) at each decision square under each named condition."""
    return [decisions(subject, arms[name]).p_cheese for name in names]


def move_probs(subject: Subject, condition: Condition) -> np.ndarray:
    """(N, 5) move distributions with the mouse where each maze has it."""
    s = _subject_for(subject, condition)
    key = _shared_key(s, condition)
    if key is None:
        return policy_probs(s.runner(condition.interventions), condition.mazes, s.device)
    return _unpatched_probs(s, key, condition.mazes)


# ------------------------------------------------------------------ experiments
@dataclass(frozen=True, eq=False)
class Example:
    """Two conditions of one maze to draw side by side (the report's example figure)."""

    before: Condition
    after: Condition
    labels: tuple[str, str]
    targets: tuple[Cell, ...] = ()


class ConditionExperiment(ABC):
    """A measurement over named conditions: ``conditions(mazes)`` says what is compared,
    ``evaluate`` turns them into per-maze columns; calling it on mazes does both."""

    subject: Subject

    @abstractmethod
    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        """The conditions for a batch of mazes (per-maze data lines up with ``mazes``)."""

    @abstractmethod
    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        """Per-maze columns measured under the conditions."""

    def __call__(self, mazes: Sequence[Maze]) -> dict[str, np.ndarray]:
        return self.evaluate(mazes, self.conditions(mazes))

    def example(self, maze: Maze) -> Example | None:
        """The example figure's two conditions for ``maze`` (None: no such figure)."""
        del maze
        return None
