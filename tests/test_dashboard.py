"""The cross-checkpoint dashboard: matrix shape, ordering by training progress, regression
markers, names, bad input, the command line, and the page in a real browser."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.claim.handle import record_result
from harness.report.build import build_report
from harness.report.dashboard import (
    ORDER_GIVEN,
    ORDER_PROGRESS,
    DashboardError,
    build_dashboard,
    checkpoint_name,
    load_report_dir,
    render_dashboard_html,
    unique_names,
    write_dashboard,
)
from harness.report.record import ClaimRecord
from harness.report.writer import dumps
from harness.stats import paired_difference

ROOT = Path(__file__).resolve().parent.parent
N = 30
SEEDS = list(range(1000, 1000 + N))


def record(claim_id: str, mean: float, checkpoint: str) -> ClaimRecord:
    """A paired-difference claim on the same seeds (and noise) at every checkpoint."""
    d = np.random.default_rng(7).normal(0.0, 0.05, N) + mean
    rec = ClaimRecord(claim_id, claim_id, f"t.py::{claim_id}", f"title <{claim_id}>", "s", "h")
    record_result(rec, paired_difference(d, threshold=0.1), seeds=SEEDS)
    rec.run = {"checkpoint": checkpoint, "checkpoint_sha256": "ab" * 32, "profile": "p"}
    # the effect comparison needs a declared tolerance (a profile states it in real runs)
    rec.regression_tolerance = {"value": 0.05, "source": "test"}
    return rec


def report(checkpoint: str, means: dict[str, float], **run) -> dict:
    recs = [record(cid, m, checkpoint) for cid, m in means.items()]
    return build_report(recs, options={"alpha": 0.05, "budget": "quick", **run})


def write(directory: Path, rep: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(dumps(rep))
    return directory


def fake_checkpoint(tmp_path: Path, stem: str, samples: int | None) -> str:
    path = tmp_path / "run" / f"{stem}.pth"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a real checkpoint")
    if samples is not None:
        sidecar = Path(str(path) + ".json")
        sidecar.write_text(
            json.dumps(
                {
                    "format": "maze-claims/training-progress",
                    "samples_seen": samples,
                    "total_samples": 1000,
                }
            )
        )
    return f"{path} ({path})"


def test_one_cell_per_claim_and_checkpoint_with_absent_cells():
    a = report("default (x.pth)", {"CV1": 0.5, "CV10": 0.5, "CV2": 0.5})
    b = report("planted:cheese-seeker (planted:cheese-seeker)", {"CV1": 0.5, "BH1": 0.5})
    doc = build_dashboard([("a", a), ("b", b)])
    assert doc["format"] == "maze-claims/dashboard" and doc["version"] == 1
    assert [c["name"] for c in doc["checkpoints"]] == ["default", "planted-cheese-seeker"]
    assert [c["id"] for c in doc["claims"]] == ["BH1", "CV1", "CV2", "CV10"]
    for claim in doc["claims"]:
        assert [c["checkpoint"] for c in claim["cells"]] == ["default", "planted-cheese-seeker"]
    cells = {c["id"]: c["cells"] for c in doc["claims"]}
    assert cells["BH1"][0]["verdict"] is None and cells["BH1"][1]["verdict"] == "supported"
    assert cells["CV2"][1]["verdict"] is None and cells["CV2"][0]["n"] == N
    assert all(c["cells"][0]["vs_previous"] is None for c in doc["claims"])
    assert doc["order"] == ORDER_GIVEN
    html = render_dashboard_html(doc, {})
    assert len(re.findall(r'<td class="cell ', html)) == 4 * 2
    assert len(re.findall(r'<td class="cell absent"', html)) == 3  # BH1 in a; CV2, CV10 in b
    assert "title &lt;CV1&gt;" in html and "<CV1>" not in html
    json.dumps(doc, allow_nan=False)


def test_checkpoints_are_ordered_by_training_progress_from_sidecars(tmp_path):
    late = report(fake_checkpoint(tmp_path, "policy-000300", 300), {"CV1": 0.5})
    early = report(fake_checkpoint(tmp_path, "policy-000100", 100), {"CV1": 0.5})
    doc = build_dashboard([("late", late), ("early", early)])
    assert doc["order"] == ORDER_PROGRESS
    assert [c["name"] for c in doc["checkpoints"]] == ["policy-000100", "policy-000300"]
    assert [c["samples_seen"] for c in doc["checkpoints"]] == [100, 300]
    assert [c["report"] for c in doc["checkpoints"]] == ["early", "late"]


def test_order_as_given_unless_every_checkpoint_states_progress(tmp_path):
    late = report(fake_checkpoint(tmp_path, "b", 300), {"CV1": 0.5})
    unknown = report(fake_checkpoint(tmp_path, "a", None), {"CV1": 0.5})
    doc = build_dashboard([("late", late), ("unknown", unknown)])
    assert doc["order"] == ORDER_GIVEN
    assert [c["samples_seen"] for c in doc["checkpoints"]] == [300, None]
    # run.training_progress in the report counts as well as a sidecar
    unknown["run"]["training_progress"] = {"samples_seen": 50}
    doc = build_dashboard([("late", late), ("unknown", unknown)])
    assert doc["order"] == ORDER_PROGRESS and doc["checkpoints"][0]["name"] == "a"


def test_a_clear_regression_is_marked():
    before = report("a.pth (a.pth)", {"CV1": 0.5, "CV2": 0.5})
    after = report("b.pth (b.pth)", {"CV1": -0.5, "CV2": 0.5})
    kept = json.loads(json.dumps(after))
    doc = build_dashboard([("a", before), ("b", after)])
    assert after == kept  # compare() ran on copies
    cv1 = next(c for c in doc["claims"] if c["id"] == "CV1")
    assert [c["verdict"] for c in cv1["cells"]] == ["supported", "refuted"]
    assert cv1["cells"][1]["vs_previous"] == "regression"
    cv2 = next(c for c in doc["claims"] if c["id"] == "CV2")
    assert cv2["cells"][1]["vs_previous"] != "regression"
    assert doc["checkpoints"][1]["vs_previous"]["regressions"] == 1 and doc["regressions"] == 1
    html = render_dashboard_html(doc, {})
    marked = re.findall(r'<td class="cell[^"]*" data-claim="([^"]+)"[^>]*>(.*?)</td>', html)
    assert [cid for cid, body in marked if 'class="regression"' in body] == ["CV1"]


def test_names_are_short_and_unique():
    assert checkpoint_name("/x/y/policy-000150000.pth") == "policy-000150000"
    assert checkpoint_name("planted:cheese-seeker") == "planted-cheese-seeker"
    assert checkpoint_name("default") == "default"
    assert unique_names(["a", "a", "b", "a"]) == ["a", "a-2", "b", "a-3"]
    assert unique_names(["a", "a", "a-2"]) == ["a", "a-3", "a-2"]
    same = [report("/r1/policy.pth (/r1/policy.pth)", {"CV1": 0.5}) for _ in range(2)]
    doc = build_dashboard([("1", same[0]), ("2", same[1])])
    assert [c["name"] for c in doc["checkpoints"]] == ["policy", "policy-2"]


def test_run_facts_that_differ_are_listed():
    a = report("a.pth (a.pth)", {"CV1": 0.5})
    b = report("b.pth (b.pth)", {"CV1": 0.5}, budget="paper")
    doc = build_dashboard([("a", a), ("b", b)])
    assert {"field": "budget", "values": {"a": "quick", "b": "paper"}} in doc["mismatches"]


def test_bad_report_dirs_name_the_path(tmp_path):
    with pytest.raises(DashboardError, match=re.escape(str(tmp_path / "none"))):
        load_report_dir(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DashboardError, match=r"empty has no report\.json"):
        load_report_dir(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "report.json").write_text("{not json")
    with pytest.raises(DashboardError, match=r"bad/report.json is not valid JSON"):
        load_report_dir(tmp_path / "bad")
    (tmp_path / "old.json").write_text(json.dumps({"schema_version": "2.5", "claims": []}))
    with pytest.raises(DashboardError, match=r"old.json: missing top-level key 'run'"):
        load_report_dir(tmp_path / "old.json")
    good = write(tmp_path / "good", report("a.pth (a.pth)", {"CV1": 0.5}))
    assert load_report_dir(good)["claims"][0]["id"] == "CV1"
    assert load_report_dir(good / "report.json")["claims"][0]["id"] == "CV1"


def test_write_dashboard_writes_json_and_a_self_contained_page(tmp_path):
    a = report("a.pth (a.pth)", {"CV1": 0.5, "CV2": 0.3})
    b = report("b.pth (b.pth)", {"CV1": -0.5})
    out = write_dashboard([("a", a), ("b", b)], tmp_path / "dash")
    doc = json.loads(out["json"].read_text())
    assert doc == json.loads(json.dumps(out["doc"]))
    html = out["html"].read_text()
    assert html.count("data:image/png;base64,") == 2  # one emergence plot per claim
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")
    assert not list((tmp_path / "dash").glob(".*.tmp"))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness", "dashboard", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_exit_codes_and_output(tmp_path):
    a = write(tmp_path / "a", report("a.pth (a.pth)", {"CV1": 0.5, "CV2": 0.3}))
    b = write(tmp_path / "b", report("b.pth (b.pth)", {"CV1": -0.5, "CV2": 0.3}))
    out = tmp_path / "out"
    missing = run_cli(str(a), str(tmp_path / "nothing"), "--out", str(out))
    assert missing.returncode == 2, missing.stderr
    assert "nothing" in missing.stderr and "Traceback" not in missing.stderr
    good = run_cli(str(a), str(b), "--out", str(out))
    assert good.returncode == 0, good.stderr
    assert (out / "dashboard.json").is_file() and (out / "dashboard.html").is_file()
    last = good.stdout.strip().splitlines()[-1]
    assert last.startswith("dashboard: 2 checkpoints x 2 claims, 1 regression against")
    assert last.endswith(str(out / "dashboard.html"))


def load_dashboard(binary: str, page: Path, profile_dir: Path) -> dict:
    """Open ``page`` in Chromium (the report browser test's pipe client); console errors,
    failed loads, and what the DOM holds: matrix cells, absent cells, regression markers."""
    from test_report_browser import (  # tests/ is on sys.path (rootdir-relative)
        Browser,
        console_errors,
    )

    browser = Browser(binary, profile_dir)
    try:
        target = next(
            t for t in browser.send("Target.getTargets")["targetInfos"] if t["type"] == "page"
        )
        session = browser.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.events.clear()
        browser.send("Page.navigate", {"url": page.as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        expression = (
            "JSON.stringify({title: document.title,"
            " cells: document.querySelectorAll('table.matrix td.cell').length,"
            " absent: document.querySelectorAll('table.matrix td.cell.absent').length,"
            " regressions: document.querySelectorAll('td.cell .regression').length,"
            " rows: document.querySelectorAll('table.matrix tbody tr').length,"
            " images: document.images.length,"
            " broken: Array.from(document.images)"
            ".filter(i => !(i.complete && i.naturalWidth > 0)).length})"
        )
        dom = browser.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
        )["result"]["value"]
        errors = console_errors(browser.events)
        return {"errors": errors, **json.loads(dom)}
    finally:
        browser.close()


def test_dashboard_page_in_chromium(tmp_path):
    from test_report_browser import chromium_binary  # skips where Chromium is absent

    binary = chromium_binary()
    a = report("a.pth (a.pth)", {"CV1": 0.5, "CV2": 0.3, "CV3": 0.5})
    b = report("b.pth (b.pth)", {"CV1": -0.5, "CV2": 0.3})
    c = report("c.pth (c.pth)", {"CV1": 0.5, "CV3": 0.5})
    page = write_dashboard([("a", a), ("b", b), ("c", c)], tmp_path / "dash")["html"]
    result = load_dashboard(binary, page, tmp_path / "profile")
    assert result["errors"] == []
    assert result["title"] == "maze-claims dashboard"
    assert result["rows"] == 3 and result["cells"] == 3 * 3
    assert result["absent"] == 2 and result["regressions"] == 1
    assert result["images"] == 3 and result["broken"] == 0
