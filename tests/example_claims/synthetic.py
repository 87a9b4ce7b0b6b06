"""Synthetic units and per-seed generators for the example claims (no policy involved)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Unit:
    """A stand-in for a Maze: anything with an int ``.seed`` can be sampled."""

    seed: int


def unit_stream(base_seed: int) -> Iterator[Unit]:
    """Seeds base_seed, base_seed + 1, ... skipping multiples of 7 (a stream with a filter)."""
    seed = base_seed
    while True:
        if seed % 7 != 0:
            yield Unit(seed)
        seed += 1


def rng_for(unit: Unit | int, salt: int) -> np.random.Generator:
    """A generator that depends only on the unit's seed and the metric's salt."""
    seed = unit if isinstance(unit, int) else unit.seed
    return np.random.default_rng([seed, salt])
