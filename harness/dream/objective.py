"""What dreaming maximizes: the policy's probability of heading toward a target cell.

"Heading toward" a target from the mouse's cell is the total probability of the moves that
shorten the straight-line (Manhattan) distance to it -- a property of the policy's output at
one observation, so it is differentiable in the observation and needs no path through the
(soft) walls. With the target at the top-right it is P(up) + P(right).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from harness.actions import Move
from harness.maze.maze import Cell, Maze, MazeError
from harness.policy.probs import probs5

#: (d_row, d_col) of each move; row 0 is the bottom, so UP adds a row.
MOVE_DELTAS = {Move.LEFT: (0, -1), Move.DOWN: (-1, 0), Move.UP: (1, 0), Move.RIGHT: (0, 1)}


@dataclass(frozen=True)
class Heading:
    """P(a move that brings the mouse at ``mouse`` closer to ``target``)."""

    mouse: Cell
    target: Cell

    def __post_init__(self) -> None:
        if tuple(self.mouse) == tuple(self.target):
            raise MazeError(f"the target {self.target} is the mouse's own cell")

    @property
    def moves(self) -> tuple[Move, ...]:
        (r, c), (tr, tc) = self.mouse, self.target
        before = abs(tr - r) + abs(tc - c)
        return tuple(
            m for m, (dr, dc) in MOVE_DELTAS.items() if abs(tr - r - dr) + abs(tc - c - dc) < before
        )

    def check(self, maze: Maze) -> None:
        """Raise :class:`MazeError` unless mouse and target are free cells of ``maze``."""
        for what, cell in (("mouse", self.mouse), ("target", self.target)):
            if not maze.contains(cell):
                raise MazeError(f"{what} cell {cell} is outside the {maze.size} x {maze.size} grid")
            if maze.walls[cell]:
                raise MazeError(f"{what} cell {cell} is a wall of the starting maze")
        if maze.mouse != tuple(self.mouse):
            raise MazeError(f"the maze's mouse is at {maze.mouse}, the objective's at {self.mouse}")

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, 15) procgen logits -> (B,) probability of heading toward the target."""
        p = probs5(logits)
        return p[:, [int(m) for m in self.moves]].sum(-1)

    def describe(self) -> str:
        names = "+".join(m.name.lower() for m in self.moves)
        return f"P(heading from {self.mouse} toward {self.target}) = P({names})"


def policy_logits(policy: torch.nn.Module, obs: torch.Tensor) -> torch.Tensor:
    """The 15 action logits of ``policy`` (models returning (logits, value) or logits)."""
    out = policy(obs)
    logits = out[0] if isinstance(out, tuple) else out
    if logits.ndim != 2 or logits.shape[-1] != 15:
        raise ValueError(f"the policy must return (B, 15) logits, got {tuple(logits.shape)}")
    return logits
