"""On-distribution mazes built from explicit choices, the way procgen builds them.

procgen's maze generator is randomized Kruskal on the "rooms" at even (row, col): every
wall between two rooms is considered in a random order and removed when it joins two
components. Given the order as data, the result is a pure function -- which is what
hypothesis needs to shrink a failing maze to a small, simple one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Cell = tuple[int, int]
Wall = tuple[Cell, Cell]


def candidate_walls(n: int) -> list[Wall]:
    """The walls between adjacent rooms of an ``n x n`` grid, in a fixed order."""
    if n % 2 == 0 or n < 3:
        raise ValueError(f"maze size must be odd and >= 3, got {n}")
    walls: list[Wall] = []
    for r in range(0, n, 2):
        for c in range(0, n, 2):
            if c + 2 < n:
                walls.append(((r, c), (r, c + 2)))
            if r + 2 < n:
                walls.append(((r, c), (r + 2, c)))
    return walls


def kruskal_walls(n: int, order: Sequence[int]) -> np.ndarray:
    """Inner wall grid (row 0 at the bottom) of the spanning-tree maze for a wall ``order``.

    ``order`` is a permutation of ``range(len(candidate_walls(n)))``: walls earlier in it are
    tried first.
    """
    cands = candidate_walls(n)
    if sorted(order) != list(range(len(cands))):
        raise ValueError(f"order must be a permutation of 0..{len(cands) - 1}")
    parent = {(r, c): (r, c) for r in range(0, n, 2) for c in range(0, n, 2)}

    def find(x: Cell) -> Cell:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    walls = np.ones((n, n), dtype=bool)
    for r, c in parent:
        walls[r, c] = False
    for i in order:
        a, b = cands[i]
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
            walls[(a[0] + b[0]) // 2, (a[1] + b[1]) // 2] = False
    return walls
