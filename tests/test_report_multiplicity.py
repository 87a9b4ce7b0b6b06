"""Holm in both directions, errored claims in the family, and which claims share units."""

from __future__ import annotations

import json

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from harness.report.build import build_report, refute_pvalues, shared_units
from harness.report.html import render_html
from harness.report.markdown import render_markdown
from harness.report.record import ClaimRecord
from harness.report.schema import SCHEMA_VERSION, ReportSchemaError, validate_report
from harness.report.terminal import summary_lines
from harness.stats import Measurement, PairedDifference, SamplingPlan, paired_difference
from harness.stats.sequential import GroupSequentialDesign

ALPHA = 0.05


def synthetic(
    claim_id: str,
    p: float | None,
    p_refute: float | None,
    seeds: list[int] | range = range(10),
) -> ClaimRecord:
    """A record with a hand-made result: exactly these two p-values, verdict at ALPHA."""
    verdict = (
        "supported"
        if p is not None and p < ALPHA
        else "refuted"
        if p_refute is not None and p_refute < ALPHA
        else "inconclusive"
    )
    rec = ClaimRecord(claim_id, claim_id, f"claims/t.py::{claim_id}", "t", "s", "h")
    rec.result = {
        "p_value": p,
        "p_value_refute": p_refute,
        "alpha": ALPHA,
        "verdict": verdict,
        "estimate": 0.0,
        "ci": [-1.0, 1.0],
        "n": len(seeds),
    }
    rec.seeds = list(seeds)
    return rec


def error(claim_id: str, phase: str) -> dict:
    return {
        "nodeid": f"claims/t.py::{claim_id}",
        "id": claim_id,
        "claim_id": claim_id,
        "phase": phase,
        "outcome": "failed",
        "message": "policy failed to load",
    }


def build(records, errors=()):
    return build_report(records, options={"alpha": ALPHA, "budget": "default"}, errors=errors)


def holm_with_ones(pvalues: list[float], ones: int) -> list[float]:
    """statsmodels' Holm on the p-values plus ``ones`` members with p = 1 (those dropped)."""
    return multipletests([*pvalues, *[1.0] * ones], method="holm")[1][: len(pvalues)].tolist()


# p (support, refute): CV1/CV2 supported, CV3/CV4 refuted, CV5 inconclusive.
PVALUES = {
    "CV1": (0.001, 0.999),
    "CV2": (0.012, 0.988),
    "CV3": (0.98, 0.02),
    "CV4": (0.9995, 0.0005),
    "CV5": (0.4, 0.6),
}
# CV8: setup and teardown errors (one test); CV9: a call error; CV1: a teardown error
# after its verdict (already a member, must not count again).
ERRORS = [
    error("CV8", "setup"),
    error("CV8", "teardown"),
    error("CV9", "call"),
    error("CV1", "teardown"),
]


def records_of() -> list[ClaimRecord]:
    """One record per claim; claim i uses seeds i..i+9, so all five share units."""
    return [synthetic(k, p, pr, range(i, i + 10)) for i, (k, (p, pr)) in enumerate(PVALUES.items())]


@pytest.fixture(scope="module")
def report() -> dict:
    """The five claims and the four error entries (statsmodels' Holm calls gc.collect(),
    so the report is built once for the tests that only read it)."""
    return build(records_of(), ERRORS)


def test_holm_in_both_directions_matches_statsmodels_with_errors_as_p_one(report):
    validate_report(report)
    json.dumps(report, allow_nan=False)
    claims = report["claims"]
    assert [c["id"] for c in claims] == list(PVALUES)
    support = [PVALUES[c["id"]][0] for c in claims]
    refute = [PVALUES[c["id"]][1] for c in claims]
    assert [c["p_value"] for c in claims] == support
    assert [c["p_value_refute"] for c in claims] == refute
    assert [c["p_value_holm"] for c in claims] == pytest.approx(holm_with_ones(support, 2))
    assert [c["p_value_refute_holm"] for c in claims] == pytest.approx(holm_with_ones(refute, 2))
    for c in claims:
        assert c["supported_after_holm"] is (c["p_value_holm"] < ALPHA)
        assert c["refuted_after_holm"] is (c["p_value_refute_holm"] < ALPHA)
        assert c["p_value_refute_nominal"] is None  # not sequential
    # 7 members: CV1 0.001*7 = 0.007 survives, CV2 0.012*6 = 0.072 does not; CV4 survives
    # refutation (0.0035), CV3 (0.02*6 = 0.12) does not.
    after = {c["id"]: (c["supported_after_holm"], c["refuted_after_holm"]) for c in claims}
    assert after["CV1"] == (True, False) and after["CV2"] == (False, False)
    assert after["CV4"] == (False, True) and after["CV3"] == (False, False)
    assert report["summary"]["supported_after_holm"] == 1
    assert report["summary"]["refuted_after_holm"] == 1
    assert report["summary"]["errors"] == 4  # entries are still all listed
    m = report["multiplicity"]
    assert m["family_size"] == 7 and m["errored_in_family"] == 2
    assert m["errored_claims"] == ["CV8", "CV9"]
    for name, key in (("supported", "p_value"), ("refuted", "p_value_refute")):
        family = m["families"][name]
        assert family["p_value"] == key and family["family_size"] == 7
        assert family["errored"] == 2 and family["missing_p_value"] == 0
        assert family["after_holm"] == 1
    assert "not independent evidence" in m["note"] and "arbitrary dependence" in m["note"]


