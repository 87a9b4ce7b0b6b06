"""The run as a GitHub Actions job summary (``GITHUB_STEP_SUMMARY``): verdicts, the baseline
comparison and the gate's decision, in Markdown a CI page renders."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.report.text import baseline_lines, baseline_status_text, interval_text
from harness.stats.format import fmt

ENV = "GITHUB_STEP_SUMMARY"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def step_summary(report: Mapping[str, Any]) -> str:
    run, s = report["run"], report["summary"]
    gate = report.get("gate") or {}
    lines = [
        f"### maze-claims: `{run.get('checkpoint')}` (budget {run.get('budget')})",
        "",
        f"{s['claims']} claims: {s['supported']} supported, {s['refuted']} refuted, "
        f"{s['inconclusive']} inconclusive; {s['errors']} errored",
        "",
    ]
    if gate:
        lines += [f"**Gate (`--fail-on {gate['fail_on']}`): {gate['decision']}**", ""]
    baseline = report.get("baseline")
    if baseline:
        lines += [f"- {_cell(line)}" for line in baseline_lines(baseline)] + [""]
    lines += [
        "| claim | verdict | estimate | interval | n | baseline |",
        "|---|---|---|---|---|---|",
    ]
    for claim in report["claims"]:
        cells = [
            claim["id"],
            claim["verdict"],
            fmt(claim.get("estimate")),
            interval_text(claim),
            claim.get("n"),
            baseline_status_text(claim),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n\n"


def append_step_summary(
    report: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> Path | None:
    """Append the summary to the file ``GITHUB_STEP_SUMMARY`` names (nothing when unset)."""
    target = environ.get(ENV)
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as out:
        out.write(step_summary(report))
    return path
