"""Typed errors of the statistics layer: bad input is named, never turned into a number."""

from __future__ import annotations

from collections.abc import Sequence


class StatsInputError(ValueError):
    """Input a statistical function cannot use (NaN, too few units, mismatched lengths, ...).

    ``positions`` lists the offending unit positions when the problem is per unit, so the
    sampler can translate them into maze seeds in its own message.
    """

    def __init__(self, message: str, positions: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.positions = tuple(int(p) for p in positions)
