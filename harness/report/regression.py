"""Regressions between two reports as tests on the effect, not on the verdict label.

For each claim in both reports the question is: did the effect get *worse* by more than the
claim's declared regression tolerance? "Worse" is the direction away from the claim: lower
for a claim that an effect is large (alternative ``greater``), higher for an upper bound
(``less``: a "does nothing" size, a slope that should fall), further from zero for a
two-sided equivalence, closer to zero for a two-sided difference.

* **Paired** when both records carry per-unit effects aligned with their units and share at
  least :data:`MIN_PAIRED` units (same base seed and maze filter: the usual case for two
  checkpoints). The test is on the per-maze differences ``d = s (now - before)`` (``s`` the
  direction, so ``d < 0`` is worse): one-sample t tests of ``mean d < -tol`` (regression),
  ``mean d > tol`` (improvement) and the two one-sided tests of ``|mean d| < tol``
  (equivalent).
* **Unpaired** otherwise: Welch's t test of the two units' means when both have per-unit
  effects, else a normal test of the two estimates with standard errors read from their
  intervals. Said so in the row (``design``).

Each family (regression, improvement, equivalence) is Holm-adjusted over the claims compared;
a claim is a ``regression`` if its adjusted regression p is below alpha, else an
``improvement``, else ``equivalent``, else ``undecided``. A change of budget shrinks n and
widens intervals, which makes claims ``undecided`` or (paired on the common mazes) leaves
them ``equivalent``; it can never make them ``regression``, which needs evidence of a worse
effect. The verdict-label change is shown beside the status but is not the criterion.

Run facts that make two reports measure different things (budget, profile, layer, alpha, base
seed, maze source, numerics) and per-claim differences of the statistic (form, threshold,
margin, estimate, tolerance) are named in ``mismatches`` and in each row's ``notes``; a claim
whose statistic differs (another estimate or unit quantity) is not compared (``undecided``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.stats.multiplicity import holm

#: Fewest common units for a paired comparison (below it the units are treated as unpaired).
MIN_PAIRED = 5
STATUSES = ("regression", "missing", "undecided", "improvement", "equivalent", "new")
COMPARED = ("regression", "undecided", "improvement", "equivalent")
#: Run facts that must agree for two reports to measure the same thing.
RUN_FACTS = ("budget", "profile", "layer", "alpha", "base_seed", "numerics", "maze_sizes")
#: Per-claim fields whose difference means the statistic itself changed.
CLAIM_FACTS = ("form", "alternative", "threshold", "margin", "estimate_name", "unit_label")
NOT_COMPARABLE = ("form", "estimate_name", "unit_label")


@dataclass(frozen=True)
class Comparison:
    """One claim's effect change, oriented so that negative is worse."""

    design: str  # "paired", "unpaired (units)", "unpaired (intervals)"
    n: int  # units paired, or n now + n before
    change: float  # oriented mean change (now - before)
    ci: tuple[float, float]  # its (1 - 2 alpha) interval (the TOST interval)
    p_regression: float
    p_improvement: float
    p_equivalent: float


def direction(claim: Mapping[str, Any], baseline_claim: Mapping[str, Any]) -> tuple[int, str]:
    """+1 when a larger statistic is better for the claim, -1 when smaller is; and why."""
    alternative = claim.get("alternative") or baseline_claim.get("alternative")
    if alternative == "greater":
        return 1, "larger is better (the claim is a lower bound)"
    if alternative == "less":
        return -1, "smaller is better (the claim is an upper bound)"
    before = _number(baseline_claim.get("estimate")) or 0.0
    if alternative == "equivalence":
        side = -1 if before >= 0 else 1
        return side, "closer to 0 is better (two-sided equivalence), from the baseline's side"
    side = 1 if before >= 0 else -1
    return side, "further from 0 is better (two-sided difference), on the baseline's side"


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _on_test_scale(value: float | None, claim: Mapping[str, Any]) -> float | None:
    """A ratio claim's statistic on the log scale its units and tolerance use."""
    if value is None or claim.get("form") != "ratio":
        return value
    return math.log(value) if value > 0 else None


