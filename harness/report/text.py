"""Small text helpers shared by the Markdown, HTML and terminal writers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from harness.stats.format import fmt, fmt_interval, fmt_level, fmt_p


def is_replayed(counterexample: Mapping[str, Any]) -> bool:
    """A counterexample replayed from the counterexample database (not found by this run's
    search): its details say ``replayed: true``."""
    return bool((counterexample.get("details") or {}).get("replayed"))


def counterexample_groups(
    claim: Mapping[str, Any],
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """A claim's counterexamples as (found by this run, replayed from the database)."""
    found = claim.get("counterexamples") or []
    return [c for c in found if not is_replayed(c)], [c for c in found if is_replayed(c)]


def baseline_counts_text(baseline: Mapping[str, Any]) -> str:
    """'Baseline PATH: 1 regression, 3 equivalent, ...' (effect tests against the tolerance)."""
    c = baseline["counts"]
    return (
        f"baseline {baseline['path']}: {c['regression']} regressions, {c['equivalent']} "
        f"equivalent, {c['improvement']} improvements, {c['undecided']} undecided, "
        f"{c['missing']} missing, {c['new']} new (effects against each claim's regression "
        "tolerance, Holm over the claims compared)"
    )


def baseline_lines(baseline: Mapping[str, Any]) -> list[str]:
    """The counts, each run fact that differs from the baseline's, and each regression."""
    from harness.report.regression import mismatch_lines

    lines = [baseline_counts_text(baseline)]
    lines += [f"baseline mismatch: {line}" for line in mismatch_lines(baseline["mismatches"])]
    for row in baseline["rows"]:
        if row["status"] == "regression":
            lines.append(f"REGRESSION {row['id']}: {row.get('reason', '')}")
    return lines


def baseline_status_text(claim: Mapping[str, Any]) -> str:
    """A claim's baseline status with the verdict-label change beside it."""
    base = claim.get("baseline") or {}
    status = base.get("status", "")
    if status and base.get("verdict_changed"):
        status = f"{status} ({base['from']} -> {base['to']})"
    return status


def interval_text(claim: Mapping[str, Any]) -> str:
    ci = claim.get("ci") or [None, None]
    level = claim.get("ci_level")
    prefix = f"{fmt_level(level)} " if level is not None else ""
    return prefix + fmt_interval((ci[0], ci[1]))


def requirement_text(claim: Mapping[str, Any]) -> str:
    if claim.get("margin"):
        lo, hi = claim["margin"]
        return f"inside [{fmt(lo)}, {fmt(hi)}]"
    if claim.get("components"):
        return "all parts"
    sign = {"greater": ">", "less": "<", "two-sided": "!="}.get(claim.get("alternative"), "?")
    return f"{sign} {fmt(claim.get('threshold'))}"


def published_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        parts = [str(value[k]) for k in ("value", "text") if value.get(k) is not None]
        if value.get("n") is not None:
            parts.append(f"(n = {value['n']})")
        if value.get("source"):
            parts.append(f"[{value['source']}]")
        return " ".join(parts)
    return str(value)


def summary_row(claim: Mapping[str, Any]) -> list[str]:
    """id, verdict, estimate, interval, claimed, n, p, p (Holm), baseline status."""
    status = baseline_status_text(claim)
    return [
        claim["id"],
        claim["verdict"],
        fmt(claim.get("estimate")),
        interval_text(claim),
        requirement_text(claim),
        str(claim.get("n")),
        fmt_p(claim.get("p_value")),
        fmt_p(claim.get("p_value_holm")),
        status,
    ]


SUMMARY_HEADER = [
    "id",
    "verdict",
    "estimate",
    "interval",
    "claimed",
    "n",
    "p",
    "p (Holm)",
    "baseline",
]


