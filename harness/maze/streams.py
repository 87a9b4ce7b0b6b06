"""Reproducible streams of mazes: consecutive level seeds from a base seed, filtered.

Consecutive seeds keep reports readable ("seeds 0-99 with a decision square" is the
published CV1 sample) and make every stream a pure function of (base seed, filter).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from harness.maze.maze import TOP_RIGHT_REGION, Cell, Maze, MazeError
from harness.maze.procgen_env import MAX_SEED


@dataclass(frozen=True)
class MazeFilter:
    """Which generated levels a stream keeps.

    ``has_decision_square``: True keeps only mazes with a DS, False only mazes without,
    None both. ``cheese_in_top_right``: False drops mazes whose cheese lies in the
    top-right ``region`` x ``region`` cells (the BH data set), True keeps only those.
    """

    has_decision_square: bool | None = None
    min_size: int = 3
    max_size: int = 25
    cheese_in_top_right: bool | None = None
    region: int = TOP_RIGHT_REGION

    def __post_init__(self) -> None:
        if not 3 <= self.min_size <= self.max_size:
            raise ValueError(f"size range {self.min_size}..{self.max_size} is empty or below 3")

    def accepts(self, maze: Maze) -> bool:
        if not self.min_size <= maze.size <= self.max_size:
            return False
        if (
            self.cheese_in_top_right is not None
            and maze.cheese_in_top_right(self.region) != self.cheese_in_top_right
        ):
            return False
        return self.has_decision_square is None or (
            maze.has_decision_square == self.has_decision_square
        )

    def describe(self) -> str:
        parts = []
        if self.has_decision_square is not None:
            parts.append("with a decision square" if self.has_decision_square else "without a DS")
        if (self.min_size, self.max_size) != (3, 25):
            parts.append(f"size {self.min_size}..{self.max_size}")
        if self.cheese_in_top_right is not None:
            where = "in" if self.cheese_in_top_right else "not in"
            parts.append(f"cheese {where} the top-right {self.region}x{self.region}")
        return ", ".join(parts) or "all levels"


ANY = MazeFilter()


def seeds_from(base_seed: int) -> Iterator[int]:
    if not 0 <= base_seed <= MAX_SEED:
        raise ValueError(f"base seed {base_seed} is outside procgen's range 0..{MAX_SEED}")
    return iter(range(base_seed, MAX_SEED + 1))


def maze_stream(
    base_seed: int = 0, where: MazeFilter = ANY, exclude: Iterable[int] = ()
) -> Iterator[Maze]:
    """Mazes of consecutive level seeds from ``base_seed`` that pass ``where``."""
    skip = set(exclude)
    for seed in seeds_from(base_seed):
        if seed in skip:
            continue
        maze = Maze.from_seed(seed)
        if where.accepts(maze):
            yield maze


def take(stream: Iterable[Maze], n: int) -> list[Maze]:
    return list(itertools.islice(stream, n))


def shifted(cell: Cell, offset: tuple[int, int]) -> Cell:
    return (cell[0] + offset[0], cell[1] + offset[1])


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
    generated cheese already lies there are kept (rare: about one in several hundred).
    The filter is applied to the *resulting* maze, so a DS filter refers to the new cheese.
    ``max_seeds`` bounds the search (the stream ends after scanning that many seeds).
    """
    skip = set(exclude)
    seeds = seeds_from(base_seed)
    if max_seeds is not None:
        seeds = itertools.islice(seeds, max_seeds)
    for seed in seeds:
        if seed in skip:
            continue
        maze = Maze.from_seed(seed)
        cell = maze.from_outer(outer_cell)
        if move:
            if not maze.is_free(cell) or cell == maze.mouse:
                continue
            try:
                maze = maze.with_cheese(cell)
            except MazeError:
                continue
        elif maze.cheese != cell:
            continue
        if where.accepts(maze):
            yield maze