def units_give_estimate(claim: Mapping[str, Any]) -> bool:
    """Whether the estimate is the mean of the per-unit effects (on the log scale for a
    ratio): only then does a change of the units' mean measure a change of the claim's
    statistic (a trend's units are levels, not slopes; an accuracy's are 0/1 outcomes
    against a base rate)."""
    values = _values(claim)
    estimate = _on_test_scale(_number(claim.get("estimate")), claim)
    if values is None or estimate is None:
        return False
    return math.isclose(float(np.mean(values)), estimate, rel_tol=1e-6, abs_tol=1e-9)


def unit_effects(claim: Mapping[str, Any]) -> dict[Any, float] | None:
    """Per-unit effects keyed by unit (maze hash in runs given mazes, else seed), or None when
    they are absent or not aligned with the units (e.g. a held-out fold's rows)."""
    if not units_give_estimate(claim):
        return None
    effects = claim.get("unit_effects") or []
    units = claim.get("mazes") or claim.get("seeds") or []
    if not effects or len(effects) != len(units):
        return None
    out = {}
    for unit, value in zip(units, effects, strict=True):
        number = _number(value)
        if number is not None:
            out[unit if isinstance(unit, str) else int(unit)] = number
    return out or None


def _values(claim: Mapping[str, Any]) -> np.ndarray | None:
    effects = [_number(v) for v in claim.get("unit_effects") or []]
    values = np.array([v for v in effects if v is not None], dtype=float)
    return values if len(values) >= 2 else None


def _one_sample(d: np.ndarray, tol: float, alpha: float) -> Comparison:
    from scipy import stats

    mean = float(np.mean(d))
    if np.ptp(d) <= 1e-9 * max(1.0, abs(mean)):  # no spread: the change is known exactly
        return Comparison(
            "paired",
            len(d),
            mean,
            (mean, mean),
            0.0 if mean < -tol else 1.0,
            0.0 if mean > tol else 1.0,
            0.0 if -tol < mean < tol else 1.0,
        )
    low = stats.ttest_1samp(d, -tol, alternative="greater")
    high = stats.ttest_1samp(d, tol, alternative="less")
    ci = stats.ttest_1samp(d, 0.0).confidence_interval(1 - 2 * alpha)
    return Comparison(
        "paired",
        len(d),
        mean,
        (float(ci.low), float(ci.high)),
        float(stats.ttest_1samp(d, -tol, alternative="less").pvalue),
        float(stats.ttest_1samp(d, tol, alternative="greater").pvalue),
        float(max(low.pvalue, high.pvalue)),
    )


def _welch(now: np.ndarray, before: np.ndarray, tol: float, alpha: float) -> Comparison:
    """Welch's t tests of the oriented mean change; the shift by the tolerance is applied to
    the data so scipy's test of equal means tests ``change = -tol`` or ``+tol``."""
    from scipy import stats

    change = float(np.mean(now) - np.mean(before))

    def p(shift: float, alternative: str) -> float:
        return float(
            stats.ttest_ind(now - shift, before, equal_var=False, alternative=alternative).pvalue
        )

    ci = stats.ttest_ind(now, before, equal_var=False).confidence_interval(1 - 2 * alpha)
    return Comparison(
        "unpaired (units)",
        len(now) + len(before),
        change,
        (float(ci.low), float(ci.high)),
        p(-tol, "less"),
        p(tol, "greater"),
        max(p(-tol, "greater"), p(tol, "less")),
    )


def _standard_error(claim: Mapping[str, Any]) -> float | None:
    from scipy import stats

    low, high = (_on_test_scale(_number(x), claim) for x in (claim.get("ci") or [None, None]))
    level = _number(claim.get("ci_level"))
    if low is None or high is None or level is None or not 0 < level < 1:
        return None
    return (high - low) / (2 * float(stats.norm.isf((1 - level) / 2)))


