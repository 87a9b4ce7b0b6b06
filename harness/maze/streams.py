"""Reproducible streams of mazes: consecutive level seeds from a base seed, filtered.

Consecutive seeds keep reports readable ("seeds 0-99 with a decision square" is the
published CV1 sample) and make every stream a pure function of (base seed, filter).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from harness.maze.checks import as_cell, as_index
from harness.maze.maze import TOP_RIGHT_REGION, Cell, Maze, MazeError
from harness.maze.procgen_env import MAX_SEED, WORLD_DIM, check_seed

#: Consecutive seeds a stream scans without a match before raising :class:`MazeSearchError`.
#: A seed costs about 3 ms (level generation and parsing, plus the decision square), so
#: giving up takes 15-30 s. The project's filters keep one level in three or more (the
#: longest run without a match in 2,000 seeds: 24); even a DS in a 3 x 3 maze, one level in
#: 75, fails this bound with a probability below 1e-25.
MAX_SEEDS_WITHOUT_MATCH = 5_000
MIN_SIZE = 3


class MazeFilterError(MazeError):
    """A filter no generated level can pass: raised when it is built, not after a search."""


class MazeSearchError(MazeError):
    """A stream that cannot go on: no accepted maze within its search bound, or the end of
    procgen's seed range before the caller stopped asking."""


@dataclass(frozen=True)
class MazeFilter:
    """Which generated levels a stream keeps.

    ``has_decision_square``: True keeps only mazes with a DS, False only mazes without,
    None both. ``cheese_in_top_right``: False drops mazes whose cheese lies in the
    top-right ``region`` x ``region`` cells (the BH data set), True keeps only those.
    A filter no level can pass (no odd size in ``min_size..max_size``, sizes outside 3..25,
    a region outside 1..25, conditions that exclude each other) raises
    :class:`MazeFilterError`; non-integer sizes or regions and non-bool conditions are a
    ``TypeError`` (as for cells and seeds everywhere in :mod:`harness.maze`).
    """

    has_decision_square: bool | None = None
    min_size: int = MIN_SIZE
    max_size: int = WORLD_DIM
    cheese_in_top_right: bool | None = None
    region: int = TOP_RIGHT_REGION

    def __post_init__(self) -> None:
        for name in ("has_decision_square", "cheese_in_top_right"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool | np.bool_):
                raise TypeError(
                    f"MazeFilter {name} must be True, False or None, got {value!r} "
                    f"({type(value).__name__})"
                )
            object.__setattr__(self, name, None if value is None else bool(value))
        for name in ("min_size", "max_size", "region"):
            object.__setattr__(self, name, as_index(getattr(self, name), f"MazeFilter {name}"))
        self._check_possible()

    def _check_possible(self) -> None:
        lo, hi, region = self.min_size, self.max_size, self.region
        if lo > hi:
            raise MazeFilterError(
                f"size range {lo}..{hi} is empty (min_size > max_size): swap the two bounds"
            )
        if lo < MIN_SIZE or hi > WORLD_DIM:
            raise MazeFilterError(
                f"size range {lo}..{hi} reaches outside the sizes procgen generates, "
                f"{MIN_SIZE}..{WORLD_DIM}: keep min_size and max_size in that range"
            )
        if lo == hi and lo % 2 == 0:
            raise MazeFilterError(
                f"size range {lo}..{hi} holds no maze size (sizes are odd, "
                f"{MIN_SIZE}..{WORLD_DIM}): use {lo - 1}..{lo - 1}, {lo + 1}..{lo + 1} or a "
                "wider range"
            )
        if not 1 <= region <= WORLD_DIM:
            raise MazeFilterError(
                f"region {region} is not a square of the maze: pass a side in 1..{WORLD_DIM}"
            )
        if self.cheese_in_top_right is False and self.largest_size <= region:
            raise MazeFilterError(
                f"no level passes: in mazes of size <= {self.largest_size} every cheese lies in "
                f"the top-right {region}x{region}, which cheese_in_top_right=False drops; use "
                f"a region below {self.largest_size} or allow larger mazes"
            )
        if self.cheese_in_top_right and self.has_decision_square and region <= 2:
            raise MazeFilterError(
                f"no level passes: levels are trees, so a cheese in the top-right "
                f"{region}x{region} (the top-right cell or a corridor into it) lies on the way "
                "to the top-right cell or past it, and there is no decision square; use "
                "region >= 3 or drop one of the two conditions"
            )

    @property
    def largest_size(self) -> int:
        """The largest maze size the filter allows (sizes are odd)."""
        return self.max_size if self.max_size % 2 else self.max_size - 1

    def accepts(self, maze: Maze) -> bool:
        return self.rejection(maze) is None

    def rejection(self, maze: Maze) -> str | None:
        """Why ``maze`` fails the filter, phrased for a count ("12 given mazes have no
        decision square"); None when it passes."""
        if not self.min_size <= maze.size <= self.max_size:
            return f"are outside sizes {self.min_size}..{self.max_size}"
        if (
            self.cheese_in_top_right is not None
            and maze.cheese_in_top_right(self.region) != self.cheese_in_top_right
        ):
            where = "outside" if self.cheese_in_top_right else "in"
            return f"have the cheese {where} the top-right {self.region}x{self.region}"
        if self.has_decision_square is not None and (
            maze.has_decision_square != self.has_decision_square
        ):
            return (
                "have no decision square" if self.has_decision_square else "have a decision square"
            )
        return None

    def describe(self) -> str:
        parts = []
        if self.has_decision_square is not None:
            parts.append("with a decision square" if self.has_decision_square else "without a DS")
        if (self.min_size, self.max_size) != (MIN_SIZE, WORLD_DIM):
            parts.append(f"size {self.min_size}..{self.max_size}")
        if self.cheese_in_top_right is not None:
            where = "in" if self.cheese_in_top_right else "not in"
            parts.append(f"cheese {where} the top-right {self.region}x{self.region}")
        return ", ".join(parts) or "all levels"


