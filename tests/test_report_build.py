"""Building the report document: order, Holm, schema, baseline statuses, writers, atomicity."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from harness.claim.handle import record_conditions, record_result
from harness.experiments.conditions import Condition
from harness.interventions import AddVector
from harness.report.atomic import atomic_write_text, new_report_dir, update_latest
from harness.report.baseline import BaselineError, compare, load_baseline
from harness.report.build import build_report, strip_timings
from harness.report.figures import distribution_plot, forest_plot
from harness.report.record import ClaimRecord
from harness.report.schema import ReportSchemaError, validate_report
from harness.report.writer import write_report
from harness.stats import (
    Measurement,
    PairedDifference,
    SamplingPlan,
    equivalence,
    paired_difference,
)
from harness.stats.multiplicity import holm

L = "embedder.block2.res1.resadd_out"


def record(claim_id: str, mean: float, *, threshold: float = 0.0, n: int = 30) -> ClaimRecord:
    d = np.random.default_rng([len(claim_id), int(abs(mean) * 100)]).normal(mean, 0.2, n)
    rec = ClaimRecord(claim_id, claim_id, f"t.py::{claim_id}", "title", "src", "hyp")
    record_result(rec, paired_difference(d, threshold=threshold), seeds=list(range(n)))
    rec.wall_time_s = 0.5
    rec.run = {"checkpoint": "c", "checkpoint_sha256": "ab" * 32, "profile": "p", "device": "cpu"}
    return rec


def build(records, **kw):
    return build_report(records, options={"alpha": 0.05, "budget": "default"}, **kw)


def test_claims_are_sorted_naturally_and_holm_adjusted():
    recs = [record("CV10", 0.3), record("CV2", 0.3), record("BH1", 0.0), record("CV2b", 0.2)]
    report = build(recs)
    assert [c["id"] for c in report["claims"]] == ["BH1", "CV2", "CV2b", "CV10"]
    raw = [c["p_value"] for c in report["claims"]]
    assert [c["p_value_holm"] for c in report["claims"]] == pytest.approx(holm(raw))
    bh1 = report["claims"][0]
    assert bh1["supported_after_holm"] is False and bh1["verdict"] != "supported"
    assert report["summary"]["claims"] == 4
    validate_report(report)
    json.dumps(report, allow_nan=False)


def test_report_is_independent_of_record_order():
    recs = [record("CV1", 0.3), record("CV2", 0.1), record("RS1", 0.05)]
    a = build(recs, timing={"created": "x"})
    b = build(list(reversed(recs)), timing={"created": "y"})
    assert a != b and strip_timings(a) == strip_timings(b)


def test_contract_fields_of_a_claim():
    claim = build([record("CV1", 0.3)])["claims"][0]
    for key in ("id", "verdict", "estimate", "ci", "n", "p_value", "p_value_holm", "seeds"):
        assert key in claim
    assert claim["checkpoint_sha256"] == "ab" * 32 and claim["effect_size"]["name"] == "cohen_dz"
    assert len(claim["unit_effects"]) == claim["n"] == len(claim["seeds"])


def test_schema_check_names_problems():
    report = build([record("CV1", 0.3)])
    broken = json.loads(json.dumps(report))
    del broken["claims"][0]["seeds"]
    broken["claims"][0]["verdict"] = "maybe"
    with pytest.raises(ReportSchemaError, match=r"missing 'seeds'.*verdict 'maybe'"):
        validate_report(broken)
    with pytest.raises(ReportSchemaError, match="readable major versions"):
        validate_report({**report, "schema_version": "4.0"})
    validate_report({**report, "schema_version": "1.0"})  # 1.x has the same contract fields


def _tolerant(rec: ClaimRecord, tol: float | None = 0.05) -> ClaimRecord:
    rec.regression_tolerance = None if tol is None else {"value": tol, "source": "test"}
    return rec


def test_baseline_statuses_are_effect_tests_with_regressions_first():
    old = build(
        [_tolerant(record(i, m)) for i, m in (("CV1", 0.3), ("CV2", 0.3), ("CV3", 0.0))]
        + [_tolerant(record("CV9", 0.3)), _tolerant(record("CV5", 0.3))]
    )
    new = build(
        [_tolerant(record(i, m)) for i, m in (("CV1", 0.3), ("CV2", -0.3), ("CV3", 0.3))]
        + [_tolerant(record("CV4", 0.3)), _tolerant(record("CV5", 0.3), None)]
    )
    old["claims"][0]["ci"] = [5.0, 6.0]  # a moved interval is not the criterion: the units are
    compare(new, old, "old.json")
    statuses = {c["id"]: c["baseline"]["status"] for c in new["claims"]}
    assert statuses == {
        "CV1": "equivalent",
        "CV2": "regression",
        "CV3": "improvement",
        "CV4": "new",
        "CV5": "equivalent",  # no tolerance in this run: the baseline's is used
    }
    rows = new["baseline"]["rows"]
    assert [r["status"] for r in rows] == [
        "regression",
        "missing",
        "improvement",
        "equivalent",
        "equivalent",
        "new",
    ]
    assert rows[1]["id"] == "CV9" and rows[0]["design"] == "paired"
    assert rows[0]["change"] == pytest.approx(-0.6) and rows[0]["p_regression_holm"] < 0.05
    assert new["claims"][1]["baseline"]["verdict_changed"] is True
    assert new["baseline"]["counts"]["regression"] == 1 and new["baseline"]["mismatches"] == []
    assert "baseline's profile" in new["claims"][4]["baseline"]["tolerance_source"]


def test_a_smaller_sample_of_the_same_mazes_is_not_a_regression():
    """A budget change: n falls from 30 to 10 on the first mazes of the same stream. The
    interval widens (the label may change), but the paired change is 0: equivalent."""
    old = build([_tolerant(record("CV1", 0.25, threshold=0.2, n=30))])
    old["run"]["budget"] = "default"
    new = build([_tolerant(record("CV1", 0.25, threshold=0.2, n=10))])
    new["run"]["budget"] = "quick"
    compare(new, old, "old.json")
    row = new["baseline"]["rows"][0]
    assert row["status"] == "equivalent" and row["n"] == 10 and row["change"] == 0
    expected = {"what": "budget", "baseline": "default", "run": "quick"}
    assert expected in new["baseline"]["mismatches"]


def test_unpaired_units_and_undecided_without_a_tolerance():
    far = _tolerant(record("CV1", -0.3))
    far.seeds = [s + 1000 for s in far.seeds]  # other mazes: no pairs
    old = build([_tolerant(record("CV1", 0.3)), _tolerant(record("CV2", 0.3), None)])
    new = build([far, _tolerant(record("CV2", 0.3), None)])
    compare(new, old, "old.json")
    rows = {r["id"]: r for r in new["baseline"]["rows"]}
    assert rows["CV1"]["status"] == "regression" and rows["CV1"]["design"] == "unpaired (units)"
    assert rows["CV2"]["status"] == "undecided"
    assert "no regression tolerance" in rows["CV2"]["reason"]


def test_direction_follows_the_claim():
    """An upper-bound claim ('does nothing': smaller is better) regresses when it grows."""

    def eq(mean: float) -> ClaimRecord:
        rec = ClaimRecord("CV2", "CV2", "t::2", "t", "s", "h")
        d = np.abs(np.random.default_rng(3).normal(mean, 0.01, 30))
        record_result(rec, equivalence(d, margin=0.05), seeds=list(range(30)))
        rec.run = {"checkpoint": "c", "profile": "p", "device": "cpu"}
        return _tolerant(rec, 0.02)

    old, new = build([eq(0.01)]), build([eq(0.2)])
    compare(new, old, "old.json")
    row = new["baseline"]["rows"][0]
    assert row["direction"] == -1 and row["status"] == "regression", row


def test_bad_baselines_are_named(tmp_path):
    with pytest.raises(BaselineError, match="cannot read"):
        load_baseline(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(BaselineError, match="not valid JSON"):
        load_baseline(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text(json.dumps({"schema_version": "1.0", "claims": []}))
    with pytest.raises(BaselineError, match="missing top-level key 'run'"):
        load_baseline(tmp_path / "old.json")


def test_figures_are_pngs():
    report = build([record("CV1", 0.3), record("CV2", 0.0)])
    eq = ClaimRecord("CV3", "CV3", "t::3", "t", "s", "h")
    record_result(eq, equivalence(np.random.default_rng(1).normal(0, 0.01, 20), margin=0.05))
    report = build([record("CV1", 0.3), eq])
    assert forest_plot(report["claims"]).startswith(b"\x89PNG")
    assert distribution_plot(report["claims"][1]).startswith(b"\x89PNG")
    assert forest_plot([]) is None


def test_write_report_files(tmp_path):
    rec = record("CV1", 0.3)
    rec.add_figure("field", b"\x89PNG\r\n\x1a\nfake", "caption")
    rec.rationale = "'ignore cheese': at most half the unpatched P(cheese)"
    report = build([rec])
    paths = write_report(report, [rec], tmp_path)
    assert set(paths) >= {"json", "markdown", "html", "forest"}
    assert json.loads(paths["json"].read_text()) == report
    assert report["claims"][0]["rationale"] == rec.rationale
    md = paths["markdown"].read_text()
    assert "| CV1 | supported |" in md and "figures/CV1--field.png" in md
    assert "why this threshold" in md and "at most half the unpatched" in md
    assert "at most half the unpatched" in paths["html"].read_text()
    assert (tmp_path / "figures" / "CV1--field.png").read_bytes().endswith(b"fake")
    with pytest.raises(ValueError, match="PNG"):
        rec.add_figure("other", b"GIF89a")
    with pytest.raises(ValueError, match="already has a figure"):
        rec.add_figure("field", b"\x89PNG\r\n\x1a\n")


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    atomic_write_text(target, "old")

    def crash(*_paths):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_report_dirs_and_latest_link(tmp_path):
    first, second = new_report_dir(tmp_path), new_report_dir(tmp_path)
    assert first != second and first.parent == tmp_path
    (first / "report.json").write_text("1")
    (second / "report.json").write_text("2")
    update_latest(tmp_path, first)
    update_latest(tmp_path, second)
    latest = tmp_path / "latest"
    assert latest.is_symlink() and (latest / "report.json").read_text() == "2"


def test_latest_falls_back_to_a_copy(tmp_path, monkeypatch):
    target = new_report_dir(tmp_path)
    (target / "report.json").write_text("copied")

    def no_symlinks(*_args, **_kwargs):
        raise OSError("symlinks not permitted")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    update_latest(tmp_path, target)
    latest = tmp_path / "latest"
    assert not latest.is_symlink() and (latest / "report.json").read_text() == "copied"
    update_latest(tmp_path, target)  # replacing an existing copy works too
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, "latest"])


def test_record_round_trip():
    rec = record("CV1", 0.3)
    rec.add_note("n")
    rec.add_figure("f", b"\x89PNG\r\n\x1a\nx")
    patched = Condition("patched", (), (AddVector(L, torch.ones(32, 16, 16), 1.0, "v"),))
    record_conditions(rec, {"patched": patched})
    record_conditions(rec, {"patched": patched})  # each condition is recorded once
    again = ClaimRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert again == rec and again.interventions == [f"add 1 x v @ {L}"]
    (condition,) = again.conditions
    assert condition["name"] == "patched"
    assert condition["interventions"][0]["kind"] == "add_vector"
    assert condition["interventions"][0]["vector"]["shape"] == [32, 16, 16]


def test_large_metric_columns_are_summarized_not_copied():
    def metric(units):
        return {"field": np.zeros((len(units), 25, 25)), "drop": np.arange(len(units)) + 1.0}

    m = Measurement(lambda _b: iter(range(100)), metric, SamplingPlan(n=10, progress=False))
    rec = ClaimRecord("CV1", "CV1", "t::1", "t", "s", "h")
    record_result(rec, m.test(PairedDifference("drop")))
    assert rec.per_seed["field"] == {"omitted": "625 values per unit", "shape": [10, 25, 25]}
    assert rec.per_seed["drop"] == [float(i) for i in range(1, 11)]
    assert rec.seeds == list(range(10))