def _intervals(
    now: Mapping[str, Any], before: Mapping[str, Any], sign: int, tol: float, alpha: float
) -> Comparison | None:
    from scipy import stats

    a = _on_test_scale(_number(now.get("estimate")), now)
    b = _on_test_scale(_number(before.get("estimate")), before)
    se_a, se_b = _standard_error(now), _standard_error(before)
    if a is None or b is None or se_a is None or se_b is None:
        return None
    change, se = sign * (a - b), math.hypot(se_a, se_b)
    if se == 0:
        return None
    z = float(stats.norm.isf(alpha))
    return Comparison(
        "unpaired (intervals)",
        int(now.get("n") or 0) + int(before.get("n") or 0),
        change,
        (change - z * se, change + z * se),
        float(stats.norm.cdf((change + tol) / se)),
        float(stats.norm.sf((change - tol) / se)),
        float(max(stats.norm.sf((change + tol) / se), stats.norm.cdf((change - tol) / se))),
    )


def compare_claim(
    now: Mapping[str, Any], before: Mapping[str, Any], tol: float, alpha: float
) -> Comparison | None:
    """The oriented effect change of one claim between two reports (None: not computable)."""
    sign, _ = direction(now, before)
    a, b = unit_effects(now), unit_effects(before)
    if a is not None and b is not None:
        common = [u for u in a if u in b]
        if len(common) >= MIN_PAIRED:
            d = sign * (np.array([a[u] for u in common]) - np.array([b[u] for u in common]))
            return _one_sample(d, tol, alpha)
    va, vb = _values(now), _values(before)
    if (
        va is not None
        and vb is not None
        and units_give_estimate(now)
        and units_give_estimate(before)
    ):
        return _welch(sign * va, sign * vb, tol, alpha)
    return _intervals(now, before, sign, tol, alpha)


def tolerance(now: Mapping[str, Any], before: Mapping[str, Any]) -> tuple[float | None, str]:
    """The run's declared tolerance (its profile), else the baseline's."""
    for claim, whose in ((now, "this run's profile"), (before, "the baseline's profile")):
        declared = claim.get("regression_tolerance") or {}
        value = _number(declared.get("value"))
        if value is not None and value > 0:
            return value, f"{whose}: {declared.get('source') or 'declared'}"
    return None, "no regression tolerance declared in either report"


