"""``python -m harness sweep CKPT ... --out DIR [-- pytest options]``: claims on each checkpoint.

Each checkpoint is one unit of work (:func:`run_unit`): ``pytest claims/`` in a subprocess
with the same options for every checkpoint, so all units use the same seeds and every pair
of reports is comparable. Its report goes to ``DIR/<name>`` (``name`` as on the dashboard),
its pytest output to ``DIR/<name>/pytest.log``. A unit that fails is reported and the sweep
goes on; the dashboard is written from the reports that exist, and the exit status is 1 if
any unit failed. Units are independent, so a scheduler (e.g. Ray) can run them elsewhere.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UsageError

#: pytest exit codes after which a report was written (1: some claims refuted or errored).
REPORT_EXIT_CODES = (0, 1)
#: Options the sweep sets itself for every unit.
OWN_PYTEST_OPTIONS = ("--checkpoint", "--report-dir")
LOG_NAME = "pytest.log"


class SweepError(UsageError):
    """Sweep inputs that cannot work: an --out that is a file, taken report dirs, no claims/."""


@dataclass
class UnitResult:
    """What one checkpoint's run left behind."""

    checkpoint: str
    name: str
    report_dir: Path
    ok: bool
    returncode: int | None = None
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    skipped: bool = False  # --resume found this checkpoint's report already there

    @property
    def report_json(self) -> Path:
        return self.report_dir / "report.json"


# -- inputs --------------------------------------------------------------------------------
def repo_root() -> Path:
    """The directory with ``claims/`` and ``conftest.py`` (the package's parent)."""
    import harness

    root = Path(harness.__file__).resolve().parent.parent
    if not (root / "claims").is_dir() or not (root / "conftest.py").is_file():
        raise SweepError(
            f"no claims/ suite next to the harness package in {root}: the sweep needs a source "
            "checkout (pip install -e .), not an installed wheel"
        )
    return root


def is_named_spec(spec: str) -> bool:
    return spec in ("default", "planted") or spec.startswith("planted:")


def normalize_checkpoint(spec: str) -> str:
    """A path made absolute against the caller's directory (pytest runs in the repo root)."""
    return spec if is_named_spec(spec) else str(Path(spec).expanduser().resolve())


def unit_names(checkpoints: Sequence[str]) -> list[str]:
    from harness.report.dashboard import checkpoint_name, unique_names

    return unique_names(checkpoint_name(c) for c in checkpoints)


def split_pytest_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(sweep arguments, pytest arguments) split at the first ``--``."""
    argv = list(argv)
    if "--" not in argv:
        return argv, []
    k = argv.index("--")
    return argv[:k], argv[k + 1 :]


def check_pytest_args(pytest_args: Sequence[str]) -> None:
    for arg in pytest_args:
        if arg.split("=", 1)[0] in OWN_PYTEST_OPTIONS:
            raise SweepError(f"pytest option {arg} is set by the sweep for each checkpoint")


def file_sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def already_done(checkpoint: str, report_dir: Path) -> bool:
    """Whether ``report_dir`` holds a report of this very checkpoint (for ``--resume``):
    a file's sha256, or the same ``default`` / ``planted:*`` name."""
    from harness.report.dashboard import DashboardError, checkpoint_spec, load_report_dir

    try:
        run = load_report_dir(report_dir)["run"]
    except DashboardError:
        return False
    if is_named_spec(checkpoint):
        return checkpoint_spec(run.get("checkpoint"))[0] == checkpoint
    digest = file_sha256(Path(checkpoint))
    return digest is not None and run.get("checkpoint_sha256") == digest


