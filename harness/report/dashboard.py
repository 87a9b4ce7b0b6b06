"""The cross-checkpoint dashboard: one claim x checkpoint matrix from several reports.

A training run leaves snapshots; running the claims on each and reading the reports side by
side shows when a mechanism emerges. Each report is compared with the previous checkpoint's
by :func:`harness.report.baseline.compare` (on deep copies: it annotates in place), and the
status is shown as an opaque string except ``regression``, which is marked.

Checkpoints are ordered by training progress (``samples_seen`` from ``run.training_progress``
or the checkpoint file's sidecar, :func:`harness.train.bc.progress_path`) when every one of
them states it, else kept in the order given -- the document says which.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from harness.report.atomic import atomic_write_bytes, atomic_write_text
from harness.report.build import claim_sort_key
from harness.report.regression import compare_reports
from harness.report.schema import ReportSchemaError, read_report

FORMAT = "maze-claims/dashboard"
VERSION = 1
PROGRESS_FORMAT = "maze-claims/training-progress"
ORDER_PROGRESS, ORDER_GIVEN = "training progress", "as given"
REGRESSION = "regression"
#: Run facts that should agree across the reports for the comparisons to mean much.
COMPARED_RUN_FACTS = (
    "budget",
    "profile",
    "base_seed",
    "layer",
    "alpha",
    "maze_sizes",
    "rounds",
    "sequential",
    "numerics_option",
    "seeds_option",
    "mazes",
)
VERDICT_COLORS = {"supported": "#1a7f37", "refuted": "#cf222e", "inconclusive": "#bf8700"}
#: What each matrix cell copies from the report's claim entry (all None when absent).
CELL_FIELDS = (
    "verdict",
    "estimate",
    "ci",
    "n",
    "estimate_name",
    "ci_level",
    "threshold",
    "margin",
)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class DashboardError(ValueError):
    """A report directory that cannot be read as a maze-claims report (path and problem)."""


# -- reading -------------------------------------------------------------------------------
def load_report_dir(path: str | Path) -> dict[str, Any]:
    """The report in ``path/report.json`` (or ``path`` itself if it is a .json file)."""
    path = Path(path)
    file = path if path.suffix == ".json" and not path.is_dir() else path / "report.json"
    if not path.exists():
        raise DashboardError(f"report {path} does not exist")
    if not file.is_file():
        raise DashboardError(f"report directory {path} has no report.json")
    try:
        return read_report(file)
    except ReportSchemaError as exc:
        raise DashboardError(str(exc)) from None


# -- checkpoint names and progress ---------------------------------------------------------
def checkpoint_spec(run_checkpoint: Any) -> tuple[str, str]:
    """(spec, source) of a report's ``run.checkpoint`` ("<spec> (<source>)", as the claims
    plugin writes it; a bare value is both)."""
    if isinstance(run_checkpoint, list):  # records disagreed; name it after the first
        run_checkpoint = run_checkpoint[0] if run_checkpoint else None
    text = "" if run_checkpoint is None else str(run_checkpoint)
    spec, sep, rest = text.partition(" (")
    if sep and rest.endswith(")"):
        return spec, rest[:-1]
    return text, text


def checkpoint_name(spec: str) -> str:
    """A short file-safe name: a path's stem; ``planted:x`` -> ``planted-x``; ``default``."""
    spec = str(spec).strip()
    if spec in ("default", "planted") or spec.startswith("planted:"):
        name = spec.replace(":", "-")
    else:
        name = Path(spec).stem if Path(spec).suffix else Path(spec).name
    return _UNSAFE.sub("-", name).strip("-") or "checkpoint"


def report_checkpoint_name(report: Mapping[str, Any]) -> str:
    """The (not yet unique) name of the checkpoint a report ran on."""
    return checkpoint_name(checkpoint_spec(report["run"].get("checkpoint"))[0])


def unique_names(names: Iterable[str]) -> list[str]:
    """``names`` with repeats suffixed -2, -3, ... (first occurrence unchanged)."""
    out: list[str] = []
    taken: set[str] = set(names := list(names))
    seen: set[str] = set()
    for name in names:
        candidate, k = name, 1
        while candidate in seen or (k > 1 and candidate in taken):
            k += 1
            candidate = f"{name}-{k}"
        seen.add(candidate)
        out.append(candidate)
    return out


