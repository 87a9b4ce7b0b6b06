"""The sweep loop: plan the units, skip finished ones, run the rest on an engine, file each
report as it arrives and refresh the dashboard.

A unit is run in ``DIR/.<name>.running`` (the local engine writes there; a Ray worker's
files are written there) and renamed to ``DIR/<name>`` when it is over, with its
``sweep-unit.json`` when it produced a report. So ``DIR/<name>`` is always a finished unit:
an interrupted sweep leaves the finished checkpoints' reports valid and the dashboard of
those, and ``--resume`` runs only the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.sweep.engines import Engine, Finished, Started
from harness.sweep.fingerprint import Fingerprint, fingerprint
from harness.sweep.plan import Unit, check_out, plan_units
from harness.sweep.progress import Progress
from harness.sweep.resume import unit_record, why_not_done, write_unit_record
from harness.sweep.unit import UnitOutcome, UnitResult, write_tree


@dataclass(frozen=True)
class Filer:
    """Moves finished units into ``out`` (one rename each) with their unit records."""

    out: Path
    fingerprint: Fingerprint
    engine: str

    def stage_path(self, unit: Unit) -> Path:
        return self.out / f".{unit.name}.running"

    def staging(self, unit: Unit) -> Path:
        """A fresh, empty staging directory for ``unit`` (leftovers of a stopped run go)."""
        stage = self.stage_path(unit)
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        return stage

    def file(self, unit: Unit, outcome: UnitOutcome, attempts: int) -> UnitResult:
        final = self.out / unit.name
        result = UnitResult(unit, final, outcome, attempts)
        stage = self.stage_path(unit)  # the local engine wrote its report there
        if outcome.files is not None:  # a Ray worker's report, sent back
            write_tree(outcome.files, self.staging(unit))
        if not stage.is_dir():
            return result  # nothing was written (e.g. Ray could not run the task)
        if outcome.ok:
            report = json.loads((stage / "report.json").read_text(encoding="utf-8"))
            record = unit_record(
                unit,
                report,
                self.fingerprint,
                engine=self.engine,
                attempts=attempts,
                seconds=outcome.seconds,
                checkpoint_note=outcome.checkpoint_note,
            )
            write_unit_record(stage, record)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(stage, final)
        return result


def _dashboard(results: Sequence[UnitResult], out: Path) -> dict[str, Any] | None:
    from harness.report.dashboard import load_report_dir, write_dashboard

    reports = [(str(r.report_dir), load_report_dir(r.report_dir)) for r in results if r.ok]
    return write_dashboard(reports, out) if reports else None


def run_sweep(
    checkpoints: Sequence[str],
    out: Path,
    pytest_args: Sequence[str],
    engine: Engine,
    *,
    resume: bool = False,
) -> tuple[list[UnitResult], dict[str, Any] | None]:
    """Every unit on ``engine``; the results in the order given and the last dashboard."""
    units = plan_units(checkpoints, pytest_args)
    out = Path(out).expanduser().resolve()  # pytest runs in the repo root, not the caller's dir
    check_out(out, [u.name for u in units], resume)
    out.mkdir(parents=True, exist_ok=True)
    filer = Filer(out, fingerprint(), engine.name)
    results: dict[str, UnitResult] = {}
    todo = []
    progress = Progress(len(units), engine.name)
    for unit in units:
        reason = why_not_done(unit, out / unit.name, filer.fingerprint) if resume else "new"
        if reason is None:
            results[unit.name] = UnitResult(unit, out / unit.name)
            progress.finished(results[unit.name])
        else:
            if resume and out.joinpath(unit.name).exists():
                print(f"sweep: {unit.name} runs again: {reason}", file=sys.stderr)
            todo.append(unit)
    attempts: Counter[str] = Counter()

    def in_order() -> list[UnitResult]:
        return [results[u.name] for u in units if u.name in results]

    written = None
    events = engine.run(todo, filer.staging)
    try:
        for event in events:
            if isinstance(event, Started):
                attempts[event.unit.name] += 1
                progress.started(event.unit.name)
            elif isinstance(event, Finished):
                unit = event.unit
                results[unit.name] = filer.file(unit, event.outcome, max(1, attempts[unit.name]))
                written = _dashboard(in_order(), out)  # the page follows the sweep
                progress.finished(results[unit.name])  # announced once filed and shown
        if not todo:
            written = _dashboard(in_order(), out)
    except KeyboardInterrupt:
        finished = sum(r.ok for r in results.values())
        print(
            f"sweep: interrupted; {finished} of {len(units)} checkpoints have their report in "
            f"{out}; run the same command with --resume to finish the rest",
            file=sys.stderr,
        )
        raise
    finally:
        events.close()  # an engine stops what still runs (Ray: cancels tasks, shuts down)
        progress.close()
    return in_order(), written
