"""A claim's units from given mazes (``--mazes``) instead of the seed stream.

A claim asks for mazes through a filter (a decision square, a size range, the cheese
outside the top-right); given mazes that fail it are skipped, and so are repeats of an
earlier maze (a repeat would count one maze twice in a paired test) and mazes whose level
seed lies where the claim's tested fact was selected (circular evidence). What is left is
used in file order. Every skip is counted by reason, so the report can say how many.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from harness.maze.maze import Maze
from harness.maze.mazefiles import MazeSet
from harness.maze.seed_ranges import SeedRange
from harness.maze.streams import MazeFilter

REPEAT = "repeat an earlier maze"


@dataclass(frozen=True, eq=False)
class GivenMazes:
    """The mazes of ``maze_set`` a claim may use under ``where``; a stream factory that
    ignores the base seed (the order is the file's)."""

    maze_set: MazeSet
    where: MazeFilter
    excluded: tuple[SeedRange, ...] = ()

    @cached_property
    def _selection(self) -> tuple[tuple[Maze, ...], Counter[str]]:
        eligible: list[Maze] = []
        skipped: Counter[str] = Counter()
        seen: set[str] = set()
        for maze in self.maze_set.mazes:
            reason = self.where.rejection(maze) or self._excluded_by(maze)
            if reason is None and maze.content_hash in seen:
                reason = REPEAT
            if reason is not None:
                skipped[reason] += 1
                continue
            seen.add(maze.content_hash)
            eligible.append(maze)
        return tuple(eligible), skipped

    def _excluded_by(self, maze: Maze) -> str | None:
        for selected in self.excluded:
            if maze.seed in selected:
                return f"have level seeds in {selected} ({selected.what}, selection mazes)"
        return None

    @property
    def eligible(self) -> tuple[Maze, ...]:
        return self._selection[0]

    @property
    def skipped(self) -> dict[str, int]:
        """Skipped mazes by reason (the filter's first failing condition)."""
        return dict(self._selection[1])

    def __call__(self, _base_seed: int) -> Iterator[Maze]:
        return iter(self.eligible)

    def describe(self, n: int | None = None) -> str:
        """'given mazes: 25 of the 40 qualify (12 have no decision square, ...); up to 20
        are used, in file order'."""
        total = len(self.maze_set)
        skips = "; ".join(f"{k} {reason}" for reason, k in sorted(self.skipped.items()))
        text = (
            f"given mazes ({self.maze_set.source}): {len(self.eligible)} of the {total} qualify "
            f"({self.where.describe()})"
        )
        if skips:
            text += f", skipped: {skips}"
        if n is not None:
            text += f"; the sample takes up to {n} of them in file order"
        return text
