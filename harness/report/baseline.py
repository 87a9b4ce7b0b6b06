"""Compare a run with a baseline report: verdict changes and intervals that moved apart.

Status of each claim, most severe first:

* ``regression``  -- supported before and not now, or inconclusive before and refuted now;
* ``shifted``     -- same verdict, but the two intervals no longer overlap;
* ``missing``     -- in the baseline, not in this run;
* ``improvement`` -- supported now and not before, or refuted before and inconclusive now;
* ``new``         -- not in the baseline;
* ``unchanged``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from harness.report.schema import ReportSchemaError, validate_report

STATUS_ORDER = ("regression", "shifted", "missing", "improvement", "new", "unchanged")


class BaselineError(ValueError):
    """A baseline file that cannot be read or is not a compatible report."""


def load_baseline(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {path} is not valid JSON: {exc}") from None
    try:
        validate_report(data, source=f"baseline {path}")
    except ReportSchemaError as exc:
        raise BaselineError(str(exc)) from None
    return data


def _bound(value: Any, default: float) -> float:
    return default if value is None else float(value)


def intervals_overlap(a: list[Any], b: list[Any]) -> bool:
    lo = max(_bound(a[0], -math.inf), _bound(b[0], -math.inf))
    hi = min(_bound(a[1], math.inf), _bound(b[1], math.inf))
    return lo <= hi


def _status(before: str, now: str, overlap: bool) -> str:
    if before == "supported" and now != "supported":
        return "regression"
    if before == "inconclusive" and now == "refuted":
        return "regression"
    if now == "supported" and before != "supported":
        return "improvement"
    if before == "refuted" and now == "inconclusive":
        return "improvement"
    return "unchanged" if overlap else "shifted"


def compare(report: dict[str, Any], baseline: dict[str, Any], path: str | Path) -> None:
    """Annotate ``report`` in place: each claim's ``baseline`` and the top-level summary."""
    base = {c["id"]: c for c in baseline["claims"]}
    rows = []
    for claim in report["claims"]:
        old = base.get(claim["id"])
        if old is None:
            claim["baseline"] = {"status": "new"}
            rows.append({"id": claim["id"], "status": "new", "from": None, "to": claim["verdict"]})
            continue
        overlap = intervals_overlap(claim["ci"], old["ci"])
        status = _status(old["verdict"], claim["verdict"], overlap)
        claim["baseline"] = {
            "status": status,
            "verdict": old["verdict"],
            "verdict_changed": old["verdict"] != claim["verdict"],
            "estimate": old.get("estimate"),
            "ci": old.get("ci"),
            "intervals_overlap": overlap,
        }
        rows.append(
            {
                "id": claim["id"],
                "status": status,
                "from": old["verdict"],
                "to": claim["verdict"],
                "intervals_overlap": overlap,
            }
        )
    current = {c["id"] for c in report["claims"]}
    for claim_id in sorted(set(base) - current):
        rows.append(
            {"id": claim_id, "status": "missing", "from": base[claim_id]["verdict"], "to": None}
        )
    rows.sort(key=lambda r: STATUS_ORDER.index(r["status"]))
    report["baseline"] = {
        "path": str(path),
        "schema_version": baseline.get("schema_version"),
        "counts": {s: sum(r["status"] == s for r in rows) for s in STATUS_ORDER},
        "rows": rows,
    }
