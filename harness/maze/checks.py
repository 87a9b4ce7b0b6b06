"""Argument checks shared by the maze layer: cells and seeds are ints, never coerced.

``int(1.5)`` silently gives level 1, and ``int(True)`` gives level 1 too, so a wrong value
would produce a wrong but plausible maze. Every public entry that takes a seed or a cell
goes through :func:`as_index` / :func:`as_cell` instead: Python ints and numpy integer
scalars pass, anything else (bool, float -- even ``3.0`` --, str, None, numpy floats) is a
``TypeError`` naming the value. A cell that is not a pair at all is a :class:`MazeError`.
These run once per cell in vector fields, so the common case is a type check and a return.
"""

from __future__ import annotations

import numpy as np

Cell = tuple[int, int]


class MazeError(ValueError):
    """An illegal maze or maze edit (cheese on a wall, cell outside the grid, ...)."""


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def as_index(value: object, what: str) -> int:
    """``value`` as a Python int; a ``TypeError`` naming it unless it is an integer."""
    if type(value) is int:
        return value
    if _is_int(value):
        return int(value)  # type: ignore[call-overload]
    raise TypeError(
        f"{what} must be an int, got {value!r} ({type(value).__name__}): pass a Python or "
        "numpy integer (convert with int() or round() yourself if truncation is meant)"
    )


def as_cell(cell: object, what: str) -> Cell:
    """``cell`` as a ``(row, col)`` pair of Python ints (tuples, lists, numpy rows)."""
    if type(cell) is tuple and len(cell) == 2 and type(cell[0]) is int and type(cell[1]) is int:
        return cell  # the fast path: what the package itself passes around
    try:
        r, c = cell  # type: ignore[misc]
    except (TypeError, ValueError):
        raise MazeError(f"{what} must be a (row, col) pair of ints, got {cell!r}") from None
    if not (_is_int(r) and _is_int(c)):
        raise TypeError(
            f"{what} must be a (row, col) pair of ints, got {cell!r} "
            f"({type(r).__name__}, {type(c).__name__}): pass Python or numpy integers "
            "(convert with int() or round() yourself if truncation is meant)"
        )
    return int(r), int(c)
