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


@dataclass(frozen=True)
class PTarget:
    """Paired synthetic metric: P(target) without and with a patch whose per-unit drop is
    normal(drop_mean, drop_sd)."""

    drop_mean: float
    drop_sd: float
    salt: int

    def __call__(self, units) -> dict[str, np.ndarray]:
        unpatched = np.array([0.55 + 0.35 * rng_for(u, self.salt).random() for u in units])
        drop = np.array(
            [rng_for(u, self.salt + 1).normal(self.drop_mean, self.drop_sd) for u in units]
        )
        return {"unpatched": unpatched, "patched": np.clip(unpatched - drop, 0.0, 1.0)}