def run_mismatches(run: Mapping[str, Any], base_run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Run facts that differ between the two reports, each named."""
    out = []
    for key in RUN_FACTS:
        if run.get(key) != base_run.get(key):
            out.append({"what": key, "baseline": base_run.get(key), "run": run.get(key)})
    source, base_source = run.get("maze_source") or {}, base_run.get("maze_source") or {}
    if source.get("sha256") != base_source.get("sha256"):
        out.append({"what": "maze_source", "baseline": base_source or None, "run": source or None})
    return out


def _claim_notes(now: Mapping[str, Any], before: Mapping[str, Any]) -> list[str]:
    notes = []
    for key in CLAIM_FACTS:
        if now.get(key) != before.get(key):
            notes.append(f"{key} differs: baseline {before.get(key)!r}, this run {now.get(key)!r}")
    tol_now = (now.get("regression_tolerance") or {}).get("value")
    tol_before = (before.get("regression_tolerance") or {}).get("value")
    if tol_before is not None and tol_now != tol_before:
        notes.append(
            f"regression tolerance differs: baseline {tol_before}, this run {tol_now} "
            "(this run's is used)"
        )
    return notes


def _row(claim: Mapping[str, Any], old: Mapping[str, Any], alpha: float) -> dict[str, Any]:
    notes = _claim_notes(claim, old)
    tol, tol_source = tolerance(claim, old)
    sign, why = direction(claim, old)
    row: dict[str, Any] = {
        "id": claim["id"],
        "status": "undecided",
        "from": old.get("verdict"),
        "to": claim.get("verdict"),
        "verdict_changed": old.get("verdict") != claim.get("verdict"),
        "estimate_before": old.get("estimate"),
        "ci_before": old.get("ci"),
        "estimate_now": claim.get("estimate"),
        "ci_now": claim.get("ci"),
        "tolerance": tol,
        "tolerance_source": tol_source,
        "direction": sign,
        "direction_reason": why,
        "notes": notes,
    }
    if tol is None:
        row["reason"] = tol_source
        return row
    if any(claim.get(k) != old.get(k) for k in NOT_COMPARABLE):
        row["reason"] = "the claim's statistic differs between the reports (see notes)"
        return row
    result = compare_claim(claim, old, tol, alpha)
    if result is None:
        row["reason"] = "neither per-unit effects nor finite intervals in both reports"
        return row
    row.update(
        design=result.design,
        n=result.n,
        change=result.change,
        change_ci=list(result.ci),
        p_regression=result.p_regression,
        p_improvement=result.p_improvement,
        p_equivalent=result.p_equivalent,
    )
    return row


def _classify(rows: list[dict[str, Any]], alpha: float) -> None:
    tested = [r for r in rows if "p_regression" in r]
    for family in ("regression", "improvement", "equivalent"):
        adjusted = holm([r[f"p_{family}"] for r in tested])
        for row, p in zip(tested, adjusted, strict=True):
            row[f"p_{family}_holm"] = p
    for row in tested:
        for family in ("regression", "improvement", "equivalent"):
            if row[f"p_{family}_holm"] is not None and row[f"p_{family}_holm"] < alpha:
                row["status"] = family
                break
        else:
            row["reason"] = _undecided_reason(row)
        if row["status"] == "regression":
            row["reason"] = (
                f"the effect fell by {-row['change']:.3g} (interval {_span(row)}), more than "
                f"the tolerance {row['tolerance']:g} (Holm p = {row['p_regression_holm']:.3g})"
            )


def _span(row: Mapping[str, Any]) -> str:
    low, high = row["change_ci"]
    return f"[{low:.3g}, {high:.3g}]"


def _undecided_reason(row: Mapping[str, Any]) -> str:
    return (
        f"change {row['change']:.3g}, interval {_span(row)}, is neither inside "
        f"+/-{row['tolerance']:g} nor beyond it with confidence (n = {row['n']}, {row['design']})"
    )


def compare_reports(
    report: Mapping[str, Any], baseline: Mapping[str, Any], alpha: float | None = None
) -> dict[str, Any]:
    """The ``baseline`` block of ``report`` (rows most severe first) and, by id, each claim's
    own ``baseline`` entry."""
    run, base_run = report.get("run") or {}, baseline.get("run") or {}
    alpha = float(alpha if alpha is not None else run.get("alpha") or 0.05)
    base = {c["id"]: c for c in baseline.get("claims", [])}
    rows = [_row(c, base[c["id"]], alpha) for c in report.get("claims", []) if c["id"] in base]
    _classify(rows, alpha)
    current = {c["id"] for c in report.get("claims", [])}
    rows += [
        {"id": c["id"], "status": "new", "from": None, "to": c.get("verdict")}
        for c in report.get("claims", [])
        if c["id"] not in base
    ]
    rows += [
        {"id": i, "status": "missing", "from": base[i].get("verdict"), "to": None}
        for i in sorted(set(base) - current)
    ]
    rows.sort(key=lambda r: STATUSES.index(r["status"]))
    return {
        "method": "effect change against a declared tolerance, oriented so negative is worse; "
        "paired on common units where possible; Holm over the claims compared, per family",
        "alpha": alpha,
        "counts": {s: sum(r["status"] == s for r in rows) for s in STATUSES},
        "compared": sum(r["status"] in COMPARED for r in rows),
        "mismatches": run_mismatches(run, base_run),
        "checkpoint_before": base_run.get("checkpoint"),
        "checkpoint_now": run.get("checkpoint"),
        "rows": rows,
    }


def mismatch_lines(mismatches: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per differing run fact (what a reader must know before trusting a row)."""
    return [
        f"{m['what']} differs: baseline {m['baseline']!r}, this run {m['run']!r}"
        for m in mismatches
    ]