def test_errored_claims_enlarge_the_family(report):
    alone, with_errors = build(records_of()), report
    assert alone["multiplicity"]["family_size"] == 5
    assert alone["multiplicity"]["errored_in_family"] == 0
    for key in ("p_value_holm", "p_value_refute_holm"):
        before = [c[key] for c in alone["claims"]]
        after = [c[key] for c in with_errors["claims"]]
        assert all(a >= b for a, b in zip(after, before, strict=True))
        assert any(a > b for a, b in zip(after, before, strict=True))
    # CV2 survives Holm only without the two errored members: 0.012 x 4 = 0.048 < 0.05 among
    # 5 members, 0.012 x 6 = 0.072 among 7.
    cv2 = {r["id"]: r for r in alone["claims"]}["CV2"]
    assert cv2["supported_after_holm"] is True
    assert {r["id"]: r for r in with_errors["claims"]}["CV2"]["supported_after_holm"] is False
    assert alone["summary"]["supported_after_holm"] == 2
    assert with_errors["summary"]["supported_after_holm"] == 1


def test_a_record_without_result_is_an_errored_member_once():
    records = records_of()
    unfinished = ClaimRecord("CV9", "CV9", "claims/t.py::CV9", "t", "s", "h")  # no result
    report = build([*records, unfinished], [error("CV9", "call")])
    assert [c["id"] for c in report["claims"]] == list(PVALUES)
    assert report["multiplicity"]["errored_in_family"] == 1
    assert report["multiplicity"]["family_size"] == 6


def test_missing_p_values_are_p_one_members_and_stay_null():
    d = np.random.default_rng(3).normal(0.5, 0.2, 20)
    two_sided = ClaimRecord("CV6", "CV6", "claims/t.py::CV6", "t", "s", "h")
    two_sided.result = paired_difference(d, alternative="two-sided").to_dict()
    assert two_sided.result["p_value_refute"] is None  # no margin: can never be refuted
    records = [*records_of(), two_sided]
    report = build(records)
    validate_report(report)
    claims = {c["id"]: c for c in report["claims"]}
    assert claims["CV6"]["p_value_refute_holm"] is None
    assert claims["CV6"]["refuted_after_holm"] is None
    assert claims["CV6"]["supported_after_holm"] is True
    refuted = report["multiplicity"]["families"]["refuted"]
    assert refuted["family_size"] == 6 and refuted["missing_p_value"] == 1
    ids = [c for c in claims if c != "CV6"]
    expected = holm_with_ones([PVALUES[i][1] for i in ids], 1)
    assert [claims[i]["p_value_refute_holm"] for i in ids] == pytest.approx(expected)
    supported = report["multiplicity"]["families"]["supported"]
    assert supported["missing_p_value"] == 0 and supported["after_holm"] == 3


def test_sequential_refute_pvalue_is_stagewise():
    """A sequential run refuted at a later look: p_value_refute is the stage-wise ordering
    p-value of the same design (p_value_refute_nominal keeps the look's own)."""

    def metric(units):
        return np.array([np.random.default_rng(u).normal(-0.05, 0.2) for u in units])

    plan = SamplingPlan(n=100, sequential=True, progress=False)
    result = Measurement(lambda b: iter(range(b, b + 10_000)), metric, plan).test(
        PairedDifference()
    )
    data = result.to_dict()
    look = data["sequential"]["stopped_at_look"]
    assert data["verdict"] == "refuted" and look > 1
    p_refute, nominal = refute_pvalues(data)
    design = GroupSequentialDesign.for_sizes(0.05, tuple(data["sequential"]["look_sizes"]))
    assert nominal == data["p_value_refute"]
    assert p_refute == pytest.approx(design.stagewise_pvalue(look - 1, nominal))
    assert nominal < p_refute < 0.05  # earlier looks cost something; still refuted
    rec = ClaimRecord("CV1", "CV1", "claims/t.py::CV1", "t", "s", "h", result=data)
    claim = build([rec])["claims"][0]
    assert claim["p_value_refute"] == p_refute and claim["p_value_refute_nominal"] == nominal
    # a result that already carries a stage-wise refute p-value is taken as it is
    assert refute_pvalues({**data, "p_value_refute_nominal": 0.5}) == (data["p_value_refute"], 0.5)


