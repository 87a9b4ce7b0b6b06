"""Build the report document (the JSON contract) from claim records.

Deterministic by construction: claims are sorted by claim id (natural order: CV2 before
CV10), then record id, then node id; Holm is computed over the sorted list; only the fields
named in :data:`TIMING_FIELDS` depend on the clock. A serial run and an xdist run of the
same options therefore produce the same document apart from timings.

Multiplicity: Holm's adjustment is applied in both directions -- to ``p_value`` (evidence
for the claim, ``supported_after_holm``) and to ``p_value_refute`` (evidence against it,
``refuted_after_holm``) -- each over the same family: every claim test of the run. A claim
test that errored before reaching a result is one member with p = 1 in both families, and so
is a claim whose test gave no p-value in a direction (NaN, or a two-sided claim without a
margin, which can never be refuted). Dropping them would let failures shrink the family.

Shared units: claims measured on the same mazes are dependent; :func:`shared_units` says
which claims share unit seeds (see there for the grouping rule).
"""

from __future__ import annotations

import copy
import json
import math
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
    "subject_caveat",
    "base_seed_note",
    "maze_source",
    "checkpoint_layout",
    "numerics",
    "device_check",
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


def _below(p: float | None, alpha: float | None) -> bool | None:
    return None if p is None or alpha is None else bool(p < alpha)


def sequential_refute_pvalue(sequential: Mapping[str, Any], p_nominal: float) -> float:
    """The stage-wise ordering p-value for *refuting* a claim of a group-sequential run.

    The sampler reports ``p_value`` as the stage-wise ordering p-value (valid for Holm) but
    ``p_value_refute`` as the fixed-sample p-value at the stopping look, which ignores the
    earlier looks. Refutation used the same boundaries as support, so the same design gives
    the refute direction its stage-wise p-value (below alpha exactly when the run refuted).
    The design's alpha is recovered from the first look's nominal level (O'Brien-Fleming-type
    spending: a_1 = 2 sf(z_{1-alpha/2} / sqrt(t_1))). If the recomputed nominal levels do
    not match the recorded ones, the conservative Bonferroni bound over the planned looks
    (``looks_planned`` x nominal p) is returned instead.
    """
    from scipy import stats

    from harness.stats.sequential import GroupSequentialDesign  # scipy: lazy

    sizes = tuple(int(s) for s in sequential["look_sizes"])
    nominal = [float(a) for a in sequential["nominal_alphas"]]
    look = int(sequential["stopped_at_look"]) - 1
    bonferroni = min(1.0, float(p_nominal) * int(sequential.get("looks_planned", len(sizes))))
    try:
        t1 = sizes[0] / sizes[-1]
        alpha = float(2.0 * stats.norm.sf(math.sqrt(t1) * stats.norm.isf(nominal[0] / 2.0)))
        design = GroupSequentialDesign.for_sizes(float(f"{alpha:.10g}"), sizes)
        if not all(
            math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
            for a, b in zip(design.nominal_alphas, nominal, strict=True)
        ):
            return bonferroni
        return design.stagewise_pvalue(look, float(p_nominal))
    except (ValueError, IndexError, ZeroDivisionError):
        return bonferroni


