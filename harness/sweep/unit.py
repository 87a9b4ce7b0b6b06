"""One unit's run: ``pytest claims/`` on one checkpoint, into a work directory.

Every engine runs a unit through :func:`run_pytest`, so the command, the environment of the
claims and the report are the same wherever the unit runs. The pytest process dies with the
process that started it (``PR_SET_PDEATHSIG`` on Linux): a Ray worker killed mid-task leaves
no claims run behind to compete with its retry.
"""

from __future__ import annotations

import ctypes
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.sweep.plan import Unit, repo_root

#: pytest exit codes after which a report was written (1: some claims refuted or errored).
REPORT_EXIT_CODES = (0, 1)
LOG_NAME = "pytest.log"
_PR_SET_PDEATHSIG = 1


@dataclass
class UnitOutcome:
    """What one unit's run left behind; plain data, so it travels back from a Ray worker."""

    ok: bool
    returncode: int | None = None
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    #: The report directory (relative path -> bytes) when the run happened elsewhere;
    #: None when it was written straight into the sweep's directory.
    files: dict[str, bytes] | None = field(default=None, repr=False)
    #: How the worker obtained the checkpoint file, when not from the given path.
    checkpoint_note: str | None = None

    @classmethod
    def failed(cls, error: str) -> UnitOutcome:
        return cls(ok=False, error=error)


def _given(option: str, args: Sequence[str]) -> bool:
    return any(a == option or a.startswith(option + "=") for a in args)


def pytest_command(checkpoint: str, report_dir: Path, pytest_args: Sequence[str]) -> list[str]:
    """The claims run of one unit. The counterexample database is off unless the options
    name one: each unit's report then depends only on its checkpoint and options, not on
    which units ran before it (or where)."""
    own_db = [] if _given("--counterexample-db", pytest_args) else ["--counterexample-db", "off"]
    return [
        sys.executable,
        "-m",
        "pytest",
        str(repo_root() / "claims"),
        "--checkpoint",
        checkpoint,
        "--report-dir",
        str(report_dir),
        "-p",
        "no:cacheprovider",
        *own_db,
        *pytest_args,
    ]


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGKILL when its parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # loaded before the fork, not in the child
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)

    return arm


def _last_error(log: Path) -> str:
    try:
        lines = [
            ln.strip() for ln in log.read_text(encoding="utf-8", errors="replace").splitlines()
        ]
    except OSError:
        return ""
    errors = [ln for ln in lines if ln.startswith(("ERROR", "E "))]
    return (errors or [ln for ln in lines if ln] or [""])[-1][:300]


def run_pytest(
    unit: Unit, work_dir: Path, *, checkpoint: str | None = None, verbose: bool = False
) -> UnitOutcome:
    """Run the claims of ``unit`` with the report and ``pytest.log`` in ``work_dir``; never
    raises for a bad checkpoint (the outcome says what went wrong). ``checkpoint`` replaces
    the unit's path when a worker reads a verified copy of it."""
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / LOG_NAME
    command = pytest_command(checkpoint or unit.checkpoint, work_dir, unit.pytest_args)
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as handle:
        handle.write("$ " + " ".join(command) + "\n")
        handle.flush()
        process = subprocess.Popen(
            command,
            cwd=repo_root(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=_die_with_parent(),  # one C call, its library loaded before the fork
        )
        assert process.stdout is not None
        for line in process.stdout:
            handle.write(line)
            if verbose:
                sys.stdout.write(line)
                sys.stdout.flush()
        returncode = process.wait()
    outcome = UnitOutcome(ok=False, returncode=returncode, seconds=time.monotonic() - start)
    report_json = work_dir / "report.json"
    if returncode not in REPORT_EXIT_CODES:
        detail = _last_error(log)
        outcome.error = f"pytest exit {returncode}" + (f": {detail}" if detail else "")
    elif not report_json.is_file():
        outcome.error = f"pytest exit {returncode} but no report.json"
    else:
        try:
            outcome.summary = json.loads(report_json.read_text(encoding="utf-8"))["summary"]
            outcome.ok = True
        except (OSError, ValueError, KeyError) as exc:
            outcome.error = f"report.json unreadable: {exc}"
    return outcome


def read_tree(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` by its relative POSIX path."""
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def write_tree(files: dict[str, bytes], directory: Path) -> None:
    """The inverse of :func:`read_tree`; refuses paths that leave ``directory``."""
    root = directory.resolve()
    for name, data in files.items():
        target = (root / name).resolve()
        if root not in target.parents:
            raise ValueError(f"report file {name!r} would be written outside {root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@dataclass
class UnitResult:
    """A unit as the sweep filed it: its outcome, or skipped by ``--resume``."""

    unit: Unit
    report_dir: Path
    outcome: UnitOutcome | None = None  # None: skipped, its report was already there
    attempts: int = 1

    @property
    def name(self) -> str:
        return self.unit.name

    @property
    def skipped(self) -> bool:
        return self.outcome is None

    @property
    def ok(self) -> bool:
        return self.outcome is None or self.outcome.ok

    @property
    def report_json(self) -> Path:
        return self.report_dir / "report.json"
