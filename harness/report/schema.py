"""The report's JSON schema version and a checker for the documented contract.

``schema_version`` is "MAJOR.MINOR": MINOR grows when fields are added, MAJOR when a field
changes meaning or disappears. Readers (the baseline comparison, dashboards) accept any
report of a MAJOR they know. The full field list is in ``docs/report.md``.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = "2.1"
#: Major versions this code reads (2.0 renamed nested ``pvalue`` keys to ``p_value``; the
#: contract fields the baseline comparison reads are the same in 1.x and 2.x).
READABLE_MAJORS = (1, 2)
VERDICTS = ("supported", "refuted", "inconclusive")

TOP_LEVEL_KEYS = ("schema_version", "run", "summary", "claims", "errors")
CLAIM_KEYS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "claim_id": (str,),
    "title": (str,),
    "verdict": (str,),
    "estimate": (float, int, type(None)),
    "ci": (list,),
    "n": (int,),
    "p_value": (float, int, type(None)),
    "p_value_holm": (float, int, type(None)),
    "seeds": (list,),
}


class ReportSchemaError(ValueError):
    """A report that does not follow the documented schema (each problem is named)."""


def schema_major(version: str) -> int:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        raise ReportSchemaError(f"schema_version must look like '1.0', got {version!r}") from None


def _claim_problems(i: int, claim: Any) -> list[str]:
    where = f"claims[{i}]" + (f" ({claim.get('id')})" if isinstance(claim, dict) else "")
    if not isinstance(claim, dict):
        return [f"{where} must be an object"]
    problems = []
    for key, types in CLAIM_KEYS.items():
        if key not in claim:
            problems.append(f"{where}: missing {key!r}")
        elif not isinstance(claim[key], types) or isinstance(claim[key], bool):
            problems.append(f"{where}: {key!r} has type {type(claim[key]).__name__}")
    if claim.get("verdict") not in VERDICTS:
        problems.append(f"{where}: verdict {claim.get('verdict')!r} not in {VERDICTS}")
    ci = claim.get("ci")
    if isinstance(ci, list) and len(ci) != 2:
        problems.append(f"{where}: 'ci' must be [low, high]")
    return problems


def validate_report(data: Any, source: str = "report") -> None:
    """Raise ReportSchemaError naming every missing or mistyped field."""
    if not isinstance(data, dict):
        raise ReportSchemaError(f"{source}: the top level must be a JSON object")
    problems = [f"missing top-level key {k!r}" for k in TOP_LEVEL_KEYS if k not in data]
    if "schema_version" in data and schema_major(data["schema_version"]) not in READABLE_MAJORS:
        problems.append(
            f"schema_version {data['schema_version']!r} is not compatible with "
            f"{SCHEMA_VERSION!r} (readable major versions: {list(READABLE_MAJORS)})"
        )
    claims = data.get("claims", [])
    if not isinstance(claims, list):
        problems.append("'claims' must be a list")
        claims = []
    for i, claim in enumerate(claims):
        problems += _claim_problems(i, claim)
    if problems:
        raise ReportSchemaError(f"{source}: " + "; ".join(problems))
