"""The summary table printed at the end of a pytest run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.report.text import SUMMARY_HEADER, ordered_claims, summary_row


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def summary_lines(report: Mapping[str, Any], report_dir: Path | None) -> list[str]:
    s = report["summary"]
    run = report["run"]
    lines = [
        f"{s['claims']} claims: {s['supported']} supported, {s['refuted']} refuted, "
        f"{s['inconclusive']} inconclusive; {s['errors']} errored; "
        f"{s['supported_after_holm']} supported after Holm (alpha {run.get('alpha')})",
        f"checkpoint {run.get('checkpoint')} sha256 {run.get('checkpoint_sha256') or 'n/a'}, "
        f"profile {run.get('profile') or 'n/a'}, device {run.get('device')}, "
        f"budget {run.get('budget')}, base seed {run.get('base_seed')}"
        + (", sequential" if run.get("sequential") else ""),
    ]
    baseline = report.get("baseline")
    if baseline:
        counts = baseline["counts"]
        lines.append(
            f"baseline {baseline['path']}: {counts['regression']} regressions, "
            f"{counts['shifted']} shifted intervals, {counts['missing']} missing, "
            f"{counts['improvement']} improvements, {counts['new']} new"
        )
    if report["claims"]:
        lines.append("")
        lines.extend(_table([SUMMARY_HEADER, *(summary_row(c) for c in ordered_claims(report))]))
    if baseline:
        missing = [r["id"] for r in baseline["rows"] if r["status"] == "missing"]
        if missing:
            lines.append(f"missing since baseline: {', '.join(missing)}")
    for error in report["errors"]:
        lines.append(f"ERROR {error.get('id') or error['nodeid']}: {error.get('message', '')}")
    if report_dir is not None:
        lines.append(f"report: {report_dir / 'report.html'}")
    return lines
