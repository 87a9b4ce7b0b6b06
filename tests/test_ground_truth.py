"""End-to-end correctness: the claims suite on planted policies gets the verdicts their
construction dictates.

Each planted policy's profile (``harness/profiles/planted-*.toml``) states, per claim, the
verdict it must get by construction (``expect``; per parametrization ``expect_by_case``; see
docs/planted.md). This runs the real suite (``claims/``) on each planted policy at the quick
budget, inside pytester, and compares every decided verdict in the written report.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.policy import available_planted
from harness.profiles import resolve_profile

REPO = Path(__file__).resolve().parents[1]


def expectations(name: str) -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, set]]:
    profile = resolve_profile(f"planted-{name}")
    whole, by_case, undecided = {}, {}, {}
    for claim_id, params in profile.claims.items():
        if params.expect:
            whole[claim_id] = params.expect
        if "expect_by_case" in params.params:
            by_case[claim_id] = dict(params.params["expect_by_case"])
        undecided[claim_id] = set(params.params.get("undecided_cases", ()))
    return whole, by_case, undecided


def expected_verdict(record: dict, whole, by_case, undecided) -> str | None:
    claim_id = record["claim_id"]
    match = re.search(r"\[(.*)\]$", record["id"])
    case = match.group(1) if match else ""
    if case in by_case.get(claim_id, {}):
        return by_case[claim_id][case]
    if case in undecided.get(claim_id, set()) or (claim_id in by_case and claim_id not in whole):
        return None
    return whole.get(claim_id)


@pytest.mark.parametrize("name", available_planted())
def test_planted_policies_get_their_verdicts_by_construction(pytester, name):
    whole, by_case, undecided = expectations(name)
    ids = sorted(set(whole) | set(by_case))
    assert ids, f"planted-{name} declares no expectations"
    report_dir = pytester.path / "report"
    result = pytester.runpytest_subprocess(
        str(REPO / "claims"),
        "--rootdir",
        str(REPO),
        "-c",
        str(REPO / "pyproject.toml"),
        f"--checkpoint=planted:{name}",
        "--budget=quick",
        "--inconclusive=xfail",
        f"--report-dir={report_dir}",
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "--counterexamples=0",
        "-k",
        " or ".join(ids),
        timeout=1500,
    )
    report = json.loads((report_dir / "report.json").read_text())
    assert report["run"]["profile"] == f"planted-{name}" or any(
        c["profile"] == f"planted-{name}" for c in report["claims"]
    )
    assert not report["errors"], report["errors"]
    checked, wrong = 0, []
    for record in report["claims"]:
        expect = expected_verdict(record, whole, by_case, undecided)
        if expect is None:
            continue
        checked += 1
        if record["verdict"] != expect:
            wrong.append(
                f"{record['id']}: {record['verdict']} (expected {expect}) -- {record['reason']}"
            )
    assert not wrong, f"planted:{name}\n" + "\n".join(wrong) + "\n" + result.stdout.str()[-3000:]
    decided_ids = {r["claim_id"] for r in report["claims"]}
    assert set(whole) <= decided_ids, f"claims never reported: {set(whole) - decided_ids}"
    assert checked >= len(whole)
