"""report.md: the summary table and one section per claim (figures as relative links)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.report.text import (
    SUMMARY_HEADER,
    baseline_lines,
    claim_items,
    counterexample_groups,
    multiplicity_text,
    ordered_claims,
    run_notes,
    run_warnings,
    shared_units_lines,
    summary_row,
)
from harness.stats.format import fmt, fmt_p


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def render_markdown(report: Mapping[str, Any], forest_file: str | None) -> str:
    run = report["run"]
    s = report["summary"]
    lines = [
        "# maze-claims report",
        "",
        *[line for warning in run_warnings(report) for line in (f"**{warning}**", "")],
        f"- schema version: {report['schema_version']}",
        f"- checkpoint: `{run.get('checkpoint')}` "
        f"(sha256 `{run.get('checkpoint_sha256') or 'n/a'}`)",
        f"- profile: {run.get('profile') or 'n/a'}; device: {run.get('device')}; "
        f"budget: {run.get('budget')}; base seed: {run.get('base_seed')}; alpha: {run.get('alpha')}"
        + ("; sequential" if run.get("sequential") else ""),
        f"- claims: {s['claims']} ({s['supported']} supported, {s['refuted']} refuted, "
        f"{s['inconclusive']} inconclusive); errors: {s['errors']}",
        f"- multiplicity: {multiplicity_text(report)}",
        *(f"- {label}: {_cell(text)}" for label, text in run_notes(run)),
        "",
    ]
    baseline = report.get("baseline")
    if baseline:
        lines += [f"- {_cell(line)}" for line in baseline_lines(baseline)] + [""]
    lines += _table(SUMMARY_HEADER, [summary_row(c) for c in ordered_claims(report)])
    lines.append("")
    if forest_file:
        lines += [f"![forest plot]({forest_file})", ""]
    lines += ["## Shared units", ""]
    lines += [f"- {line}" for line in shared_units_lines(report)]
    lines.append("")
    for claim in report["claims"]:
        lines += _claim_section(claim)
    if report["errors"]:
        lines += ["## Errors", ""]
        lines += [
            f"- {e.get('id') or ''} `{e['nodeid']}` ({e.get('phase')}): {e.get('message', '')}"
            for e in report["errors"]
        ]
        lines.append("")
    return "\n".join(lines)


def _claim_section(claim: Mapping[str, Any]) -> list[str]:
    lines = [
        f"## {claim['id']}: {claim['title']}",
        "",
        f"**{claim['verdict']}** -- {claim.get('reason') or ''}",
        "",
    ]
    lines += [f"- {label}: {text}" for label, text in claim_items(claim, seeds_shown=20)]
    for comp in claim.get("components") or []:
        lines.append(
            f"- part {comp.get('label')}: {comp['verdict']}, estimate {fmt(comp.get('estimate'))} "
            f"CI [{fmt(comp['ci'][0])}, {fmt(comp['ci'][1])}], p = {fmt_p(comp.get('p_value'))}"
        )
    lines += [f"- note: {note}" for note in claim.get("notes") or []]
    found, replayed = counterexample_groups(claim)
    for label, group in (("counterexample", found), ("replayed counterexample", replayed)):
        for ce in group:
            seed = f"seed {ce['seed']}: " if ce.get("seed") is not None else ""
            lines.append(f"- {label}: {seed}{ce['description']}")
    lines.append("")
    for fig in claim.get("figures") or []:
        lines += [f"![{fig['name']}]({fig['file']})", ""]
    return lines
