"""The maze's action vocabulary: 15 procgen logits grouped into five moves.

procgen's maze maps action ``a`` to a velocity ``(a // 3 - 1, a % 3 - 1)`` and drops the
vertical part of diagonal moves, so actions 0-2 all move left, 6-8 right, 3 down, 5 up,
and 4 and the special actions 9-14 stand still. Everything that talks about directions
(labels, vector fields, path probabilities) uses this one table.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

NUM_ACTIONS = 15


class Move(IntEnum):
    """Five-way moves; the value is the column in a 5-way probability array."""

    LEFT = 0
    DOWN = 1
    UP = 2
    RIGHT = 3
    NOOP = 4


MOVE_ACTIONS: dict[Move, tuple[int, ...]] = {
    Move.LEFT: (0, 1, 2),
    Move.DOWN: (3,),
    Move.UP: (5,),
    Move.RIGHT: (6, 7, 8),
    Move.NOOP: (4, 9, 10, 11, 12, 13, 14),
}

#: ``ACTION_TO_MOVE[a]`` is the :class:`Move` index of procgen action ``a``.
ACTION_TO_MOVE = np.empty(NUM_ACTIONS, dtype=np.int64)
for _move, _actions in MOVE_ACTIONS.items():
    ACTION_TO_MOVE[list(_actions)] = int(_move)

#: One representative procgen action per move (used to step an environment).
CANONICAL_ACTION: dict[Move, int] = {
    Move.LEFT: 1,
    Move.DOWN: 3,
    Move.UP: 5,
    Move.RIGHT: 7,
    Move.NOOP: 4,
}

#: (d_row, d_col) of each move, rows counted upward (row 0 is the bottom of the maze).
MOVE_DELTA: dict[Move, tuple[int, int]] = {
    Move.LEFT: (0, -1),
    Move.DOWN: (-1, 0),
    Move.UP: (1, 0),
    Move.RIGHT: (0, 1),
    Move.NOOP: (0, 0),
}
_DELTA_TO_MOVE = {delta: move for move, delta in MOVE_DELTA.items()}

#: (n_moves, 2) array of (d_row, d_col), indexed by Move value.
DELTAS = np.array([MOVE_DELTA[m] for m in Move], dtype=np.int64)


def move_between(a: tuple[int, int], b: tuple[int, int]) -> Move:
    """The move that takes the mouse from cell ``a`` to the adjacent (or same) cell ``b``."""
    delta = (b[0] - a[0], b[1] - a[1])
    try:
        return _DELTA_TO_MOVE[delta]
    except KeyError:
        raise ValueError(f"cells {a} and {b} are not adjacent") from None