def read_progress(checkpoint_file: str | Path) -> dict[str, Any] | None:
    """The training-progress sidecar of a checkpoint file, or None if absent or unreadable."""
    from harness.train.bc import progress_path  # imports torch: only when a file is named

    try:
        sidecar = progress_path(Path(checkpoint_file))
        if not sidecar.is_file():
            return None
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != PROGRESS_FORMAT:
        return None
    return data if _is_count(data.get("samples_seen")) else None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def samples_seen(run: Mapping[str, Any]) -> int | None:
    """How far training had got: ``run.training_progress`` or the checkpoint's sidecar."""
    stated = run.get("training_progress")
    if isinstance(stated, Mapping) and _is_count(stated.get("samples_seen")):
        return int(stated["samples_seen"])
    spec, source = checkpoint_spec(run.get("checkpoint"))
    for candidate in (source, spec):
        if candidate and not candidate.startswith("planted") and Path(candidate).suffix:
            progress = read_progress(candidate)
            if progress is not None:
                return int(progress["samples_seen"])
    return None


# -- building ------------------------------------------------------------------------------
def _record_key(claim: Mapping[str, Any]) -> tuple:
    """Natural order of the report builder (family letters, number: CV2 before CV10)."""
    ns = SimpleNamespace(claim_id=claim["claim_id"], id=claim["id"], nodeid="")
    return claim_sort_key(ns)  # type: ignore[arg-type]  # reads only these three fields


