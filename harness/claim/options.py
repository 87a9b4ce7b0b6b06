"""How a claims run samples and concludes (its options), and what it ran on (its facts).

Both are frozen values: the pytest layer builds :class:`ClaimOptions` from the command line
and :class:`RunFacts` from the session fixtures (checkpoint, profile, subject); every claim
record carries both, so a report says for each claim under which conditions it was decided.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.maze.procgen_env import MAX_SEED
from harness.maze.seed_ranges import DEFAULT_BASE_SEED, describe_base_seed
from harness.stats.design import BUDGETS

if TYPE_CHECKING:
    from harness.maze.mazefiles import MazeSet

INCONCLUSIVE_POLICIES = ("fail", "xfail", "skip")


@dataclass(frozen=True)
class ClaimOptions:
    """Sampling and verdict options of a run (``--budget``, ``--seeds``, ``--alpha``, ...)."""

    budget: str = "default"
    seeds: int | None = None
    #: Past the post's seeds 0-99 (a replication by default; 0 re-analyses the post's mazes).
    base_seed: int = DEFAULT_BASE_SEED
    alpha: float = 0.05
    sequential: bool = False
    rounds: int = 5
    inconclusive: str = "xfail"
    #: Outcome of a refuted (or otherwise unexpected) verdict: "fail", or "xfail" where the
    #: run checks something other than the verdicts (``--fake-device``).
    unexpected: str = "fail"
    #: Generated mazes per counterexample search (None: by budget; 0: no search).
    counterexamples: int | None = None
    #: Figures and counterexample searches (never part of a verdict); off for calibration.
    diagnostics: bool = True
    #: Given mazes (``--mazes``): claims sample these, in file order, instead of seeds.
    mazes: MazeSet | None = None
    #: The counterexample database (``--counterexample-db``): saved counterexamples are
    #: replayed before each search and new ones saved; None turns it off.
    counterexample_db: Path | None = None
    #: How the run header names the database: the option as given, or
    #: ``reports/counterexamples`` for the default (never the absolute path, which would
    #: make reports of the same run in two checkouts differ).
    counterexample_db_label: str | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.alpha) and 0.0 < self.alpha < 0.5):
            raise ValueError(f"--alpha must lie in (0, 0.5), got {self.alpha}")
        if not 0 <= self.base_seed <= MAX_SEED:
            raise ValueError(
                f"--base-seed must lie in procgen's seeds 0..{MAX_SEED}, got {self.base_seed}"
            )
        if self.seeds is not None and self.seeds < 3:
            raise ValueError(f"--seeds must be >= 3, got {self.seeds}")
        if not 1 <= self.rounds <= 10:
            raise ValueError(f"--rounds must lie in 1..10, got {self.rounds}")
        if self.budget not in BUDGETS:
            raise ValueError(f"--budget must be one of {BUDGETS}, got {self.budget!r}")
        if self.inconclusive not in INCONCLUSIVE_POLICIES:
            raise ValueError(f"--inconclusive must be one of {INCONCLUSIVE_POLICIES}")
        if self.unexpected not in ("fail", "xfail"):
            raise ValueError(f"unexpected must be 'fail' or 'xfail', got {self.unexpected!r}")
        if self.counterexamples is not None and self.counterexamples < 0:
            raise ValueError(f"--counterexamples must be >= 0, got {self.counterexamples}")

    def as_dict(self) -> dict[str, Any]:
        """The options as the report's run header names them."""
        return {
            "seeds_option": self.seeds,
            "budget": self.budget,
            "base_seed": self.base_seed,
            "alpha": self.alpha,
            "sequential": self.sequential,
            "rounds": self.rounds,
            "inconclusive": self.inconclusive,
            "unexpected": self.unexpected,
            "counterexamples": self.counterexamples,
            "counterexample_db": self.counterexample_db_label
            if self.counterexample_db is not None
            else None,
            "mazes": None if self.mazes is None else self.mazes.to_dict(),
        }

    def maze_note(self) -> str:
        """What the run's mazes are, for the report's run header."""
        if self.mazes is None:
            return describe_base_seed(self.base_seed)
        return (
            f"{self.mazes.describe()}: every claim samples the given mazes its filter admits, "
            "in file order, instead of a seed stream (each record lists their content hashes "
            "under 'mazes' and says how many it skipped); mazes a protocol fixes itself (the "
            "averaged vector's sources, reference and fit sets, transfer partners) still come "
            "from their seed ranges"
        )


@dataclass(frozen=True)
class RunFacts:
    """What the claims ran on, as the fixtures resolved it."""

    checkpoint: str
    checkpoint_sha256: str | None = None
    device: str | None = None
    profile: str | None = None
    #: Further facts for the run header: channel scale, layer, maze sizes, notes.
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "checkpoint_sha256": self.checkpoint_sha256,
            "profile": self.profile,
            "device": self.device,
            **{k: v for k, v in sorted(self.details.items()) if v is not None},
        }