def _non_empty_dir(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def check_out(out: Path, names: Sequence[str], resume: bool) -> None:
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out {out} is a file, not a directory")
    taken = [n for n in names if _non_empty_dir(out / n)]
    if taken and not resume:
        raise SweepError(
            f"report directories already exist in {out}: {', '.join(taken)} "
            "(pass --resume to skip finished checkpoints, or choose another --out)"
        )


# -- one unit ------------------------------------------------------------------------------
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


def _last_error(log: Path) -> str:
    try:
        lines = [
            ln.strip() for ln in log.read_text(encoding="utf-8", errors="replace").splitlines()
        ]
    except OSError:
        return ""
    errors = [ln for ln in lines if ln.startswith(("ERROR", "E "))]
    return (errors or [ln for ln in lines if ln] or [""])[-1][:300]


def run_unit(
    checkpoint: str,
    name: str,
    out_dir: str | Path,
    pytest_args: Sequence[str],
    *,
    verbose: bool = False,
) -> UnitResult:
    """Run the claims on one checkpoint into ``out_dir/name``; never raises for a bad
    checkpoint (the result says what went wrong)."""
    report_dir = Path(out_dir) / name
    report_dir.mkdir(parents=True, exist_ok=True)
    log = report_dir / LOG_NAME
    command = pytest_command(checkpoint, report_dir, pytest_args)
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
        )
        assert process.stdout is not None
        for line in process.stdout:
            handle.write(line)
            if verbose:
                sys.stdout.write(line)
                sys.stdout.flush()
        returncode = process.wait()
    result = UnitResult(checkpoint, name, report_dir, ok=False, returncode=returncode)
    result.seconds = time.monotonic() - start
    if returncode not in REPORT_EXIT_CODES:
        detail = _last_error(log)
        result.error = f"pytest exit {returncode}" + (f": {detail}" if detail else "")
        return result
    if not result.report_json.is_file():
        result.error = f"pytest exit {returncode} but no report.json"
        return result
    try:
        result.summary = json.loads(result.report_json.read_text(encoding="utf-8"))["summary"]
    except (OSError, ValueError, KeyError) as exc:
        result.error = f"report.json unreadable: {exc}"
        return result
    result.ok = True
    return result


def progress_line(k: int, total: int, result: UnitResult) -> str:
    head = f"sweep [{k}/{total}] {result.name}:"
    if result.skipped:
        return f"{head} already done (same checkpoint in {result.report_json}), skipped"
    if not result.ok:
        return f"{head} FAILED, {result.error} (log: {result.report_dir / LOG_NAME})"
    s = result.summary
    counts = ", ".join(f"{s.get(v, 0)} {v}" for v in ("supported", "refuted", "inconclusive"))
    errors = f", {s['errors']} errors" if s.get("errors") else ""
    return f"{head} {counts}{errors} ({result.seconds:.0f} s)"


# -- the command ---------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoints",
        nargs="+",
        metavar="CKPT",
        help="checkpoint files, 'default' or 'planted:NAME'; options after -- go to pytest",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="sweep directory")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip checkpoints whose report of the same checkpoint is already in DIR/<name>",
    )
    parser.add_argument("--verbose", action="store_true", help="show pytest's output")
    parser.set_defaults(pytest_args=[])
    # argparse drops "--" before positionals see it, so split pytest's options off first.
    parse = parser.parse_known_args

    def parse_known_args(args=None, namespace=None):  # type: ignore[no-untyped-def]
        ours, theirs = split_pytest_args(sys.argv[1:] if args is None else args)
        namespace, extra = parse(ours, namespace)
        namespace.pytest_args = theirs
        return namespace, extra

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


def run_sweep(
    checkpoints: Sequence[str],
    out: Path,
    pytest_args: Sequence[str],
    *,
    resume: bool = False,
    verbose: bool = False,
) -> tuple[list[UnitResult], dict[str, Any] | None]:
    """Every unit in turn, then the dashboard of the reports that exist."""
    from harness.report.dashboard import load_report_dir, write_dashboard

    check_pytest_args(pytest_args)
    repo_root()
    out = Path(out).expanduser().resolve()  # pytest runs in the repo root, not the caller's dir
    specs = [normalize_checkpoint(c) for c in checkpoints]
    names = unit_names(specs)
    check_out(out, names, resume)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for k, (spec, name) in enumerate(zip(specs, names, strict=True), start=1):
        report_dir = out / name
        if resume and already_done(spec, report_dir):
            result = UnitResult(spec, name, report_dir, ok=True, skipped=True)
        else:
            if report_dir.exists():  # --resume over an unfinished or different run
                shutil.rmtree(report_dir)
            result = run_unit(spec, name, out, pytest_args, verbose=verbose)
        print(progress_line(k, len(specs), result), flush=True)
        results.append(result)
    reports = [(str(r.report_dir), load_report_dir(r.report_dir)) for r in results if r.ok]
    written = write_dashboard(reports, out) if reports else None
    return results, written


def run(args: argparse.Namespace) -> int:
    from harness.report.dashboard_command import summary_line

    results, written = run_sweep(
        args.checkpoints, args.out, args.pytest_args, resume=args.resume, verbose=args.verbose
    )
    failed = [r for r in results if not r.ok]
    if written is not None:
        print(written["json"])
        print(written["html"])
        print(summary_line(written["doc"], written["html"]))
    else:
        print("sweep: no report was written, so no dashboard", file=sys.stderr)
    if failed:
        print(
            f"sweep: {len(failed)} of {len(results)} checkpoints failed: "
            + ", ".join(r.name for r in failed),
            file=sys.stderr,
        )
        return 1
    return 0
