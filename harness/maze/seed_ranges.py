"""Which level seeds are used for what: selection and confirmation never share mazes.

A fact chosen on some mazes (the cheese channels, picked by their hit rates) is evidence
only when it is confirmed on other mazes. So the project keeps its seed uses apart:

==============================  =====================================================
level seeds                     used for
==============================  =====================================================
0 .. 99                         the post's exploratory seeds (``--base-seed 0``
                                re-analyses them; it is not a replication)
1,000,000 .. 1,000,099          CV's averaged cheese vector (the notebook's sources)
2,000,000 ..                    every claim's default stream (``--base-seed``)
3,000,000 ..                    ``discover-channels`` (the profile's ``[discovery]``)
5,000,000 ..                    the NMF fit set (NM1, ED1)
7,000,000 ..                    reference mazes for clamp multiples (CH3, CH4)
9,000,000 ..                    end-to-end calibration pools (harness.claim.calibrate)
1,000,000,000 ..                the bundled policy's training levels
1,500,000,000 ..                its held-out evaluation levels
==============================  =====================================================

A claim stream consumes at most a few thousand consecutive seeds, so these ranges stay
disjoint at every budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

#: The post's exploratory mazes: the seeds its figures and statistics were computed on.
POST_SEEDS_LAST = 99
#: First seed of every claim's default stream: past the post's seeds and the CV sources.
DEFAULT_BASE_SEED = 2_000_000
#: First seed ``discover-channels`` looks at by default.
DISCOVERY_BASE_SEED = 3_000_000
#: First seed of the pools ``benchmarks/calibrate_claims.py`` measures its claims on.
CALIBRATION_BASE_SEED = 9_000_000

T = TypeVar("T")


class SelectionOverlapError(ValueError):
    """A claim's confirmation mazes reach the mazes its tested fact was selected on."""


@dataclass(frozen=True)
class SeedRange:
    """The inclusive level-seed range ``first..last`` and what it was used for."""

    first: int
    last: int
    what: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.first <= self.last:
            raise ValueError(f"seed range {self.first}..{self.last} is empty or negative")

    def __contains__(self, seed: object) -> bool:
        return isinstance(seed, int) and self.first <= seed <= self.last

    def __str__(self) -> str:
        return f"{self.first}..{self.last}"

    def to_dict(self) -> dict[str, object]:
        return {"first": self.first, "last": self.last, "what": self.what}


def describe_base_seed(base_seed: int) -> str:
    """What a run's base seed means for its evidence (the report's run header says it)."""
    if base_seed <= POST_SEEDS_LAST:
        return (
            f"base seed {base_seed}: the streams start among the post's exploratory seeds "
            f"0-{POST_SEEDS_LAST}, so on the original checkpoint these verdicts re-analyse the "
            "post's own mazes (a re-analysis, not a replication)"
        )
    if base_seed == DEFAULT_BASE_SEED:
        return (
            f"base seed {base_seed} (the default): mazes disjoint from the post's seeds "
            f"0-{POST_SEEDS_LAST} and from channel discovery; --base-seed 0 re-analyses the "
            "post's seeds"
        )
    return f"base seed {base_seed}: mazes past the post's seeds 0-{POST_SEEDS_LAST}"


def refusing_overlap(
    stream: Callable[[int], Iterator[T]],
    selections: tuple[SeedRange, ...],
    claim_id: str,
    seed_of: Callable[[T], int | None],
) -> Callable[[int], Iterator[T]]:
    """``stream`` that raises :class:`SelectionOverlapError` at the first unit whose seed lies
    in one of ``selections``: before any work is spent on circular evidence."""
    if not selections:
        return stream

    def guarded(base_seed: int) -> Iterator[T]:
        for unit in stream(base_seed):
            seed = seed_of(unit)
            for selected in selections:
                if seed in selected:
                    raise SelectionOverlapError(
                        f"{claim_id} tests a fact selected on seeds {selected} ({selected.what}), "
                        f"but its own stream from base seed {base_seed} reached seed {seed} "
                        f"(seeds {base_seed}..{seed} so far): confirmation must use other "
                        f"mazes. Pass a --base-seed outside {selected}, or re-run the "
                        f"selection on another range"
                    )
            yield unit

    return guarded