def ordered_claims(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Claims in report order, but with baseline regressions (then shifts) first."""
    order = {"regression": 0, "shifted": 1}
    return sorted(
        report["claims"], key=lambda c: order.get((c.get("baseline") or {}).get("status"), 2)
    )


def claim_items(claim: Mapping[str, Any], seeds_shown: int = 30) -> list[tuple[str, str]]:
    """The facts a claim's section lists, in order (the Markdown and HTML writers render
    them as a list and as a definition list)."""
    df = f", df {fmt(claim.get('df'))}" if claim.get("df") is not None else ""
    items = [
        ("hypothesis", claim["hypothesis"]),
        ("source", claim["source"]),
        (
            "test",
            f"{claim.get('test')} ({claim.get('alternative')}), "
            f"statistic {fmt(claim.get('statistic'))}{df}",
        ),
        (
            "estimate",
            f"{claim.get('estimate_name')} = {fmt(claim.get('estimate'))}, {interval_text(claim)}",
        ),
        ("claimed", requirement_text(claim)),
        *([("why this threshold", claim["rationale"])] if claim.get("rationale") else []),
        ("n", str(claim.get("n"))),
        ("p (raw / Holm)", f"{fmt_p(claim.get('p_value'))} / {fmt_p(claim.get('p_value_holm'))}"),
        (
            "p refute (raw / Holm)",
            f"{fmt_p(claim.get('p_value_refute'))} / {fmt_p(claim.get('p_value_refute_holm'))}",
        ),
    ]
    if claim.get("effect_size"):
        size = claim["effect_size"]
        items.append(("effect size", f"{size['name']} = {fmt(size['value'])}"))
    if claim.get("published") is not None:
        items.append(("published", published_text(claim["published"])))
    if claim.get("interventions"):
        items.append(("interventions", "; ".join(claim["interventions"])))
    items.extend(unit_items(claim, seeds_shown))
    if claim.get("selection"):
        items.append(("selected on", selection_text(claim)))
    if claim.get("shares_units_with"):
        items.append(("shares units with", shares_text(claim)))
    if claim.get("sequential"):
        seq = claim["sequential"]
        items.append(
            ("sequential", f"stopped at look {seq['stopped_at_look']} of {seq['looks_planned']}")
        )
    if claim.get("baseline"):
        items.append(("baseline", json.dumps(claim["baseline"])))
    return items


def unit_items(claim: Mapping[str, Any], shown: int) -> list[tuple[str, str]]:
    """The claim's units: their seeds (from the base seed, or of the given mazes) and, for
    given mazes, their content hashes."""
    seeds, hashes = claim.get("seeds") or [], claim.get("mazes") or []
    items = []
    if seeds:
        where = (
            "given mazes with level seeds" if hashes else f"from base seed {claim.get('base_seed')}"
        )
        more = " ..." if len(seeds) > shown else ""
        items.append(("seeds", f"{len(seeds)} {where}: {', '.join(map(str, seeds[:shown]))}{more}"))
    if hashes:
        more = " ..." if len(hashes) > shown else ""
        items.append(("mazes (sha256)", ", ".join(h[:12] for h in hashes[:shown]) + more))
    return items


def shares_text(claim: Mapping[str, Any]) -> str:
    """'CV2 (30 seeds), CV3 (12 seeds)': the claims this one shares unit seeds with."""
    return ", ".join(
        f"{o['id']} ({o['seeds_in_common']} seed{'s' if o['seeds_in_common'] != 1 else ''})"
        for o in claim.get("shares_units_with") or []
    )


def holm_counts_text(report: Mapping[str, Any]) -> str:
    """'5 supported / 1 refuted after Holm'."""
    s = report["summary"]
    return (
        f"{s.get('supported_after_holm', 0)} supported / {s.get('refuted_after_holm', 0)} "
        "refuted after Holm"
    )


#: Run-header notes a reader must meet before the verdicts: (run key, label).
RUN_NOTES = (
    ("subject_caveat", "about the subject"),
    ("base_seed_note", "mazes"),
    ("profile_note", "profile"),
    ("coverage_note", "coverage"),
    ("checkpoint_layout", "checkpoint file"),
    ("numerics", "numerics"),
    ("device_check", "device check"),
)


def units_source_text(run: Mapping[str, Any]) -> str:
    """Where the claims' units came from: 'base seed 2000000', or the given mazes."""
    given = run.get("maze_source")
    if isinstance(given, Mapping):
        return f"{given.get('count')} given mazes from {given.get('source')}"
    return f"base seed {run.get('base_seed')}"


