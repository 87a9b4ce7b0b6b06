"""Build the report document (the JSON contract) from claim records.

Deterministic by construction: claims are sorted by claim id (natural order: CV2 before
CV10), then record id, then node id; Holm is computed over the sorted list; only the fields
named in :data:`TIMING_FIELDS` depend on the clock. A serial run and an xdist run of the
same options therefore produce the same document apart from timings.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from harness import __version__
from harness.report.record import ClaimRecord
from harness.report.schema import SCHEMA_VERSION
from harness.stats.multiplicity import holm

#: Top-level and per-claim keys whose values depend on the clock.
TIMING_FIELDS = {"top": ("timing",), "claim": ("wall_time_s",)}
#: Run facts every record carries; the run header states each once (a list if they differ).
RUN_FACT_KEYS = (
    "checkpoint",
    "checkpoint_sha256",
    "profile",
    "device",
    "channel_scale",
    "layer",
    "maze_sizes",
    "coverage_note",
    "profile_note",
)
_ID = re.compile(r"^([A-Z]+)(\d+)(.*)$")


def claim_sort_key(record: ClaimRecord) -> tuple:
    m = _ID.match(record.claim_id)
    family, number, rest = (m.group(1), int(m.group(2)), m.group(3)) if m else (record.id, 0, "")
    return (family, number, rest, record.id, record.nodeid)


def _effect_size(result: Mapping[str, Any]) -> dict[str, Any] | None:
    effects = result.get("effects", {})
    for name in ("cohen_dz", "kendall_tau"):
        if effects.get(name) is not None:
            return {"name": name, "value": effects[name]}
    return None


def claim_entry(record: ClaimRecord, p_holm: float | None) -> dict[str, Any]:
    """One claim as the report states it (contract fields first)."""
    r = record.result or {}
    alpha = r.get("alpha")
    run = record.run
    return {
        "id": record.id,
        "claim_id": record.claim_id,
        "nodeid": record.nodeid,
        "title": record.title,
        "source": record.source,
        "hypothesis": record.hypothesis,
        "verdict": r.get("verdict"),
        "expected": record.expected,
        "outcome": record.outcome,
        "reason": r.get("reason"),
        "form": r.get("form"),
        "test": r.get("test"),
        "alternative": r.get("alternative"),
        "statistic": r.get("statistic"),
        "df": r.get("df"),
        "estimate": r.get("estimate"),
        "estimate_name": r.get("estimate_name"),
        "ci": r.get("ci", [None, None]),
        "ci_level": r.get("ci_level"),
        "n": r.get("n", 0),
        "p_value": r.get("p_value"),
        "p_value_nominal": r.get("p_value_nominal"),
        "p_value_holm": p_holm,
        "supported_after_holm": (None if p_holm is None or alpha is None else bool(p_holm < alpha)),
        "alpha": alpha,
        "threshold": r.get("threshold"),
        "margin": r.get("margin"),
        "effect_size": _effect_size(r),
        "effects": r.get("effects", {}),
        "secondary": r.get("secondary", {}),
        "components": r.get("components", []),
        "sequential": r.get("sequential"),
        "checkpoint": run.get("checkpoint"),
        "checkpoint_sha256": run.get("checkpoint_sha256"),
        "profile": run.get("profile"),
        "device": run.get("device"),
        "budget": run.get("budget"),
        "base_seed": record.base_seed if record.base_seed is not None else run.get("base_seed"),
        "seeds": list(record.seeds),
        "per_seed": record.per_seed,
        "unit_effects": list(record.unit_effects),
        "unit_label": record.unit_label,
        "interventions": list(record.interventions),
        "conditions": list(record.conditions),
        "published": record.published,
        "rationale": record.rationale,
        "notes": list(record.notes),
        "counterexamples": list(record.counterexamples),
        "figures": [
            {
                "name": f.name,
                "caption": f.caption,
                "file": f"figures/{record_file_stem(record)}--{f.file_stem}.png",
            }
            for f in record.figures
        ],
        "baseline": None,
        "wall_time_s": record.wall_time_s,
    }


def record_file_stem(record: ClaimRecord) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", record.id).strip("-") or "claim"


def _merged_run(records: Iterable[ClaimRecord], fallback: Mapping[str, Any]) -> dict[str, Any]:
    """Each run fact once: its value if all records agree, else the sorted distinct values;
    ``fallback`` for the four core facts when no record states them (facts no record states
    otherwise are left out)."""
    merged: dict[str, Any] = {}
    records = list(records)
    for key in RUN_FACT_KEYS:
        seen = {json.dumps(r.run[key]): r.run[key] for r in records if r.run.get(key) is not None}
        values = [seen[k] for k in sorted(seen)]
        if len(values) == 1:
            merged[key] = values[0]
        elif values:
            merged[key] = values
        elif key in ("checkpoint", "checkpoint_sha256", "profile", "device"):
            merged[key] = fallback.get(key)
    return merged


def build_report(
    records: Iterable[ClaimRecord],
    *,
    options: Mapping[str, Any],
    fallback: Mapping[str, Any] | None = None,
    errors: Iterable[Mapping[str, Any]] = (),
    timing: Mapping[str, Any] | None = None,
    interrupted: bool = False,
) -> dict[str, Any]:
    """The report document; ``baseline`` is added by :func:`harness.report.baseline.compare`."""
    ordered = sorted((r for r in records if r.result is not None), key=claim_sort_key)
    adjusted = holm([r.result.get("p_value") for r in ordered])  # type: ignore[union-attr]
    claims = [claim_entry(r, p) for r, p in zip(ordered, adjusted, strict=True)]
    counts = {v: sum(c["verdict"] == v for c in claims) for v in ("supported", "refuted")}
    counts["inconclusive"] = sum(c["verdict"] == "inconclusive" for c in claims)
    error_list = sorted(
        (dict(e) for e in errors), key=lambda e: (e.get("nodeid", ""), e.get("phase", ""))
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": {"name": "maze-claims", "version": __version__},
        "run": {
            **dict(options),
            **_merged_run(ordered, fallback or {}),
            "interrupted": interrupted,
        },
        "summary": {
            "claims": len(claims),
            **counts,
            "errors": len(error_list),
            "supported_after_holm": sum(bool(c["supported_after_holm"]) for c in claims),
        },
        "multiplicity": {
            "method": "holm",
            "family": "all claims of this run with a p-value",
            "family_size": sum(p is not None for p in adjusted),
            "note": "verdicts are per claim at its own alpha; p_value_holm controls the "
            "family-wise error over the run",
        },
        "claims": claims,
        "errors": error_list,
        "baseline": None,
        "timing": dict(timing or {}),
    }


def strip_timings(report: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without clock-dependent fields, for comparing runs."""
    out = copy.deepcopy(dict(report))
    for key in TIMING_FIELDS["top"]:
        out.pop(key, None)
    for claim in out.get("claims", []):
        for key in TIMING_FIELDS["claim"]:
            claim.pop(key, None)
    return out
