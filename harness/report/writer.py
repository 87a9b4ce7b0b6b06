"""Write a built report into a directory: figures, report.md, report.html, report.json.

Every file is written atomically; report.json -- the machine contract -- is written last,
so a report.json on disk always comes with the Markdown, HTML and figures of the same run.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.report.atomic import atomic_write_bytes, atomic_write_text
from harness.report.build import record_file_stem
from harness.report.html import render_html
from harness.report.markdown import render_markdown
from harness.report.record import ClaimRecord


def dumps(report: Mapping[str, Any]) -> str:
    """The JSON text: sorted keys, no NaN (the contract is strict JSON)."""
    return json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_report(
    report: Mapping[str, Any], records: Iterable[ClaimRecord], directory: Path
) -> dict[str, Path]:
    from harness.report.figures import distribution_plot, forest_plot  # matplotlib: lazy

    directory = Path(directory)
    figures_dir = directory / "figures"
    paths: dict[str, Path] = {}
    by_id = {r.id: r for r in records}

    forest = forest_plot(report["claims"])
    if forest:
        paths["forest"] = atomic_write_bytes(figures_dir / "forest.png", forest)
    distributions: dict[str, bytes | None] = {}
    extras: dict[str, list[tuple[str, str, bytes]]] = {}
    for claim in report["claims"]:
        png = distribution_plot(claim)
        distributions[claim["id"]] = png
        record = by_id.get(claim["id"])
        stem = record_file_stem(record) if record else claim["id"]
        if png:
            atomic_write_bytes(figures_dir / f"{stem}--distribution.png", png)
        extras[claim["id"]] = []
        for fig in record.figures if record else []:
            data = base64.b64decode(fig.png_base64)
            atomic_write_bytes(figures_dir / f"{stem}--{fig.file_stem}.png", data)
            extras[claim["id"]].append((fig.name, fig.caption, data))

    paths["markdown"] = atomic_write_text(
        directory / "report.md", render_markdown(report, "figures/forest.png" if forest else None)
    )
    paths["html"] = atomic_write_text(
        directory / "report.html", render_html(report, forest, distributions, extras)
    )
    paths["json"] = atomic_write_text(directory / "report.json", dumps(report))
    return paths
