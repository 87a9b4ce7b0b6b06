"""report.html: one self-contained page (inline CSS, figures as base64 PNG, no scripts)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from html import escape
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

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:70rem;padding:0 1rem;color:#1f2328;line-height:1.45}
table{border-collapse:collapse;font-size:.9rem;margin:1rem 0}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.supported{color:#1a7f37;font-weight:600}.refuted{color:#cf222e;font-weight:600}
.inconclusive{color:#bf8700;font-weight:600}
.regression td{background:#ffebe9}.shifted td{background:#fff8c5}
section.claim{border-top:1px solid #d0d7de;margin-top:2rem;padding-top:.5rem}
img{max-width:100%;height:auto}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
code{background:#f6f8fa;padding:0 .2rem}
.incomplete{background:#ffebe9;border:1px solid #cf222e;padding:.5rem}
"""


def _img(png: bytes | None, alt: str) -> str:
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def render_html(
    report: Mapping[str, Any],
    forest_png: bytes | None,
    distribution_pngs: Mapping[str, bytes | None],
    claim_figures: Mapping[str, list[tuple[str, str, bytes]]],
) -> str:
    run = report["run"]
    s = report["summary"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>maze-claims report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>maze-claims report</h1>",
        *(
            f'<p class="incomplete"><strong>{escape(warning)}</strong></p>'
            for warning in run_warnings(report)
        ),
        "<dl>",
        _dd(
            "checkpoint",
            f"{run.get('checkpoint')} (sha256 {run.get('checkpoint_sha256') or 'n/a'})",
        ),
        _dd("profile", run.get("profile") or "n/a"),
        _dd("device / budget", f"{run.get('device')} / {run.get('budget')}"),
        _dd("base seed / alpha", f"{run.get('base_seed')} / {run.get('alpha')}"),
        _dd("sequential", "yes" if run.get("sequential") else "no"),
        _dd(
            "claims",
            f"{s['claims']}: {s['supported']} supported, {s['refuted']} refuted, "
            f"{s['inconclusive']} inconclusive; {s['errors']} errors",
        ),
        _dd("multiplicity", multiplicity_text(report)),
        *(_dd(label, text) for label, text in run_notes(run)),
        _dd("schema", str(report["schema_version"])),
        "</dl>",
    ]
    baseline = report.get("baseline")
    if baseline:
        parts.append('<ul class="baseline">')
        parts += [f"<li>{escape(line)}</li>" for line in baseline_lines(baseline)]
        parts.append("</ul>")
    parts.append(_summary_table(report))
    if forest_png:
        parts += ["<h2>Forest plot</h2>", _img(forest_png, "forest plot of effects")]
    parts.append('<section id="shared-units"><h2>Shared units</h2><ul>')
    parts += [f"<li>{escape(line)}</li>" for line in shared_units_lines(report)]
    parts.append("</ul></section>")
    for claim in report["claims"]:
        parts.append(
            _claim_section(
                claim, distribution_pngs.get(claim["id"]), claim_figures.get(claim["id"], [])
            )
        )
    if report["errors"]:
        parts.append("<h2>Errors</h2><ul>")
        parts += [
            f"<li>{escape(e.get('id') or '')} <code>{escape(e['nodeid'])}</code> "
            f"({escape(str(e.get('phase')))}): "
            f"{escape(str(e.get('message', '')))}</li>"
            for e in report["errors"]
        ]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _dd(term: str, value: str) -> str:
    return f"<dt>{escape(term)}</dt><dd>{escape(str(value))}</dd>"


def _summary_table(report: Mapping[str, Any]) -> str:
    rows = [
        "<table><thead><tr>"
        + "".join(f"<th>{escape(h)}</th>" for h in SUMMARY_HEADER)
        + "</tr></thead><tbody>"
    ]
    for claim in ordered_claims(report):
        status = (claim.get("baseline") or {}).get("status", "")
        cells = summary_row(claim)
        cells_html = [f'<td><a href="#{escape(claim["id"])}">{escape(cells[0])}</a></td>']
        cells_html.append(f'<td class="{escape(claim["verdict"])}">{escape(cells[1])}</td>')
        cells_html += [f"<td>{escape(c)}</td>" for c in cells[2:]]
        rows.append(f'<tr class="{escape(status)}">' + "".join(cells_html) + "</tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _components_table(comps: list[Mapping[str, Any]]) -> str:
    rows = [
        "<table><tr><th>part</th><th>verdict</th><th>estimate</th><th>interval</th><th>p</th></tr>"
    ]
    for comp in comps:
        rows.append(
            f"<tr><td>{escape(str(comp.get('label')))}</td>"
            f'<td class="{escape(comp["verdict"])}">{escape(comp["verdict"])}</td>'
            f"<td>{fmt(comp.get('estimate'))}</td>"
            f"<td>[{fmt(comp['ci'][0])}, {fmt(comp['ci'][1])}]</td>"
            f"<td>{fmt_p(comp.get('p_value'))}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def _counterexamples(claim: Mapping[str, Any]) -> str:
    found, replayed = counterexample_groups(claim)
    out = []
    for heading, group in (
        ("Counterexamples", found),
        ("Replayed counterexamples (from the counterexample database)", replayed),
    ):
        if not group:
            continue
        out.append(f"<h3>{heading}</h3><ul>")
        for ce in group:
            seed = f"seed {ce['seed']}: " if ce.get("seed") is not None else ""
            details = (
                f" <code>{escape(json.dumps(ce['details']))}</code>" if ce.get("details") else ""
            )
            out.append(f"<li>{escape(seed + ce['description'])}{details}</li>")
        out.append("</ul>")
    return "\n".join(out)


def _claim_section(
    claim: Mapping[str, Any], distribution: bytes | None, figures: list[tuple[str, str, bytes]]
) -> str:
    verdict = claim["verdict"]
    items = claim_items(claim)
    out = [
        f'<section class="claim" id="{escape(claim["id"])}">',
        f"<h2>{escape(claim['id'])}: {escape(claim['title'])}</h2>",
        f'<p><span class="{escape(verdict)}">{escape(verdict)}</span> &mdash; '
        f"{escape(claim.get('reason') or '')}</p>",
        "<dl>" + "".join(_dd(k, v) for k, v in items) + "</dl>",
    ]
    if claim.get("components"):
        out.append(_components_table(claim["components"]))
    if claim.get("notes"):
        out.append(
            "<h3>Notes</h3><ul>"
            + "".join(f"<li>{escape(n)}</li>" for n in claim["notes"])
            + "</ul>"
        )
    if claim.get("counterexamples"):
        out.append(_counterexamples(claim))
    out.append(_img(distribution, f"per-seed distribution for {claim['id']}"))
    for name, caption, png in figures:
        out.append(
            f"<figure>{_img(png, name)}<figcaption>{escape(caption or name)}</figcaption></figure>"
        )
    out.append("</section>")
    return "\n".join(out)
