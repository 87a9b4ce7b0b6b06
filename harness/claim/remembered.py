"""Counterexamples remembered across runs: replay a claim's saved mazes before its search,
save what the search finds (``--counterexample-db``). The database itself is
:mod:`harness.claim.counterexample_db`; this module is what a claim does with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.claim import counterexamples
from harness.claim.counterexample_db import CounterexampleDB
from harness.maze.maze import Maze
from harness.maze.streams import MazeFilter

if TYPE_CHECKING:
    from harness.claim.handle import Claim


def database(claim: Claim) -> tuple[CounterexampleDB | None, str | None]:
    """The run's database and this record's checkpoint sha256 (None, None: off)."""
    root = claim.options.counterexample_db
    if root is None:
        return None, None
    checkpoint = claim.record.run.get("checkpoint_sha256")
    if not checkpoint:
        claim.add_note("counterexample database not used: the run facts name no checkpoint sha256")
        return None, None
    return CounterexampleDB(root), str(checkpoint)


def replay(
    claim: Claim,
    db: CounterexampleDB | None,
    checkpoint: str | None,
    is_counterexample: Callable[[Maze], bool],
    where: MazeFilter,
    description: str,
) -> list[Maze]:
    """Re-test the saved counterexamples (smallest first); those that still break the
    claim are attached as replayed and returned."""
    if db is None or checkpoint is None:
        return []
    try:
        loaded = db.load(claim.id, checkpoint)
    except (OSError, ValueError) as exc:
        claim.add_note(f"counterexample database not read: {type(exc).__name__}: {exc}")
        return []
    for problem in loaded.problems:
        claim.add_note(problem)
    still: list[Maze] = []
    rejected: dict[str, int] = {}
    for entry in loaded.entries:
        reason = where.rejection(entry.maze)
        if reason is not None:
            rejected[reason] = rejected.get(reason, 0) + 1
            continue
        label = entry.hash[:8]
        if not is_counterexample(entry.maze):
            claim.add_note(f"replayed counterexample {label}: the claim now holds on it")
            continue
        still.append(entry.maze)
        found = counterexamples.Counterexample(entry.maze, 1)
        claim.add_counterexample(
            f"{description} (maze {label})",
            entry.seed,
            **counterexamples.details(found),
            replayed=True,
            source="database",
            first_found=dict(entry.first_found),
        )
    if rejected:
        counts = "; ".join(f"{n} {reason}" for reason, n in sorted(rejected.items()))
        claim.add_note(
            f"counterexample database: {sum(rejected.values())} saved maze(s) not "
            f"replayed, this claim's filter ({where.describe()}) excludes them: {counts}"
        )
    return still


def save(claim: Claim, db: CounterexampleDB, checkpoint: str, maze: Maze, description: str) -> None:
    """Save a new counterexample; a database that cannot be written is only a note."""
    first_found = {
        "budget": claim.options.budget,
        "base_seed": claim.options.base_seed,
        "search": "generated" if claim.options.mazes is None else "given mazes",
    }
    try:
        db.save(claim.id, checkpoint, maze, description, first_found)
    except OSError as exc:
        claim.add_note(
            f"counterexample {maze.content_hash[:8]} not saved to the database: "
            f"{type(exc).__name__}: {exc}"
        )
