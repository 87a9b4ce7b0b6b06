"""From the command line to units: checkpoints, names, the pytest options, the out directory.

Every unit gets the same pytest options, so all units use the same seeds and every pair of
reports is comparable. Checkpoint paths are made absolute against the caller's directory
(pytest runs in the repository root, and a Ray worker anywhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError

#: Options the sweep sets itself for every unit.
OWN_PYTEST_OPTIONS = ("--checkpoint", "--report-dir")


class SweepError(UsageError):
    """Sweep inputs that cannot work: an --out that is a file, taken report dirs, no claims/,
    options that contradict each other or that no worker can satisfy."""


@dataclass(frozen=True)
class Unit:
    """One checkpoint with the sweep's pytest options: what one report is made from."""

    checkpoint: str  # 'default', 'planted:NAME' or an absolute path
    name: str  # its directory under --out and its name on the dashboard
    pytest_args: tuple[str, ...]

    @property
    def is_file(self) -> bool:
        return not is_named_spec(self.checkpoint)


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


def pytest_option(pytest_args: Sequence[str], *names: str) -> str | None:
    """The value of the last ``--name VALUE``, ``--name=VALUE`` or ``-nVALUE`` among the
    pytest options (None when absent): what the units will run with."""
    value = None
    args = list(pytest_args)
    for k, arg in enumerate(args):
        for name in names:
            if arg == name and k + 1 < len(args):
                value = args[k + 1]
            elif arg.startswith(name + "="):
                value = arg[len(name) + 1 :]
            elif len(name) == 2 and arg.startswith(name) and len(arg) > 2 and arg[2] != "=":
                value = arg[2:]  # -n2
    return value


def plan_units(checkpoints: Sequence[str], pytest_args: Sequence[str]) -> list[Unit]:
    check_pytest_args(pytest_args)
    repo_root()
    specs = [normalize_checkpoint(c) for c in checkpoints]
    return [
        Unit(spec, name, tuple(pytest_args))
        for spec, name in zip(specs, unit_names(specs), strict=True)
    ]


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
