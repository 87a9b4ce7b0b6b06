"""Which exceptions mean "bad input" (a one-line message, exit 2) rather than "a bug".

The project raises typed errors for every input it refuses: an illegal maze, a malformed
state, an unknown layer, device or planted policy, a broken checkpoint, profile, claim spec
or report. The command line prints those as one line naming the problem. Everything else
keeps its traceback, including a bare ``ValueError``, ``TypeError`` or ``KeyError``: those
come from numpy, torch or our own mistakes, and hiding them would hide the bug.

Most of these classes live in modules that import torch and procgen, so they are listed by
import path and imported only when an exception has to be classified (``--help`` and
importing this module stay light). Subclasses count (``MazeFilterError`` is a ``MazeError``,
``KernelEditError`` an ``InterventionError``).
"""

from __future__ import annotations

import importlib
from functools import cache

#: Import path of each bad-input error base (``tests/test_cli.py`` checks they resolve).
USER_ERROR_NAMES: tuple[str, ...] = (
    "harness.errors.UsageError",
    "harness.maze.maze.MazeError",
    "harness.maze.codec.StateFormatError",
    "harness.maze.safe_pickle.MazeFileError",
    "harness.maze.seed_ranges.SelectionOverlapError",
    "harness.interventions.InterventionError",
    "harness.profiles.ProfileError",
    "harness.policy.errors.CheckpointError",
    "harness.policy.planted.UnknownPlantedPolicyError",
    "harness.policy.device.DeviceError",
    "harness.policy.fetch.FetchError",
    "harness.hooks.UnknownLayerError",
    "harness.experiments.subject.ProfileFactMissing",
    "harness.claim.spec.ClaimSpecError",
    "harness.stats.errors.StatsInputError",
    "harness.report.schema.ReportSchemaError",
    "harness.report.baseline.BaselineError",
    "harness.report.dashboard.DashboardError",
)


class UsageError(ValueError):
    """Command-line values that each parse but do not make sense together."""


@cache
def user_errors() -> tuple[type[BaseException], ...]:
    """The classes of :data:`USER_ERROR_NAMES`; the first call imports torch and procgen."""
    out = []
    for name in USER_ERROR_NAMES:
        module, _, cls = name.rpartition(".")
        out.append(getattr(importlib.import_module(module), cls))
    return tuple(out)


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is bad input."""
    if isinstance(exc, UsageError):  # told without importing anything
        return True
    return isinstance(exc, user_errors())