ANY = MazeFilter()


@dataclass(frozen=True)
class FilteredStream:
    """The stream factory ``base_seed -> mazes`` of generated levels passing ``where``.

    A claim's units come from one of these (``Subject.stream``); a run given ``--mazes``
    replaces it by the given mazes that pass the same filter
    (:class:`harness.maze.given.GivenMazes`), which is why the filter stays visible.
    """

    where: MazeFilter

    def __call__(self, base_seed: int) -> Iterator[Maze]:
        return maze_stream(base_seed, self.where)


def seeds_from(base_seed: int) -> Iterator[int]:
    base = check_seed(base_seed, "base seed")
    return iter(range(base, MAX_SEED + 1))


def _check_filter(where: object) -> MazeFilter:
    if not isinstance(where, MazeFilter):
        raise TypeError(f"where must be a MazeFilter, got {where!r} ({type(where).__name__})")
    return where


def maze_stream(
    base_seed: int = 0, where: MazeFilter = ANY, exclude: Iterable[int] = ()
) -> Iterator[Maze]:
    """Mazes of consecutive level seeds from ``base_seed`` that pass ``where``.

    The stream never ends: it raises :class:`MazeSearchError` after
    ``MAX_SEEDS_WITHOUT_MATCH`` consecutive seeds without a maze, or at procgen's last seed,
    so a caller asking for n mazes gets n or an error. Arguments are checked at the call.
    """
    base = check_seed(base_seed, "base seed")
    what = f"passed the filter ({_check_filter(where).describe()})"
    hint = "loosen the filter (e.g. a wider size range) or start from another base seed"
    return _search(base, None, where, set(exclude), _keep, what, hint)


def _keep(maze: Maze) -> Maze:
    return maze


