"""``python -m harness sweep CKPT ... --out DIR [--engine ray] [-- pytest options]``.

Runs the claims on each checkpoint (a file, ``default`` or ``planted:NAME``) with the same
pytest options, files each report under ``DIR/<name>`` and keeps ``DIR/dashboard.html``
current. A checkpoint that fails is reported on its line and the sweep goes on; the exit
status is then 1. SIGTERM stops the sweep like Ctrl-C (exit 130), finished reports kept.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from harness.cli_types import nonnegative_float, nonnegative_int, positive_float
from harness.sweep.plan import SweepError, split_pytest_args
from harness.sweep.transfer import TRANSFERS

ENGINES = ("local", "ray")
RAY_OPTIONS = ("address", "cpus_per_unit", "gpus_per_unit", "retries", "checkpoint_transfer")


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
        help="skip checkpoints whose report with the same options and code is already in "
        "DIR/<name>",
    )
    parser.add_argument("--verbose", action="store_true", help="show pytest's output")
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: one checkpoint after another on this machine (default); ray: one Ray "
        "task per checkpoint, on a local instance or the cluster at --address",
    )
    ray = parser.add_argument_group("ray engine")
    ray.add_argument(
        "--address",
        default=None,
        metavar="ADDRESS",
        help="Ray cluster to join (host:port, ray://..., or 'auto' for the cluster this node "
        "belongs to); default: start a local instance on the loopback interface",
    )
    ray.add_argument(
        "--cpus-per-unit",
        type=positive_float,
        default=None,
        metavar="N",
        help="CPUs each checkpoint's task asks for (default: pytest's -n, else 1)",
    )
    ray.add_argument(
        "--gpus-per-unit",
        type=nonnegative_float,
        default=None,
        metavar="G",
        help="GPUs each task asks for when the units run with --device cuda (default 1; "
        "0.5 puts two units on one GPU)",
    )
    ray.add_argument(
        "--retries",
        type=nonnegative_int,
        default=None,
        metavar="N",
        help="runs of a task again after its worker died (default 3)",
    )
    ray.add_argument(
        "--checkpoint-transfer",
        choices=TRANSFERS,
        default=None,
        help="auto: a worker reads the driver's path when it holds the same file (sha256), "
        "else a copy shipped through the object store (default); object-store: always the copy",
    )
    parser.set_defaults(pytest_args=[])
    # argparse drops "--" before positionals see it, so split pytest's options off first.
    parse = parser.parse_known_args

    def parse_known_args(args=None, namespace=None):  # type: ignore[no-untyped-def]
        ours, theirs = split_pytest_args(sys.argv[1:] if args is None else args)
        namespace, extra = parse(ours, namespace)
        namespace.pytest_args = theirs
        return namespace, extra

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


def build_engine(args: argparse.Namespace) -> Any:
    from harness.sweep.engines import LocalEngine

    if args.engine == "local":
        given = [f"--{o.replace('_', '-')}" for o in RAY_OPTIONS if getattr(args, o) is not None]
        if given:
            raise SweepError(f"{', '.join(given)} only apply to --engine ray")
        return LocalEngine(verbose=args.verbose)
    from harness.sweep.ray_engine import DEFAULT_RETRIES, RayEngine, unit_resources

    return RayEngine(
        unit_resources(args.pytest_args, args.cpus_per_unit, args.gpus_per_unit),
        address=args.address,
        retries=DEFAULT_RETRIES if args.retries is None else args.retries,
        transfer=args.checkpoint_transfer or "auto",
        verbose=args.verbose,
    )


def _stop_on_sigterm(*_signal: Any) -> None:
    raise KeyboardInterrupt("SIGTERM")


def run(args: argparse.Namespace) -> int:
    from harness.report.dashboard_command import summary_line
    from harness.sweep.driver import run_sweep

    engine = build_engine(args)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if main_thread else None
    try:
        results, written = run_sweep(
            args.checkpoints, args.out, args.pytest_args, engine, resume=args.resume
        )
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
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
