"""The report's JSON schema version and a checker for the documented contract.

``schema_version`` is "MAJOR.MINOR": MINOR grows when fields are added, MAJOR when a field
changes meaning or disappears. Readers (the baseline comparison, dashboards) accept any
report of a MAJOR they know. The full field list is in ``docs/report.md``.

Fields added in a minor version are required only in reports of that version or later (an
older report of a readable major stays readable) and type-checked whenever present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "3.1"
#: Major versions this code reads (2.0 renamed nested ``pvalue`` keys to ``p_value``; 3.0
#: made the ``baseline`` block an effect comparison with new statuses; the contract fields
#: the baseline comparison reads are the same in 1.x, 2.x and 3.x).
READABLE_MAJORS = (1, 2, 3)
VERDICTS = ("supported", "refuted", "inconclusive")

_NUMBER = (float, int, type(None))
_FLAG = (bool, type(None))

TOP_LEVEL_KEYS = ("schema_version", "run", "summary", "claims", "errors")
CLAIM_KEYS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "claim_id": (str,),
    "title": (str,),
    "verdict": (str,),
    "estimate": _NUMBER,
    "ci": (list,),
    "n": (int,),
    "p_value": _NUMBER,
    "p_value_holm": _NUMBER,
    "seeds": (list,),
}
#: Added in 2.2: Holm in both directions, errored claims in the family, shared units.
ADDED_IN = (2, 2)
ADDED_TOP_LEVEL_KEYS: dict[str, tuple[type, ...]] = {
    "multiplicity": (dict,),
    "shared_units": (dict,),
}
ADDED_CLAIM_KEYS: dict[str, tuple[type, ...]] = {
    "supported_after_holm": _FLAG,
    "p_value_refute": _NUMBER,
    "p_value_refute_holm": _NUMBER,
    "refuted_after_holm": _FLAG,
    "shares_units_with": (list,),
}
ADDED_SUMMARY_KEYS: dict[str, tuple[type, ...]] = {
    "supported_after_holm": (int,),
    "refuted_after_holm": (int,),
}
#: Added in 2.3: the collected tests an interrupted or stopped run never finished.
ADDED_IN_2_3 = (2, 3)
ADDED_2_3_TOP_LEVEL_KEYS: dict[str, tuple[type, ...]] = {"not_run": (list,)}
#: Added in 3.0: each claim's regression tolerance; the gate (``--fail-on``) when a plugin
#: run wrote the report; the baseline block as an effect comparison.
ADDED_IN_3_0 = (3, 0)
ADDED_3_0_CLAIM_KEYS: dict[str, tuple[type, ...]] = {"regression_tolerance": (dict, type(None))}
ADDED_3_0_TOP_LEVEL_KEYS: dict[str, tuple[type, ...]] = {"gate": (dict,)}
BASELINE_KEYS: dict[str, tuple[type, ...]] = {
    "counts": (dict,),
    "rows": (list,),
    "mismatches": (list,),
}
MULTIPLICITY_KEYS: dict[str, tuple[type, ...]] = {
    "family_size": (int,),
    "errored_in_family": (int,),
    "families": (dict,),
}
FAMILY_COUNTS = ("family_size", "errored", "missing_p_value", "after_holm")
GROUP_KEYS: dict[str, tuple[type, ...]] = {
    "claims": (list,),
    "distinct_seeds": (int,),
    "seeds_in_all": (int,),
    "min_pairwise_overlap": (int,),
}


class ReportSchemaError(ValueError):
    """A report that does not follow the documented schema (each problem is named)."""


def schema_major(version: str) -> int:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        raise ReportSchemaError(f"schema_version must look like '1.0', got {version!r}") from None


def schema_version_tuple(version: str) -> tuple[int, int]:
    """(MAJOR, MINOR); a missing or unreadable MINOR counts as 0."""
    parts = str(version).split(".")
    minor = parts[1] if len(parts) > 1 else "0"
    return schema_major(version), int(minor) if minor.isdigit() else 0


def _check(where: str, obj: dict, keys: dict[str, tuple[type, ...]], required: bool) -> list[str]:
    """Missing keys (if ``required``) and keys of the wrong type (a bool is no number)."""
    problems = []
    for key, types in keys.items():
        if key not in obj:
            if required:
                problems.append(f"{where}: missing {key!r}")
        elif not isinstance(obj[key], types) or (isinstance(obj[key], bool) and bool not in types):
            problems.append(f"{where}: {key!r} has type {type(obj[key]).__name__}")
    return problems


def _claim_problems(i: int, claim: Any, new: bool = False, v3: bool = False) -> list[str]:
    where = f"claims[{i}]" + (f" ({claim.get('id')})" if isinstance(claim, dict) else "")
    if not isinstance(claim, dict):
        return [f"{where} must be an object"]
    problems = _check(where, claim, CLAIM_KEYS, True) + _check(where, claim, ADDED_CLAIM_KEYS, new)
    problems += _check(where, claim, ADDED_3_0_CLAIM_KEYS, v3)
    if claim.get("verdict") not in VERDICTS:
        problems.append(f"{where}: verdict {claim.get('verdict')!r} not in {VERDICTS}")
    ci = claim.get("ci")
    if isinstance(ci, list) and len(ci) != 2:
        problems.append(f"{where}: 'ci' must be [low, high]")
    for j, other in enumerate(claim.get("shares_units_with") or []):
        if not (isinstance(other, dict) and isinstance(other.get("id"), str)):
            problems.append(f"{where}: shares_units_with[{j}] must be an object with an 'id'")
    return problems


def _added_problems(data: dict, new: bool) -> list[str]:
    """The 2.2 top-level additions: summary counts, ``multiplicity`` (both families) and
    ``shared_units`` (groups)."""
    problems = [
        f"missing top-level key {k!r}" for k in ADDED_TOP_LEVEL_KEYS if new and k not in data
    ]
    problems += _check("report", data, ADDED_TOP_LEVEL_KEYS, required=False)  # types only
    if isinstance(data.get("summary"), dict):
        problems += _check("summary", data["summary"], ADDED_SUMMARY_KEYS, new)
    multiplicity = data.get("multiplicity")
    if isinstance(multiplicity, dict):
        problems += _check("multiplicity", multiplicity, MULTIPLICITY_KEYS, new)
        families = multiplicity.get("families")
        for name in ("supported", "refuted") if isinstance(families, dict) else ():
            family = families.get(name)
            if not isinstance(family, dict):
                problems.append(f"multiplicity.families: missing {name!r}")
                continue
            counts = dict.fromkeys(FAMILY_COUNTS, (int,))
            problems += _check(f"multiplicity.families.{name}", family, counts, True)
    shared = data.get("shared_units")
    if isinstance(shared, dict):
        groups = shared.get("groups")
        if not isinstance(groups, list):
            return [*problems, "shared_units: 'groups' must be a list"]
        for j, group in enumerate(groups):
            if not isinstance(group, dict):
                problems.append(f"shared_units.groups[{j}] must be an object")
                continue
            problems += _check(f"shared_units.groups[{j}]", group, GROUP_KEYS, True)
    return problems


def read_report(path: Path, what: str = "report") -> dict[str, Any]:
    """A report file read and validated; every problem is a ReportSchemaError naming ``what``
    and the path (a baseline, a dashboard's report)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportSchemaError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportSchemaError(f"{what} {path} is not valid JSON: {exc}") from None
    validate_report(data, source=f"{what} {path}")
    return data


def validate_report(data: Any, source: str = "report") -> None:
    """Raise ReportSchemaError naming every missing or mistyped field."""
    if not isinstance(data, dict):
        raise ReportSchemaError(f"{source}: the top level must be a JSON object")
    problems = [f"missing top-level key {k!r}" for k in TOP_LEVEL_KEYS if k not in data]
    version = (0, 0)
    if "schema_version" in data:
        version = schema_version_tuple(data["schema_version"])
        if version[0] not in READABLE_MAJORS:
            problems.append(
                f"schema_version {data['schema_version']!r} is not compatible with "
                f"{SCHEMA_VERSION!r} (readable major versions: {list(READABLE_MAJORS)})"
            )
    new = version >= ADDED_IN
    problems += _added_problems(data, new)
    newer = version >= ADDED_IN_2_3
    problems += _check("report", data, ADDED_2_3_TOP_LEVEL_KEYS, newer)
    for j, entry in enumerate(data.get("not_run") or []):
        if not (isinstance(entry, dict) and isinstance(entry.get("nodeid"), str)):
            problems.append(f"not_run[{j}] must be an object with a 'nodeid'")
    claims = data.get("claims", [])
    if not isinstance(claims, list):
        problems.append("'claims' must be a list")
        claims = []
    v3 = version >= ADDED_IN_3_0
    problems += _check("report", data, ADDED_3_0_TOP_LEVEL_KEYS, required=False)
    if v3 and isinstance(data.get("baseline"), dict):
        problems += _check("baseline", data["baseline"], BASELINE_KEYS, True)
    for i, claim in enumerate(claims):
        problems += _claim_problems(i, claim, new, v3)
    if problems:
        raise ReportSchemaError(f"{source}: " + "; ".join(problems))