def _search(
    base: int,
    max_seeds: int | None,
    where: MazeFilter,
    skip: set[int],
    place: Callable[[Maze], Maze | None],
    what: str,
    hint: str,
) -> Iterator[Maze]:
    """Scan seeds from ``base``, yield ``place(level)`` where it passes ``where``.

    Without ``max_seeds`` the scan gives up after ``MAX_SEEDS_WITHOUT_MATCH`` seeds in a
    row without a match; with it, it ends after ``max_seeds`` seeds (the caller's bound).
    Running past procgen's last seed is an error either way.
    """
    bound = MAX_SEEDS_WITHOUT_MATCH if max_seeds is None else None
    want_stop = None if max_seeds is None else base + max_seeds
    stop = MAX_SEED + 1 if want_stop is None else min(want_stop, MAX_SEED + 1)
    yielded, last = 0, base - 1  # mazes so far, and the seed of the last one
    for seed in range(base, stop):
        if bound is not None and seed - last > bound:
            raise MazeSearchError(
                f"no maze {what} in the {bound} consecutive seeds {last + 1}..{seed - 1} "
                f"(the stream from base seed {base} had yielded {yielded}); the search gives up "
                f"after MAX_SEEDS_WITHOUT_MATCH = {bound} seeds without a match: {hint}"
            )
        if seed in skip:
            continue
        maze = place(Maze.from_seed(seed))
        if maze is not None and where.accepts(maze):
            yielded, last = yielded + 1, seed
            yield maze
    if want_stop is None or want_stop > MAX_SEED + 1:
        raise MazeSearchError(
            f"the stream from base seed {base} reached procgen's last seed {MAX_SEED} after "
            f"yielding {yielded} mazes (each {what}); it cannot yield more: pass a lower base "
            "seed or ask for fewer mazes"
        )


def take(stream: Iterable[Maze], n: int) -> list[Maze]:
    """The first ``n`` mazes of ``stream``.

    Fewer only when ``stream`` is finite on purpose (a list, or ``mazes_with_cheese_at``
    with ``max_seeds``): the unbounded streams of this module raise
    :class:`MazeSearchError` instead of ending short.
    """
    n = as_index(n, "n")
    if n < 0:
        raise ValueError(f"take needs a count n >= 0, got {n}")
    return list(itertools.islice(stream, n))


def shifted(cell: Cell, offset: tuple[int, int]) -> Cell:
    r, c = as_cell(cell, "cell")
    dr, dc = as_cell(offset, "offset")
    return (r + dr, c + dc)


def mazes_with_cheese_at(
    outer_cell: Cell,
    base_seed: int = 0,
    where: MazeFilter = ANY,
    exclude: Iterable[int] = (),
    move: bool = True,
    max_seeds: int | None = None,
) -> Iterator[Maze]:
    """Mazes whose cheese sits at ``outer_cell`` of the 25 x 25 world.

    With ``move=True`` each level of the stream whose inner grid has ``outer_cell`` free
    (and not the start) gets its cheese moved there; with ``move=False`` only levels whose
    generated cheese already lies there are kept (rare: about one in several hundred, and
    one in several thousand on the world's edge, where only 25 x 25 mazes reach).
    The filter is applied to the *resulting* maze, so a DS filter refers to the new cheese.
    ``max_seeds`` bounds the search (the stream ends after scanning that many seeds);
    without it the search raises :class:`MazeSearchError` after
    ``MAX_SEEDS_WITHOUT_MATCH`` seeds in a row without a maze. A cell outside every maze
    the filter allows is a :class:`MazeFilterError` at the call.
    """
    outer = as_cell(outer_cell, "outer cell")
    base = check_seed(base_seed, "base seed")
    where = _check_filter(where)
    if not isinstance(move, bool):
        raise TypeError(f"move must be True or False, got {move!r} ({type(move).__name__})")
    if max_seeds is not None:
        max_seeds = as_index(max_seeds, "max_seeds")
        if max_seeds < 0:
            raise MazeError(f"max_seeds must be >= 0 (or None for no bound), got {max_seeds}")
    first = (WORLD_DIM - where.largest_size) // 2
    last = first + where.largest_size - 1
    if not (first <= outer[0] <= last and first <= outer[1] <= last):
        raise MazeFilterError(
            f"outer cell {outer} lies in no maze of size {where.min_size}..{where.max_size}: "
            f"their inner grids cover outer rows and columns {first}..{last} of the "
            f"{WORLD_DIM} x {WORLD_DIM} world; pick a cell there or allow larger mazes"
        )

    def place(maze: Maze) -> Maze | None:
        cell = maze.from_outer(outer)
        if not move:
            return maze if maze.cheese == cell else None
        if not maze.is_free(cell) or cell == maze.mouse:
            return None
        try:
            return maze.with_cheese(cell)
        except MazeError:
            return None

    how = "moved" if move else "already"
    what = f"with the cheese {how} at outer cell {outer} passed the filter ({where.describe()})"
    hint = "pass max_seeds to search further, or pick another cell or a looser filter"
    return _search(base, max_seeds, where, set(exclude), place, what, hint)
