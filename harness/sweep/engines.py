"""Engines run units and tell the driver what happens, as events; the local engine.

An engine is an iterable of events over the units it was given: :class:`Started` when a
unit's run begins (again, after a retry), :class:`Finished` with its outcome. The driver
files reports and shows progress from the events alone, so both engines produce the same
sweep directory. The local engine runs one unit after another in this process's
subprocesses, writing each report straight into the unit's staging directory.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.sweep.plan import Unit
from harness.sweep.unit import UnitOutcome, run_pytest


@dataclass(frozen=True)
class Started:
    unit: Unit


@dataclass(frozen=True)
class Finished:
    unit: Unit
    outcome: UnitOutcome


Event = Started | Finished


class Engine(Protocol):
    name: str

    def run(
        self, units: Sequence[Unit], staging: Callable[[Unit], Path]
    ) -> Generator[Event, None, None]:
        """Run ``units``; a unit's report may be written into ``staging(unit)`` directly
        (else the outcome carries its files)."""
        ...


@dataclass(frozen=True)
class LocalEngine:
    """One unit after another on this machine."""

    verbose: bool = False
    name: str = "local"

    def run(
        self, units: Sequence[Unit], staging: Callable[[Unit], Path]
    ) -> Generator[Event, None, None]:
        for unit in units:
            yield Started(unit)
            yield Finished(unit, run_pytest(unit, staging(unit), verbose=self.verbose))
