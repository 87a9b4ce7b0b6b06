"""The summary table printed at the end of a pytest run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.report.text import (
    SUMMARY_HEADER,
    baseline_lines,
    holm_counts_text,
    ordered_claims,
    run_warnings,
    summary_row,
    units_source_text,
)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def _family_text(report: Mapping[str, Any]) -> str:
    m = report.get("multiplicity") or {}
    errored = m.get("errored_in_family", 0)
    text = f"; family of {m.get('family_size', 0)}"
    return text + (f" incl. {errored} errored as p = 1" if errored else "")


def _shared_units_line(report: Mapping[str, Any]) -> list[str]:
    groups = (report.get("shared_units") or {}).get("groups") or []
    if not groups:
        return []
    sharing = sum(len(g["claims"]) for g in groups)
    return [
        f"shared units: {sharing} claims in {len(groups)} group{'s' * (len(groups) > 1)} "
        "measured some of the same mazes (verdicts not independent; Holm still valid)"
    ]


def summary_lines(report: Mapping[str, Any], report_dir: Path | None) -> list[str]:
    s = report["summary"]
    run = report["run"]
    lines = [
        *run_warnings(report),
        f"{s['claims']} claims: {s['supported']} supported, {s['refuted']} refuted, "
        f"{s['inconclusive']} inconclusive; {s['errors']} errored; "
        f"{holm_counts_text(report)} (alpha {run.get('alpha')}{_family_text(report)})",
        f"checkpoint {run.get('checkpoint')} sha256 {run.get('checkpoint_sha256') or 'n/a'}, "
        f"profile {run.get('profile') or 'n/a'}, device {run.get('device')}, "
        f"budget {run.get('budget')}, {units_source_text(run)}"
        + (", sequential" if run.get("sequential") else ""),
        *_shared_units_line(report),
        *([f"about the subject: {run['subject_caveat']}"] if run.get("subject_caveat") else []),
    ]
    baseline = report.get("baseline")
    if baseline:
        lines.extend(baseline_lines(baseline))
    gate = report.get("gate") or {}
    if gate.get("fail_on", "refuted") != "refuted":
        lines.append(
            f"gate --fail-on {gate['fail_on']}: {gate['decision']}, exit {gate['exit_status']}"
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
