"""``python -m harness dashboard REPORT_DIR ... --out DIR``: the claim x checkpoint view.

Reads each report directory (or report.json), compares every checkpoint with the previous
one and writes ``DIR/dashboard.json`` and ``DIR/dashboard.html``. A missing or malformed
report is bad input (:class:`harness.report.dashboard.DashboardError`, exit 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "reports",
        nargs="+",
        metavar="REPORT_DIR",
        help="report directories (with report.json) or report.json files, one per checkpoint",
    )
    parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="where to write the dashboard"
    )


def summary_line(doc: dict[str, Any], html_path: Path) -> str:
    """``dashboard: 2 checkpoints x 3 claims, 1 regression against the previous ... -> html``."""
    k, n, r = len(doc["checkpoints"]), len(doc["claims"]), doc["regressions"]
    return (
        f"dashboard: {k} checkpoint{'s' * (k != 1)} x {n} claim{'s' * (n != 1)}, "
        f"{r} regression{'s' * (r != 1)} against the previous checkpoint -> {html_path}"
    )


def check_out_dir(out: Path) -> None:
    from harness.report.dashboard import DashboardError

    if out.exists() and not out.is_dir():
        raise DashboardError(f"--out {out} is a file, not a directory")


def run(args: argparse.Namespace) -> int:
    from harness.report.dashboard import load_report_dir, write_dashboard

    check_out_dir(args.out)
    reports = [(str(path), load_report_dir(path)) for path in args.reports]
    written = write_dashboard(reports, args.out)
    print(written["json"])
    print(written["html"])
    print(summary_line(written["doc"], written["html"]))
    return 0
