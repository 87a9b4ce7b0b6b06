"""The ``python -m harness`` command line: one subcommand per module, found in a registry.

Adding a subcommand (``train``, ``evaluate``, ``discover-channels``, ...): write a module
with ``add_arguments(parser)`` and ``run(args) -> int`` (exit code) and add one
:class:`Command` line to :data:`COMMANDS`. Modules are imported only when their command is
built into the parser, and heavy imports belong inside ``run`` so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass


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
        "discover-channels",
        "harness.experiments.discover_command",
        "rank a layer's channels by how well they track the cheese; write a profile draft",
    ),
)


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness",
        description="maze-claims: interpretability claims about procgen maze policies",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in commands:
        module = importlib.import_module(cmd.module)
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    return int(args._run(args))