def _vs_previous(report: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """The effect comparison with the previous checkpoint (the ``--baseline`` one):
    {"counts", "status": {record id: status}}."""
    block = compare_reports(report, previous)
    return {"counts": block["counts"], "status": {r["id"]: r["status"] for r in block["rows"]}}


def _cell(name: str, claim: Mapping[str, Any] | None, vs: str | None) -> dict[str, Any]:
    if claim is None:
        return {"checkpoint": name, **dict.fromkeys(CELL_FIELDS), "vs_previous": vs}
    return {"checkpoint": name, **{k: claim.get(k) for k in CELL_FIELDS}, "vs_previous": vs}


def _mismatches(names: list[str], reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run facts that differ between checkpoints, and claims measured on different seeds."""
    out = []
    for key in COMPARED_RUN_FACTS:
        values = {n: r["run"].get(key) for n, r in zip(names, reports, strict=True)}
        if len({json.dumps(v, sort_keys=True, default=str) for v in values.values()}) > 1:
            out.append({"field": key, "values": values})
    seeds: dict[str, dict[str, Any]] = {}
    for name, report in zip(names, reports, strict=True):
        for claim in report["claims"]:
            seeds.setdefault(claim["id"], {})[name] = claim.get("seeds")
    for record_id, by_name in seeds.items():
        if len({json.dumps(v) for v in by_name.values()}) > 1:
            out.append({"field": "seeds", "claim": record_id, "checkpoints": sorted(by_name)})
    return out


def build_dashboard(reports: Sequence[tuple[str | Path, Mapping[str, Any]]]) -> dict[str, Any]:
    """The dashboard.json document of ``(source path, report)`` pairs (see the module doc)."""
    if not reports:
        raise DashboardError("a dashboard needs at least one report")
    sources = [str(src) for src, _ in reports]
    docs = [copy.deepcopy(dict(rep)) for _, rep in reports]
    names = unique_names(report_checkpoint_name(r) for r in docs)
    progress = [samples_seen(r["run"]) for r in docs]
    order = ORDER_PROGRESS if all(p is not None for p in progress) else ORDER_GIVEN
    index = list(range(len(docs)))
    if order == ORDER_PROGRESS:
        index.sort(key=lambda i: progress[i])  # stable: equal progress keeps the given order
    names = [names[i] for i in index]
    docs = [docs[i] for i in index]
    sources = [sources[i] for i in index]
    progress = [progress[i] for i in index]

    versus: list[dict[str, Any] | None] = [None]
    for i in range(1, len(docs)):
        versus.append(_vs_previous(docs[i], docs[i - 1]))

    checkpoints = []
    for i, (name, report) in enumerate(zip(names, docs, strict=True)):
        run = report["run"]
        vs = versus[i]
        checkpoints.append(
            {
                "name": name,
                "checkpoint": run.get("checkpoint"),
                "checkpoint_sha256": run.get("checkpoint_sha256"),
                "samples_seen": progress[i],
                "report": sources[i],
                "budget": run.get("budget"),
                "profile": run.get("profile"),
                "summary": report.get("summary"),
                "vs_previous": None
                if vs is None
                else {
                    "counts": vs["counts"],
                    "regressions": sum(s == REGRESSION for s in vs["status"].values()),
                },
            }
        )

    by_id: dict[str, Mapping[str, Any]] = {}
    for report in docs:
        for claim in report["claims"]:
            by_id.setdefault(claim["id"], claim)
    claims = []
    for record_id in sorted(by_id, key=lambda k: _record_key(by_id[k])):
        first = by_id[record_id]
        cells = []
        for i, (name, report) in enumerate(zip(names, docs, strict=True)):
            claim = next((c for c in report["claims"] if c["id"] == record_id), None)
            vs = None if versus[i] is None else versus[i]["status"].get(record_id)
            cells.append(_cell(name, claim, vs))
        claims.append(
            {
                "id": record_id,
                "claim_id": first.get("claim_id"),
                "title": first.get("title"),
                "form": first.get("form"),
                "cells": cells,
            }
        )
    regressions = sum(c["vs_previous"]["regressions"] for c in checkpoints if c["vs_previous"])
    return {
        "format": FORMAT,
        "version": VERSION,
        "order": order,
        "checkpoints": checkpoints,
        "claims": claims,
        "regressions": regressions,
        "mismatches": _mismatches(names, docs),
    }


# -- figures -------------------------------------------------------------------------------
def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out and abs(out) != float("inf") else None


def emergence_plot(
    claim: Mapping[str, Any], checkpoints: Sequence[Mapping[str, Any]]
) -> bytes | None:
    """Estimate and interval of one claim across checkpoints, threshold or margin dashed."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from harness.report.record import figure_png

    by_progress = all(c.get("samples_seen") is not None for c in checkpoints)
    xs = [c["samples_seen"] if by_progress else i for i, c in enumerate(checkpoints)]
    cells = zip(xs, claim["cells"], strict=True)
    points = [(x, cell) for x, cell in cells if _num(cell.get("estimate")) is not None]
    if not points:
        return None
    fig = Figure(figsize=(6.0, 2.6))
    ax = fig.subplots()
    finite = []
    for x, cell in points:
        est = _num(cell["estimate"])
        lo, hi = (cell.get("ci") or [None, None])[:2]
        lo_n, hi_n = _num(lo), _num(hi)
        color = VERDICT_COLORS.get(cell.get("verdict") or "", "#57606a")
        ax.errorbar(
            [x],
            [est],
            yerr=[
                [est - lo_n if lo_n is not None else 0.0],
                [hi_n - est if hi_n is not None else 0.0],
            ],
            fmt="o",
            color=color,
            capsize=3,
            ms=5,
        )
        finite += [v for v in (est, lo_n, hi_n) if v is not None]
    line_x = [x for x, _ in points]
    ax.plot(line_x, [_num(c["estimate"]) for _, c in points], color="#8c959f", lw=0.8, zorder=0)
    bounds: list[list[float | None]] = []
    for _, cell in points:
        margin = cell.get("margin")
        if isinstance(margin, list) and len(margin) == 2:
            bounds.append([_num(margin[0]), _num(margin[1])])
        else:
            bounds.append([_num(cell.get("threshold"))])
    for k in range(max(len(b) for b in bounds)):
        ys = [b[k] if k < len(b) else None for b in bounds]
        if any(y is not None for y in ys):
            xy = [(x, y) for x, y in zip(line_x, ys, strict=True) if y is not None]
            if len(xy) == 1:
                ax.axhline(xy[0][1], color="#57606a", ls="--", lw=1)
            else:
                ax.plot(*zip(*xy, strict=True), color="#57606a", ls="--", lw=1)
            finite += [y for _, y in xy]
    if not by_progress:
        ax.set_xticks(xs, [c["name"] for c in checkpoints], rotation=20, ha="right", fontsize=7)
        ax.set_xlim(-0.5, len(xs) - 0.5)
    else:
        ax.set_xlabel("samples seen in training", fontsize=8)
    name = next((c.get("estimate_name") for _, c in points if c.get("estimate_name")), "estimate")
    ax.set_title(f"{claim['id']}: {name}"[:110], fontsize=9)
    ax.tick_params(labelsize=7)
    return figure_png(fig)


def dashboard_figures(doc: Mapping[str, Any]) -> dict[str, bytes | None]:
    """The emergence plot of every claim, by record id."""
    return {c["id"]: emergence_plot(c, doc["checkpoints"]) for c in doc["claims"]}


# -- HTML ----------------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:80rem;padding:0 1rem;color:#1f2328;line-height:1.45}
table{border-collapse:collapse;font-size:.85rem;margin:1rem 0}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
thead th{background:#f6f8fa;position:sticky;top:0;z-index:1}
td.cell{min-width:8rem}
.verdict-supported{background:#dafbe1}.verdict-refuted{background:#ffebe9}
.verdict-inconclusive{background:#fff8c5}.absent{background:#f6f8fa;color:#8c959f}
.regression{color:#cf222e;font-weight:700}.status{font-size:.75rem;color:#57606a}
.legend span{display:inline-block;padding:.1rem .5rem;margin-right:.5rem;border:1px solid #d0d7de}
.ci{font-size:.75rem;color:#57606a}
section.claim{border-top:1px solid #d0d7de;margin-top:1.5rem;padding-top:.5rem}
img{max-width:100%;height:auto}
.mismatch{background:#fff8c5;border:1px solid #bf8700;padding:.5rem}
"""


def _fmt(value: Any) -> str:
    number = _num(value)
    if number is None:
        return "n/a" if value is None else str(value)
    return f"{number:.3g}"


def _interval(cell: Mapping[str, Any]) -> str:
    ci = cell.get("ci")
    if not isinstance(ci, list) or len(ci) != 2:
        return ""
    lo = "-inf" if ci[0] is None else _fmt(ci[0])
    hi = "inf" if ci[1] is None else _fmt(ci[1])
    level = _num(cell.get("ci_level"))
    return f"{round(level * 100)}% [{lo}, {hi}]" if level else f"[{lo}, {hi}]"


def _td(claim_id: str, cell: Mapping[str, Any]) -> str:
    attrs = f'data-claim="{escape(claim_id)}" data-checkpoint="{escape(cell["checkpoint"])}"'
    status = cell.get("vs_previous")
    if cell.get("verdict") is None:
        note = f'<div class="status">{escape(status)}</div>' if status else ""
        return f'<td class="cell absent" {attrs}>{note}</td>'
    verdict = str(cell["verdict"])
    body = [
        f"<strong>{escape(verdict)}</strong>",
        f"<div>{escape(_fmt(cell.get('estimate')))}</div>",
        f'<div class="ci">{escape(_interval(cell))}</div>',
    ]
    if status == REGRESSION:
        body.append('<div class="regression">&#9660; regression</div>')
    elif status:
        body.append(f'<div class="status">{escape(str(status))}</div>')
    return f'<td class="cell verdict-{escape(verdict)}" {attrs}>{"".join(body)}</td>'


def _header(doc: Mapping[str, Any]) -> list[str]:
    cps = doc["checkpoints"]
    budgets = sorted({str(c.get("budget")) for c in cps})
    parts = [
        "<h1>maze-claims dashboard</h1>",
        f"<p>{len(cps)} checkpoint{'s' * (len(cps) != 1)}, {len(doc['claims'])} claims; "
        f"ordered {escape(doc['order'])}; budget{'s' * (len(budgets) != 1)} "
        f"{escape(', '.join(budgets))}; {doc['regressions']} regression"
        f"{'s' * (doc['regressions'] != 1)} against the previous checkpoint.</p>",
        '<p class="legend">'
        + "".join(f'<span class="verdict-{v}">{v}</span>' for v in VERDICT_COLORS)
        + '<span class="absent">not in that report</span>'
        + '<span class="regression">&#9660; regression vs the previous checkpoint</span></p>',
    ]
    for m in doc.get("mismatches") or []:
        what = m["field"] + (f" of {m['claim']}" if "claim" in m else "")
        detail = json.dumps(m.get("values", m.get("checkpoints")), default=str)
        parts.append(
            f'<p class="mismatch">{escape(what)} differs between checkpoints: {escape(detail)}</p>'
        )
    rows = []
    for c in cps:
        s = c.get("summary") or {}
        vs = c.get("vs_previous")
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{escape(str(v))}</td>"
                for v in (
                    c["name"],
                    c.get("checkpoint"),
                    "n/a" if c.get("samples_seen") is None else c["samples_seen"],
                    c.get("budget"),
                    c.get("profile"),
                    f"{s.get('supported', 0)} / {s.get('refuted', 0)} / {s.get('inconclusive', 0)}",
                    "" if vs is None else vs["regressions"],
                )
            )
            + "</tr>"
        )
    parts += [
        "<table><thead><tr><th>name</th><th>checkpoint</th><th>samples seen</th><th>budget</th>"
        "<th>profile</th><th>supported / refuted / inconclusive</th>"
        "<th>regressions vs previous</th></tr></thead><tbody>",
        *rows,
        "</tbody></table>",
    ]
    return parts


def render_dashboard_html(doc: Mapping[str, Any], figures: Mapping[str, bytes | None]) -> str:
    """One self-contained page: header, the claim x checkpoint matrix, emergence plots."""
    names = [c["name"] for c in doc["checkpoints"]]
    matrix = [
        '<table class="matrix"><thead><tr><th>claim</th>',
        *(f"<th>{escape(n)}</th>" for n in names),
        "</tr></thead><tbody>",
    ]
    for claim in doc["claims"]:
        matrix.append(
            f'<tr><th><a href="#claim-{escape(claim["id"])}">{escape(claim["id"])}</a></th>'
            + "".join(_td(claim["id"], cell) for cell in claim["cells"])
            + "</tr>"
        )
    matrix.append("</tbody></table>")
    sections = []
    for claim in doc["claims"]:
        png = figures.get(claim["id"])
        img = (
            f'<img alt="{escape(claim["id"])} across checkpoints" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
            if png
            else "<p>no estimate to plot</p>"
        )
        sections.append(
            f'<section class="claim" id="claim-{escape(claim["id"])}">'
            f"<h3>{escape(claim['id'])}: {escape(str(claim.get('title') or ''))}</h3>"
            f"{img}</section>"
        )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>maze-claims dashboard</title>",
            f"<style>{CSS}</style></head><body>",
            *_header(doc),
            "<h2>Claims by checkpoint</h2>",
            *matrix,
            "<h2>Estimates across checkpoints</h2>",
            "<p>Each point is a checkpoint's estimate with its interval, coloured by verdict; "
            "the dashed line is the claim's threshold or margin.</p>",
            *sections,
            "</body></html>",
        ]
    )


def write_dashboard(
    reports: Sequence[tuple[str | Path, Mapping[str, Any]]], out_dir: str | Path
) -> dict[str, Any]:
    """Write ``dashboard.json`` and ``dashboard.html`` atomically; their paths and the doc."""
    out_dir = Path(out_dir)
    doc = build_dashboard(reports)
    html_text = render_dashboard_html(doc, dashboard_figures(doc))
    text = json.dumps(doc, indent=2, sort_keys=True, allow_nan=False, default=str) + "\n"
    json_path = atomic_write_text(out_dir / "dashboard.json", text)
    html_path = atomic_write_bytes(out_dir / "dashboard.html", html_text.encode("utf-8"))
    return {"json": json_path, "html": html_path, "doc": doc}
