"""What a finished unit leaves (``sweep-unit.json``) and which units ``--resume`` can skip.

A unit's directory appears under ``--out`` only when the unit is over (it is renamed into
place), and only a unit that produced a report gets a ``sweep-unit.json``: the checkpoint
(its sha256 as the report read it), the pytest options, the code fingerprint and how it
ran. ``--resume`` skips a unit whose record matches the checkpoint's current hash (a file)
or name (``default``, ``planted:*``, whose weights the code fingerprint covers), the same
options and the same code; anything else runs again, and the progress line says why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.report.atomic import atomic_write_text
from harness.sweep.fingerprint import Fingerprint
from harness.sweep.plan import Unit
from harness.sweep.transfer import file_sha256

RECORD_NAME = "sweep-unit.json"
RECORD_FORMAT = "maze-claims/sweep-unit"
RECORD_VERSION = 1


def unit_record(
    unit: Unit,
    report: dict[str, Any],
    fingerprint: Fingerprint,
    *,
    engine: str,
    attempts: int,
    seconds: float,
    checkpoint_note: str | None,
) -> dict[str, Any]:
    return {
        "format": RECORD_FORMAT,
        "version": RECORD_VERSION,
        "checkpoint": unit.checkpoint,
        "checkpoint_sha256": report["run"].get("checkpoint_sha256"),
        "pytest_args": list(unit.pytest_args),
        "code": fingerprint.code,
        "environment": dict(fingerprint.environment),
        "engine": engine,
        "attempts": attempts,
        "seconds": round(seconds, 3),  # the claims run's wall time (its last attempt)
        "checkpoint_note": checkpoint_note,
    }


def write_unit_record(directory: Path, record: dict[str, Any]) -> None:
    atomic_write_text(directory / RECORD_NAME, json.dumps(record, indent=1, sort_keys=True) + "\n")


def _read_record(directory: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((directory / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(record, dict) and record.get("format") == RECORD_FORMAT
    return record if ok else None


def why_not_done(unit: Unit, directory: Path, fingerprint: Fingerprint) -> str | None:
    """None when ``directory`` holds this unit's finished report; else the reason to run it."""
    if not directory.exists():
        return "not run yet"
    record = _read_record(directory)
    if record is None or not (directory / "report.json").is_file():
        return "no finished report there"
    if list(record.get("pytest_args", ())) != list(unit.pytest_args):
        return f"its report ran with other options ({' '.join(record.get('pytest_args', []))})"
    if record.get("code") != fingerprint.code:
        return "its report came from other code"
    if unit.is_file:
        current = file_sha256(unit.checkpoint)
        if current is None or record.get("checkpoint_sha256") != current:
            return "its report is of another file (sha256 differs)"
    elif record.get("checkpoint") != unit.checkpoint:
        return f"its report is of {record.get('checkpoint')}"
    return None