def refute_pvalues(result: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(``p_value_refute``, ``p_value_refute_nominal``) as the report states them: for a
    sequential run the stage-wise p-value and the fixed-sample one at the stopping look
    (like ``p_value`` / ``p_value_nominal``), otherwise the result's p-value and None."""
    p = result.get("p_value_refute")
    seq = result.get("sequential")
    if "p_value_refute_nominal" in result:  # the sampler already adjusted it
        return p, result["p_value_refute_nominal"]
    if p is None or not seq:
        return p, None
    return sequential_refute_pvalue(seq, p), p


def claim_entry(
    record: ClaimRecord,
    p_holm: float | None,
    p_refute_holm: float | None = None,
    shares_units_with: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One claim as the report states it (contract fields first)."""
    r = record.result or {}
    alpha = r.get("alpha")
    run = record.run
    p_refute, p_refute_nominal = refute_pvalues(r)
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
        "supported_after_holm": _below(p_holm, alpha),
        "p_value_refute": p_refute,
        "p_value_refute_nominal": p_refute_nominal,
        "p_value_refute_holm": p_refute_holm,
        "refuted_after_holm": _below(p_refute_holm, alpha),
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
        "mazes": list(record.mazes) or None,
        "shares_units_with": list(shares_units_with or []),
        "per_seed": record.per_seed,
        "unit_effects": list(record.unit_effects),
        "unit_label": record.unit_label,
        "interventions": list(record.interventions),
        "conditions": list(record.conditions),
        "published": record.published,
        "rationale": record.rationale,
        "regression_tolerance": record.regression_tolerance,
        "selection": list(record.selection),
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


def shared_units(
    claims: list[Mapping[str, Any]],
) -> tuple[dict[str, Any], list[list[dict[str, Any]]]]:
    """Which claims measured the same units: the top-level ``shared_units`` block and, for
    each claim (aligned with ``claims``, which carry ``id`` and ``seeds``), its
    ``shares_units_with`` list.

    A unit is identified by its seed (a level seed is a maze), or by its content hash in a run
    given mazes (``mazes``: edited variants of one level share its seed). Two claims *share
    units* when their seed sets have at least one seed in common; groups are the connected
    components of that relation (claims in report order, groups ordered by their first claim).
    Why this rule: a single common maze already makes two verdicts statistically dependent, so
    any threshold ("half the seeds") would hide real dependence, and components say it in a few
    lines even when twenty claims reuse the base-seed stream. Because components can chain (A
    shares with B, B with C, A not with C), each group also states ``seeds_in_all`` and
    ``min_pairwise_overlap``, and each claim lists every claim it shares seeds with and how many
    (``{"id", "seeds_in_common"}``), so a tight group (the same mazes) is told from a loose
    chain. Sharing is kept on purpose -- paired designs need the same mazes in every arm of a
    claim -- and is harmless for Holm, which is valid under arbitrary dependence; it does mean
    the verdicts are not independent pieces of evidence.
    """
    ids = [str(c["id"]) for c in claims]
    seeds = [_unit_ids(c) for c in claims]
    overlap = {
        (a, b): len(seeds[a] & seeds[b])
        for a in range(len(claims))
        for b in range(len(claims))
        if a != b
    }
    shares = [
        [
            {"id": ids[b], "seeds_in_common": overlap[(a, b)]}
            for b in range(len(claims))
            if a != b and overlap[(a, b)]
        ]
        for a in range(len(claims))
    ]
    groups = []
    for group in _components(len(claims), [pair for pair, k in overlap.items() if k]):
        sets = [seeds[i] for i in group]
        groups.append(
            {
                "claims": [ids[i] for i in group],
                "distinct_seeds": len(set().union(*sets)),
                "seeds_in_all": len(set.intersection(*sets)),
                "min_pairwise_overlap": min(
                    overlap[(a, b)] for a in group for b in group if a != b
                ),
            }
        )
    block = {
        "rule": "claims that share at least one unit seed, grouped transitively "
        "(connected components)",
        "claims_sharing": sum(len(g["claims"]) for g in groups),
        "groups": groups,
        "note": SHARED_UNITS_NOTE,
    }
    return block, shares


def _unit_ids(claim: Mapping[str, Any]) -> set[Any]:
    if claim.get("mazes"):
        return set(claim["mazes"])
    return {int(x) for x in claim.get("seeds") or ()}


def _components(n: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    """Connected components with at least two members (union-find), each sorted, ordered by
    their first member."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in edges:
        parent[root(b)] = root(a)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(root(i), []).append(i)
    return sorted((m for m in members.values() if len(m) > 1), key=lambda m: m[0])


SHARED_UNITS_NOTE = (
    "claims in a group measured some of the same mazes, so their verdicts are not "
    "independent evidence (agreeing verdicts partly restate one sample); Holm's adjustment "
    "stays valid under arbitrary dependence"
)
MULTIPLICITY_NOTE = (
    "verdicts are per claim at its own alpha; p_value_holm controls the family-wise error "
    "of 'supported' and p_value_refute_holm that of 'refuted' over the run (each at most "
    "alpha); errored claim tests and missing p-values count as p = 1. Claims that share "
    "units (shared_units) are not independent evidence; Holm's adjustment stays valid under "
    "arbitrary dependence"
)


def _untested(
    records: list[ClaimRecord], tested: set[str], errors: list[dict[str, Any]]
) -> list[str]:
    """Claim tests of the run without a result, once each: records that have none and error
    entries (by node id; a test can have a setup and a teardown error) whose test has no
    record with a result -- a teardown error after a verdict does not count again."""
    untested: dict[str, str] = {}
    for r in records:
        if r.result is None and r.nodeid not in tested:
            untested.setdefault(r.nodeid, r.id)
    for e in errors:
        nodeid = str(e.get("nodeid") or e.get("id") or "")
        if nodeid not in tested:
            untested.setdefault(nodeid, str(e.get("id") or nodeid))
    return [untested[k] for k in sorted(untested)]


def _missing(p: float | None) -> bool:
    return p is None or math.isnan(float(p))


def _family(
    claims: list[dict[str, Any]], key: str, adjusted: str, decision: str, errored: int
) -> dict[str, Any]:
    return {
        "p_value": key,
        "adjusted": adjusted,
        "decision": decision,
        "family_size": len(claims) + errored,
        "errored": errored,
        "missing_p_value": sum(_missing(c[key]) for c in claims),
        "after_holm": sum(bool(c[decision]) for c in claims),
    }


def build_report(
    records: Iterable[ClaimRecord],
    *,
    options: Mapping[str, Any],
    fallback: Mapping[str, Any] | None = None,
    errors: Iterable[Mapping[str, Any]] = (),
    timing: Mapping[str, Any] | None = None,
    interrupted: bool = False,
    interrupted_by: str | None = None,
    not_run: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The report document; ``baseline`` is added by :func:`harness.report.baseline.compare`.

    ``not_run`` lists the collected tests that never finished (``nodeid``, ``id`` where
    known) of an interrupted or stopped run; they are not members of the Holm families
    (nothing was measured), but every reader of the report is told about them.
    """
    records = list(records)
    ordered = sorted((r for r in records if r.result is not None), key=claim_sort_key)
    error_list = sorted(
        (dict(e) for e in errors), key=lambda e: (e.get("nodeid", ""), e.get("phase", ""))
    )
    errored = _untested(records, {r.nodeid for r in ordered}, error_list)
    results = [r.result or {} for r in ordered]
    # Both families: every claim with a result (a missing p-value is a p = 1 member, its
    # adjusted value stays None) plus every errored claim test (p = 1).
    p_support = [res.get("p_value") for res in results]
    p_refute = [refute_pvalues(res)[0] for res in results]
    missing_support = sum(_missing(p) for p in p_support)
    missing_refute = sum(_missing(p) for p in p_refute)
    adjusted = holm(p_support, untested=len(errored) + missing_support)
    adjusted_refute = holm(p_refute, untested=len(errored) + missing_refute)
    units_block, shares = shared_units(
        [{"id": r.id, "seeds": r.seeds, "mazes": r.mazes} for r in ordered]
    )
    claims = [
        claim_entry(r, p, pr, sh)
        for r, p, pr, sh in zip(ordered, adjusted, adjusted_refute, shares, strict=True)
    ]
    counts = {v: sum(c["verdict"] == v for c in claims) for v in ("supported", "refuted")}
    counts["inconclusive"] = sum(c["verdict"] == "inconclusive" for c in claims)
    families = {
        "supported": _family(
            claims, "p_value", "p_value_holm", "supported_after_holm", len(errored)
        ),
        "refuted": _family(
            claims, "p_value_refute", "p_value_refute_holm", "refuted_after_holm", len(errored)
        ),
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": {"name": "maze-claims", "version": __version__},
        "run": {
            **dict(options),
            **_merged_run(ordered, fallback or {}),
            "interrupted": interrupted,
            "interrupted_by": interrupted_by,
        },
        "summary": {
            "claims": len(claims),
            **counts,
            "errors": len(error_list),
            "supported_after_holm": families["supported"]["after_holm"],
            "refuted_after_holm": families["refuted"]["after_holm"],
        },
        "multiplicity": {
            "method": "holm",
            "family": "every claim test of this run: each claim with a result, and each "
            "claim test that errored without one as a member with p = 1",
            "family_size": len(claims) + len(errored),
            "errored_in_family": len(errored),
            "errored_claims": errored,
            "families": families,
            "note": MULTIPLICITY_NOTE,
        },
        "shared_units": units_block,
        "claims": claims,
        "errors": error_list,
        "not_run": [dict(e) for e in not_run],
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