def test_shared_unit_groups_on_crafted_seeds():
    seeds = {
        "CV1": range(0, 10),
        "CV2": range(5, 15),  # 5 with CV1
        "CV3": range(14, 20),  # 1 with CV2, none with CV1: a chain
        "CV4": range(100, 110),
        "CV5": range(100, 105),  # inside CV4
        "CV6": [200, 201],  # alone
    }
    records = [synthetic(k, 0.5, 0.5, s) for k, s in seeds.items()]
    report = build(records)
    validate_report(report)
    block = report["shared_units"]
    assert block["groups"] == [
        {
            "claims": ["CV1", "CV2", "CV3"],
            "distinct_seeds": 20,
            "seeds_in_all": 0,
            "min_pairwise_overlap": 0,
        },
        {
            "claims": ["CV4", "CV5"],
            "distinct_seeds": 10,
            "seeds_in_all": 5,
            "min_pairwise_overlap": 5,
        },
    ]
    assert block["claims_sharing"] == 5
    assert "not independent evidence" in block["note"] and "arbitrary dependence" in block["note"]
    shares = {c["id"]: c["shares_units_with"] for c in report["claims"]}
    assert shares["CV2"] == [
        {"id": "CV1", "seeds_in_common": 5},
        {"id": "CV3", "seeds_in_common": 1},
    ]
    assert shares["CV1"] == [{"id": "CV2", "seeds_in_common": 5}]
    assert shares["CV5"] == [{"id": "CV4", "seeds_in_common": 5}]
    assert shares["CV6"] == []


def test_shared_units_of_identical_seed_sets():
    block, shares = shared_units([{"id": f"C{i}", "seeds": list(range(30))} for i in range(4)])
    (group,) = block["groups"]
    assert group == {
        "claims": ["C0", "C1", "C2", "C3"],
        "distinct_seeds": 30,
        "seeds_in_all": 30,
        "min_pairwise_overlap": 30,
    }
    assert [len(s) for s in shares] == [3, 3, 3, 3]
    assert shared_units([{"id": "A", "seeds": [1]}, {"id": "B", "seeds": []}])[0]["groups"] == []


def test_schema_of_the_new_fields(report):
    assert report["schema_version"] == SCHEMA_VERSION == "3.1"
    validate_report(report)
    broken = json.loads(json.dumps(report))
    del broken["claims"][0]["p_value_refute_holm"]
    broken["claims"][1]["refuted_after_holm"] = "yes"
    del broken["multiplicity"]["families"]["refuted"]
    del broken["shared_units"]
    with pytest.raises(ReportSchemaError) as info:
        validate_report(broken)
    text = str(info.value)
    assert "missing 'p_value_refute_holm'" in text and "'refuted_after_holm' has type str" in text
    assert "multiplicity.families: missing 'refuted'" in text
    assert "missing top-level key 'shared_units'" in text
    # a 2.1 report (a baseline from before) lacks the new fields and stays readable
    old = json.loads(json.dumps(report))
    old["schema_version"] = "2.1"
    for claim in old["claims"]:
        for key in ("p_value_refute", "p_value_refute_holm", "refuted_after_holm"):
            del claim[key]
    del old["shared_units"], old["multiplicity"], old["summary"]["refuted_after_holm"]
    validate_report(old)


def test_markdown_html_and_terminal_state_both_directions_and_shared_units(report):
    md = render_markdown(report, None)
    line = "- multiplicity: 1 supported / 1 refuted after Holm (Holm over 7 claim tests"
    assert line in md and "2 errored claim tests counted as p = 1" in md
    assert "## Shared units" in md
    assert "- CV1, CV2, CV3, CV4, CV5: 5 claims on 14 distinct seeds, 6 in all of them" in md
    assert "not independent evidence" in md
    assert "- p refute (raw / Holm): 0.999 / 1.000" in md
    assert "- shares units with: CV2 (9 seeds), CV3 (8 seeds), CV4 (7 seeds), CV5 (6 seeds)" in md
    html = render_html(report, None, {}, {})
    assert "<dt>multiplicity</dt><dd>1 supported / 1 refuted after Holm" in html
    assert '<section id="shared-units"><h2>Shared units</h2>' in html
    assert "<li>CV1, CV2, CV3, CV4, CV5: 5 claims on 14 distinct seeds" in html
    assert "<dt>p refute (raw / Holm)</dt>" in html and "<dt>shares units with</dt>" in html
    lines = summary_lines(report, None)
    assert "1 supported / 1 refuted after Holm (alpha 0.05; family of 7 incl. 2 errored" in lines[0]
    assert any(ln.startswith("shared units: 5 claims in 1 group") for ln in lines)
    alone = build([synthetic("CV1", 0.5, 0.5, [1]), synthetic("CV2", 0.5, 0.5, [2])])
    assert "No two claims share a unit seed" in render_markdown(alone, None)
    assert not any(ln.startswith("shared units") for ln in summary_lines(alone, None))
