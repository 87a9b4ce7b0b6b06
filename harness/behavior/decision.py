"""Decisions at the decision square: P(cheese), P(top-right), P(other).

With the mouse on the decision square, P(cheese) is the 5-way probability of the first
step along the path to the cheese and P(top-right) that of the first step along the path
to the top-right cell (CLAIMS.md). Mazes without a decision square are an error here:
streams that feed these metrics filter for one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from harness.actions import Move, move_between
from harness.behavior.forward import Runner
from harness.behavior.vfield import policy_probs
from harness.maze.maze import Maze


@dataclass(frozen=True)
class DecisionMoves:
    """Per maze: its decision square and the moves toward the cheese and the top-right."""

    to_cheese: np.ndarray  # (N,) Move index
    to_top_right: np.ndarray  # (N,) Move index


def decision_moves(mazes: Sequence[Maze]) -> DecisionMoves:
    cheese, top_right = [], []
    for m in mazes:
        ds = m.decision_square
        if ds is None:
            raise ValueError(f"maze of seed {m.seed} has no decision square")
        pc, pt = m.path_to_cheese, m.path_to_top_right
        cheese.append(int(move_between(ds, pc[pc.index(ds) + 1])))
        top_right.append(int(move_between(ds, pt[pt.index(ds) + 1])))
    return DecisionMoves(np.array(cheese), np.array(top_right))


@dataclass(frozen=True)
class DecisionProbs:
    p_cheese: np.ndarray
    p_top_right: np.ndarray
    probs: np.ndarray  # (N, 5) full distributions at the decision squares

    @property
    def p_other(self) -> np.ndarray:
        return 1.0 - self.p_cheese - self.p_top_right


def at_decision_squares(mazes: Sequence[Maze]) -> list[Maze]:
    """The mazes with the mouse placed on their decision squares."""
    out = []
    for m in mazes:
        if m.decision_square is None:
            raise ValueError(f"maze of seed {m.seed} has no decision square")
        out.append(m.with_mouse(m.decision_square))
    return out


def decision_probs(
    runner: Runner, mazes: Sequence[Maze], device: torch.device | str
) -> DecisionProbs:
    """P(cheese), P(top-right) at each maze's decision square; one batched forward pass."""
    return decisions_from_probs(mazes, policy_probs(runner, at_decision_squares(mazes), device))


def decisions_from_probs(mazes: Sequence[Maze], probs: np.ndarray) -> DecisionProbs:
    """The decision quantities from the (N, 5) distributions at the decision squares."""
    moves = decision_moves(mazes)
    rows = np.arange(len(mazes))
    return DecisionProbs(probs[rows, moves.to_cheese], probs[rows, moves.to_top_right], probs)


def direction_prior_probs(mazes: Sequence[Maze], prior: np.ndarray) -> DecisionProbs:
    """The same quantities for a habit-only policy: fixed move preferences among legal moves.

    ``prior`` holds weights for (LEFT, DOWN, UP, RIGHT); at each decision square the legal
    moves' weights are renormalized. A policy that merely prefers up and right looks like
    one pursuing the top-right, so P(top-right) claims report this beside the policy's.
    """
    prior = np.asarray(prior, dtype=float)
    if prior.shape != (4,) or np.any(prior < 0) or prior.sum() <= 0:
        raise ValueError("prior must be 4 non-negative weights for LEFT, DOWN, UP, RIGHT")
    moves = decision_moves(mazes)
    probs = np.zeros((len(mazes), 5))
    for i, m in enumerate(mazes):
        r, c = m.decision_square
        legal = np.array(
            [
                m.is_free((r, c - 1)),
                m.is_free((r - 1, c)),
                m.is_free((r + 1, c)),
                m.is_free((r, c + 1)),
            ]
        )
        w = prior * legal
        probs[i, :4] = w / w.sum()
    rows = np.arange(len(mazes))
    assert Move.LEFT == 0 and Move.RIGHT == 3
    return DecisionProbs(probs[rows, moves.to_cheese], probs[rows, moves.to_top_right], probs)
