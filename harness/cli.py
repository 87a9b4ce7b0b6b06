"""The ``python -m harness`` command line: one subcommand per module, found in a registry.

Adding a subcommand (``train``, ``evaluate``, ``discover-channels``, ...): write a module
with ``add_arguments(parser)`` and ``run(args) -> int`` (exit code) and add one
:class:`Command` line to :data:`COMMANDS`. Modules are imported only when their command is
built into the parser, and heavy imports belong inside ``run`` so ``--help`` stays fast.

Bad input ends like a pytest usage error: argparse refuses malformed or out-of-range values
(``type=`` validators from :mod:`harness.cli_types`), and a typed bad-input error raised by a
command (:mod:`harness.errors`) becomes one line on stderr and exit status 2. Any other
exception is a bug and keeps its traceback. Commands keep their own exit codes otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import is_user_error

PROG = "python -m harness"
EXIT_USAGE, EXIT_INTERRUPTED = 2, 130


@dataclass(frozen=True)
class Command:
    name: str
    module: str  # has add_arguments(parser) and run(args) -> int
    help: str


COMMANDS: tuple[Command, ...] = (
    Command(
        "fetch-checkpoint",
        "harness.policy.fetch_command",
        "download the original maze checkpoint into the cache, verify its sha256",
    ),
    Command("train", "harness.train.command", "train (or resume) the bundled maze policy"),
    Command(
        "evaluate",
        "harness.train.evaluate_command",
        "accuracy, P(reach cheese) and decision-square behaviour on held-out mazes",
    ),
    Command(
        "import-mazes",
        "harness.maze.import_command",
        "convert saved mazes (procgen-tools' pickled state lists) into a maze directory",
    ),
    Command(
        "discover-channels",
        "harness.experiments.discover_command",
        "rank a layer's channels by how well they track the cheese; write a profile draft",
    ),
    Command("dashboard", "harness.report.dashboard_command", "claims x checkpoints of reports"),
    Command(
        "sweep",
        "harness.sweep.command",
        "run the claims on each checkpoint (here or on Ray), then the dashboard",
    ),
)


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="maze-claims: interpretability claims about procgen maze policies",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in commands:
        module = importlib.import_module(cmd.module)
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines) or type(exc).__name__


def main(argv: Sequence[str] | None = None, commands: Sequence[Command] = COMMANDS) -> int:
    """Run one command; its exit code, 2 for bad input, 130 when interrupted."""
    args = build_parser(commands).parse_args(sys.argv[1:] if argv is None else list(argv))
    where = f"{PROG} {args.command}"
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if not is_user_error(exc):
            raise
        print(f"{where}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
