"""Compare a run with a baseline report (``--baseline``): read it, then test each claim's
effect change (:mod:`harness.report.regression`).

Status of each claim, most severe first: ``regression`` (the effect got worse by more than
the claim's tolerance), ``missing`` (in the baseline, not in this run), ``undecided``,
``improvement``, ``equivalent`` (the change lies inside +/- the tolerance), ``new``. The
verdict-label change is shown beside the status (``from``, ``to``) but is not the criterion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.report.regression import compare_reports
from harness.report.schema import ReportSchemaError, read_report


class BaselineError(ValueError):
    """A baseline file that cannot be read or is not a compatible report."""


def load_baseline(path: str | Path) -> dict[str, Any]:
    try:
        return read_report(Path(path), "baseline")
    except ReportSchemaError as exc:
        raise BaselineError(str(exc)) from None


def compare(report: dict[str, Any], baseline: dict[str, Any], path: str | Path) -> None:
    """Annotate ``report`` in place: the top-level ``baseline`` block (the effect comparison of
    :mod:`harness.report.regression`) and each claim's own ``baseline`` entry."""
    block = compare_reports(report, baseline)
    block = {"path": str(path), "schema_version": baseline.get("schema_version"), **block}
    by_id = {row["id"]: row for row in block["rows"]}
    for claim in report["claims"]:
        row = by_id[claim["id"]]
        claim["baseline"] = {k: v for k, v in row.items() if k != "id"}
    report["baseline"] = block
