"""Smallest counterexamples to a claim's per-maze form, found by hypothesis.

Diagnostic only: the population verdict comes from the random-seed sample. Generated mazes
are built from a few draws (size, wall order, cheese cell), so hypothesis shrinks a failing
maze toward a small one with a simple layout, which is what a reader can inspect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample, Unsatisfiable

from harness.maze.maze import Maze
from harness.maze.strategies import generated_mazes
from harness.maze.streams import MazeFilter

#: Generated examples to try per budget (shrinking stops after SHRINK_CALLS more calls).
EXAMPLES = {"quick": 10, "default": 30, "paper": 120}
SHRINK_CALLS = 60


@dataclass(frozen=True)
class Counterexample:
    maze: Maze
    calls: int


def search(
    is_counterexample: Callable[[Maze], bool],
    where: MazeFilter,
    budget: str = "default",
    examples: int | None = None,
) -> Counterexample | None:
    """The smallest generated maze (passing ``where``) for which the predicate holds.

    ``examples`` overrides the budget's number of generated mazes; 0 skips the search.
    """
    examples = EXAMPLES.get(budget, EXAMPLES["default"]) if examples is None else examples
    if examples <= 0:
        return None
    seen: dict[Maze, bool] = {}

    def predicate(maze: Maze) -> bool:
        # Answers are memoized so replays agree (hypothesis rejects flaky predicates); past the
        # call budget, unseen mazes count as passing, which stops shrinking where it stands.
        if maze not in seen:
            seen[maze] = len(seen) < examples + SHRINK_CALLS and bool(is_counterexample(maze))
        return seen[maze]

    strategy = generated_mazes(
        min_size=max(3, where.min_size), max_size=min(where.max_size, 15), where=where
    )
    try:
        maze = find(
            strategy,
            predicate,
            settings=settings(
                max_examples=examples,
                database=None,
                deadline=None,
                derandomize=True,
                phases=[Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            ),
        )
    except (NoSuchExample, Unsatisfiable):
        return None
    return Counterexample(maze, len(seen))


def search_given(
    is_counterexample: Callable[[Maze], bool],
    mazes: Sequence[Maze],
    budget: str = "default",
    examples: int | None = None,
) -> Counterexample | None:
    """The smallest of the first ``examples`` given mazes (by size, then file order) for
    which the predicate holds: given mazes are what the user wants re-tested, so they are
    tried as they are, not shrunk."""
    examples = EXAMPLES.get(budget, EXAMPLES["default"]) if examples is None else examples
    tried = list(mazes[: max(examples, 0)])
    failing = [m for m in tried if is_counterexample(m)]
    if not failing:
        return None
    return Counterexample(min(failing, key=lambda m: m.size), len(tried))


def details(found: Counterexample) -> dict[str, Any]:
    """What the report shows of a counterexample: size, cells, walls (top row first)."""
    m = found.maze
    return {
        "size": m.size,
        "maze": m.content_hash,
        "cheese": list(m.cheese) if m.cheese else None,
        "decision_square": list(m.decision_square) if m.decision_square else None,
        "walls": ["".join("#" if w else "." for w in row) for row in m.walls[::-1]],
        "evaluations": found.calls,
    }