def incomplete_text(report: Mapping[str, Any]) -> str | None:
    """One line saying the run did not finish, by what, and which claim tests never ran
    (None for a complete run): a partial report must not read as a whole one."""
    run = report.get("run") or {}
    not_run = report.get("not_run") or []
    if not (run.get("interrupted") or not_run):
        return None
    cause = run.get("interrupted_by") or ("interrupted" if run.get("interrupted") else "stopped")
    head = f"INCOMPLETE RUN ({cause}): this report covers only the claim tests that finished"
    if not not_run:
        return head
    names = [str(e.get("id") or e.get("nodeid")) for e in not_run]
    shown = ", ".join(names[:20]) + (f", ... ({len(names) - 20} more)" if len(names) > 20 else "")
    return f"{head}; {len(names)} never ran: {shown}"


def inexact_numerics_text(report: Mapping[str, Any]) -> str | None:
    """One line when the run allowed TF32 or nondeterministic kernels (``--numerics fast``):
    its numbers are not those of a strict run, and planted ground truth is not exact."""
    numerics = (report.get("run") or {}).get("numerics")
    if not isinstance(numerics, Mapping) or numerics.get("exact", True):
        return None
    return f"FAST NUMERICS ({numerics.get('description', 'not exact')})"


def run_warnings(report: Mapping[str, Any]) -> list[str]:
    """Lines a reader must see before any verdict: an incomplete run, inexact numerics."""
    return [w for w in (incomplete_text(report), inexact_numerics_text(report)) if w]


def _note_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("description", value))
    return "; ".join(map(_note_text, value)) if isinstance(value, list) else str(value)


def run_notes(run: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The run header's notes (caveat about the checkpoint, what the seeds are), in order."""
    return [(label, _note_text(run[key])) for key, label in RUN_NOTES if run.get(key)]


def selection_text(claim: Mapping[str, Any]) -> str:
    """Where the facts a claim tests were selected, and that its own mazes lie elsewhere."""
    return "; ".join(
        f"{s['fact']} on seeds {s['first']}..{s['last']} ({s['what']}), disjoint from these"
        for s in claim.get("selection") or []
    )


def multiplicity_text(report: Mapping[str, Any]) -> str:
    """The multiplicity line: both Holm counts, the family and its errored members."""
    m = report.get("multiplicity") or {}
    errored = m.get("errored_in_family", 0)
    missing = {
        name: family.get("missing_p_value", 0) for name, family in (m.get("families") or {}).items()
    }
    extra = [f"{errored} errored claim test{'s' if errored != 1 else ''} counted as p = 1"]
    extra += [f"{k} without a {name} p-value (p = 1)" for name, k in missing.items() if k]
    return (
        f"{holm_counts_text(report)} (Holm over {m.get('family_size', 0)} claim tests in each "
        f"direction; {'; '.join(extra)})"
    )


def shared_units_lines(report: Mapping[str, Any]) -> list[str]:
    """One line per group of claims that share unit seeds, then the note; one line if none."""
    block = report.get("shared_units") or {}
    groups = block.get("groups") or []
    if not groups:
        return ["No two claims share a unit seed: their verdicts rest on different mazes."]
    lines = []
    for g in groups:
        least = g["min_pairwise_overlap"]
        pairs = (
            f"every pair shares at least {least}"
            if least
            else "some pairs share none (joined through other claims)"
        )
        lines.append(
            f"{', '.join(g['claims'])}: {len(g['claims'])} claims on {g['distinct_seeds']} "
            f"distinct seeds, {g['seeds_in_all']} in all of them; {pairs}"
        )
    if block.get("note"):
        lines.append(f"Note: {block['note']}.")
    return lines
