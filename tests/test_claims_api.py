"""The claim API through pytest: marker, selection, verdict outcomes, options, JUnit, hooks."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from harness.claim import ClaimSpec, ClaimSpecError, assert_verdict, verdict_message
from harness.stats import paired_difference

L = "embedder.block2.res1.resadd_out"

CLAIMS = """
import numpy as np
import pytest
from harness.stats import PairedDifference

def stream(base):
    return iter(range(base, base + 100_000))

def drop(mean, sd=0.1):
    def metric(units):
        return np.array([np.random.default_rng(u).normal(mean, sd) for u in units])
    return metric

@pytest.mark.claim(id="CV1", title="big drop", source="test", hypothesis="drop > 0")
def test_cv1(claim):
    claim.conclude(claim.measure(stream, drop(0.5), n=40).test(PairedDifference()))

@pytest.mark.claim(id="CV2", title="no drop", source="test", hypothesis="drop > 0.2")
def test_cv2(claim):
    claim.conclude(claim.measure(stream, drop(0.0), n=40).test(PairedDifference(threshold=0.2)))

@pytest.mark.claim(id="CV3", title="undecided", source="test", hypothesis="drop > 0")
def test_cv3(claim):
    claim.conclude(claim.measure(stream, drop(0.0, 1.0), n=6).test(PairedDifference()))

def test_not_a_claim():
    pass
"""


def run_json(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    out = pytester.path / "out"
    result = pytester.runpytest("--report-dir", str(out), *args)
    return result, json.loads((out / "report.json").read_text())


def test_verdicts_become_outcomes(claims_pytester):
    claims_pytester.makepyfile(test_claims=CLAIMS)
    result, report = run_json(claims_pytester)
    result.assert_outcomes(passed=2, failed=1, xfailed=1)
    verdicts = {c["id"]: c["verdict"] for c in report["claims"]}
    assert verdicts == {"CV1": "supported", "CV2": "refuted", "CV3": "inconclusive"}
    text = result.stdout.str()
    assert "CV2 refuted (expected supported): mean of value = " in text
    assert "90% CI [" in text and "n = 40; claimed > 0.2" in text


@pytest.mark.parametrize(("policy", "outcome"), [("fail", "failed"), ("skip", "skipped")])
def test_inconclusive_policy(claims_pytester, policy, outcome):
    claims_pytester.makepyfile(test_claims=CLAIMS)
    result = claims_pytester.runpytest("-k", "CV3", f"--inconclusive={policy}")
    result.assert_outcomes(**{outcome: 1})


def test_keyword_and_marker_selection(claims_pytester):
    claims_pytester.makepyfile(test_claims=CLAIMS)
    claims_pytester.runpytest("-k", "CV1").assert_outcomes(passed=1)
    claims_pytester.runpytest("-m", "claim").assert_outcomes(passed=1, failed=1, xfailed=1)
    claims_pytester.runpytest("-m", "not claim").assert_outcomes(passed=1)


def test_expect_refuted_for_ground_truth_checks(claims_pytester):
    claims_pytester.makepyfile(
        test_truth="""
import numpy as np, pytest
from harness.stats import PairedDifference
@pytest.mark.claim(id="CH9", title="t", source="s", hypothesis="h")
def test_planted_null(claim):
    metric = lambda us: 0.001 * (np.array(us) % 10)  # a planted null: tiny, no real drop
    m = claim.measure(lambda b: iter(range(1000)), metric)
    claim.conclude(m.test(PairedDifference(threshold=0.5)), expect="refuted")
"""
    )
    result, report = run_json(claims_pytester)
    result.assert_outcomes(passed=1)
    assert report["claims"][0]["verdict"] == "refuted"
    assert report["claims"][0]["expected"] == "refuted"


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('id="CV1", title="t", source="s"', "missing or empty hypothesis"),
        ('id="cheese", title="t", source="s", hypothesis="h"', "does not look like"),
        ('"CV1", id="CV1", title="t", source="s", hypothesis="h"', "give the id once"),
        ('id="CV1", title="t", source="s", hypothesis="h", colour="red"', "unknown field"),
    ],
)
def test_bad_markers_are_usage_errors(claims_pytester, marker, message):
    claims_pytester.makepyfile(
        f"import pytest\n@pytest.mark.claim({marker})\ndef test_x(claim):\n    pass\n"
    )
    result = claims_pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_duplicate_claim_ids_are_usage_errors(claims_pytester):
    marker = '@pytest.mark.claim(id="CV1", title="t", source="s", hypothesis="h")'
    claims_pytester.makepyfile(
        f"import pytest\n{marker}\ndef test_a(claim): pass\n{marker}\ndef test_b(claim): pass\n"
    )
    result = claims_pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*claim id CV1 is used by both*"])


def test_parametrized_claims_get_distinct_ids(claims_pytester):
    claims_pytester.makepyfile(
        """
import numpy as np, pytest
from harness.stats import PairedDifference
@pytest.mark.claim(id="CV4", title="t", source="s", hypothesis="h")
@pytest.mark.parametrize("offset", [0, 2])
def test_cv4(claim, offset):
    metric = lambda us: np.array(us, float) % 5 - 2 + (offset == 0)  # mean 1 or exactly 0
    m = claim.measure(lambda b: iter(range(1000)), metric)
    expect = "supported" if offset == 0 else "inconclusive"
    claim.conclude(m.test(PairedDifference()), expect=expect)
"""
    )
    result, report = run_json(claims_pytester, "--inconclusive=fail")
    result.assert_outcomes(passed=2)
    assert [c["id"] for c in report["claims"]] == ["CV4[0]", "CV4[2]"]


def test_claim_test_without_a_verdict_fails(claims_pytester):
    claims_pytester.makepyfile(
        """
import pytest
@pytest.mark.claim(id="CV1", title="t", source="s", hypothesis="h")
def test_forgot(claim):
    pass
@pytest.mark.claim(id="CV2", title="t", source="s", hypothesis="h")
def test_no_fixture():
    pass
def test_fixture_without_marker(claim):
    pass
"""
    )
    result, report = run_json(claims_pytester)
    result.assert_outcomes(failed=2, errors=1)
    result.stdout.fnmatch_lines(["*must use the `claim` fixture and call claim.conclude*"])
    assert {e["claim_id"] for e in report["errors"]} == {"CV1", "CV2"}
    assert report["claims"] == []


def test_options_reach_the_fixture_and_the_sample(claims_pytester):
    claims_pytester.makepyfile(
        """
import numpy as np, pytest
from harness.stats import PairedDifference
@pytest.mark.claim(id="CV1", title="t", source="s", hypothesis="h")
def test_cv1(claim, claim_options, run_facts):
    assert claim_options.budget == "quick" and claim_options.base_seed == 7
    assert claim_options.alpha == 0.01 and claim.alpha == 0.01
    assert run_facts.device == "cpu" and claim.record.run["device"] == "cpu"
    m = claim.measure(lambda b: iter(range(b, b + 1000)), lambda us: np.array(us, float))
    r = m.test(PairedDifference())
    assert r.n == claim.sample_size() == 30 and r.sample.seeds[0] == 7
    assert r.alpha == 0.01 and r.ci_level == pytest.approx(0.98)
    claim.conclude(r)
"""
    )
    args = ["--budget", "quick", "--base-seed", "7", "--alpha", "0.01", "--device", "cpu"]
    result, report = run_json(claims_pytester, *args)
    result.assert_outcomes(passed=1)
    assert report["run"]["budget"] == "quick" and report["run"]["base_seed"] == 7
    assert report["run"]["device_option"] == "cpu" and report["run"]["alpha"] == 0.01
    claims_pytester.runpytest("--seeds", "12", "-q").assert_outcomes(failed=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--alpha", "0.7"], "--alpha must lie in (0, 0.5)"),
        (["--seeds", "2"], "--seeds must be >= 3"),
        (["--rounds", "0"], "--rounds must lie in 1..10"),
        (["--baseline", "missing.json"], "--baseline: cannot read baseline"),
        (["--profile", "nope"], "--profile: no profile named 'nope'"),
        (["--profile", "nope.toml"], "--profile: cannot read profile"),
    ],
)
def test_bad_options_are_usage_errors(claims_pytester, args, message):
    result = claims_pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_sequential_option_is_recorded(claims_pytester):
    claims_pytester.makepyfile(test_claims=CLAIMS)
    result, report = run_json(claims_pytester, "-k", "CV1", "--sequential", "--seeds", "100")
    result.assert_outcomes(passed=1)
    claim = report["claims"][0]
    assert claim["sequential"]["stopped_at_look"] == 1 and claim["n"] == 20
    assert claim["p_value_nominal"] is not None and report["run"]["sequential"] is True


def test_junit_properties(claims_pytester):
    claims_pytester.makepyfile(test_claims=CLAIMS)
    xml = claims_pytester.path / "junit.xml"
    claims_pytester.runpytest("-k", "CV1 or CV2", f"--junitxml={xml}")
    props = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in ET.parse(xml).getroot().iter("testcase")
    }
    assert props["test_cv1"]["claim_verdict"] == "supported"
    assert props["test_cv2"]["claim_verdict"] == "refuted"
    assert float(props["test_cv1"]["claim_ci_low"]) < float(props["test_cv1"]["claim_estimate"])
    assert props["test_cv1"]["claim_n"] == "40"


def test_profile_parameters_and_published_values(claims_pytester):
    claims_pytester.makefile(
        ".toml",
        prof="""
[profile]
name = "mine"
[claims.CV1]
threshold = 0.2
published = { value = 0.78, text = "median drop", n = 100 }
""",
    )
    claims_pytester.makepyfile(
        """
import numpy as np, pytest
from harness.stats import PairedDifference
@pytest.mark.claim(id="CV1", title="t", source="s", hypothesis="h")
def test_cv1(claim):
    m = claim.measure(lambda b: iter(range(1000)), lambda us: np.array(us, float) % 3 + 0.5)
    claim.conclude(m.test(PairedDifference(threshold=claim.params.require("threshold"))))
@pytest.mark.claim(id="XX2", title="t", source="s", hypothesis="h")
def test_xx2(claim):
    claim.params.require("margin")
"""
    )
    # XX2 is in neither 'mine' nor the generic defaults a user profile falls back on
    result, report = run_json(claims_pytester, "--profile", "prof.toml")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*profile 'mine' has no 'margin' for claim XX2*"])
    claim = report["claims"][0]
    assert claim["threshold"] == 0.2 and claim["profile"] == "mine"
    assert claim["published"] == {"value": 0.78, "text": "median drop", "n": 100}
    # without --profile the default checkpoint's own profile (by hash, else generic) applies
    result = claims_pytester.runpytest("-k", "CV1")
    result.assert_outcomes(passed=1)
    result.stdout.re_match_lines([r"checkpoint default .* profile (?!mine)[\w-]+, device"])


def test_metadata_figures_and_hooks_reach_the_report(claims_pytester):
    claims_pytester.makeconftest(
        """
import hashlib, pytest
from harness.claim import RunFacts
pytest_plugins = ["fixtures.plugin"]

@pytest.fixture(scope="session")
def run_facts(profile):
    return RunFacts("w.pth", hashlib.sha256(b"w").hexdigest(), "cpu", profile.name, {"layer": "L"})

def pytest_claims_record(record, item):
    record.add_note(f"seen by hook: {item.name}")

def pytest_claims_report(report, config):
    report["run"]["dashboard"] = "annotated"
"""
    )
    claims_pytester.makepyfile(
        """
import numpy as np, pytest, torch
from harness.experiments.conditions import Condition
from harness.interventions import AddVector
from harness.stats import PairedDifference
from matplotlib.figure import Figure
@pytest.mark.claim(id="CV1", title="t", source="s", hypothesis="h")
def test_cv1(claim):
    patch = AddVector("embedder.block2.res1.resadd_out", torch.ones(32, 16, 16), -1.0, "v")
    claim.record_conditions({"patched": Condition("patched", (), (patch,))})
    fig = Figure(); fig.subplots().plot([0, 1], [1, 0])
    claim.add_figure("field", fig, "a vector field")
    claim.add_counterexample("P(cheese) rises", seed=16, delta=0.005)
    m = claim.measure(lambda b: iter(range(1000)), lambda us: np.array(us, float) % 3 + 0.5)
    claim.conclude(m.test(PairedDifference()))
"""
    )
    result, report = run_json(claims_pytester)
    result.assert_outcomes(passed=1)
    claim = report["claims"][0]
    assert claim["checkpoint_sha256"] == report["run"]["checkpoint_sha256"]
    assert report["run"]["device"] == "cpu" and report["run"]["dashboard"] == "annotated"
    assert claim["notes"] == ["seen by hook: test_cv1"]
    assert claim["interventions"] == ["add -1 x v @ embedder.block2.res1.resadd_out"]
    assert claim["conditions"][0]["interventions"][0]["coeff"] == -1.0
    assert report["run"]["checkpoint"] == "w.pth" and report["run"]["layer"] == "L"
    assert claim["counterexamples"] == [
        {"seed": 16, "description": "P(cheese) rises", "details": {"delta": 0.005}}
    ]
    figure = claims_pytester.path / "out" / claim["figures"][0]["file"]
    assert figure.read_bytes().startswith(b"\x89PNG")


def test_claim_spec_and_standalone_assertion():
    mark = pytest.mark.claim("BH1", title="t", source="s", hypothesis="h", variant="v").mark
    spec = ClaimSpec.from_marker(mark.args, mark.kwargs)
    assert (
        spec.id == "BH1" and spec.record_id() == "BH1[v]" and spec.record_id("k=2") == "BH1[v-k=2]"
    )
    with pytest.raises(ClaimSpecError):
        ClaimSpec.from_marker((), {"title": "t"})
    d = np.random.default_rng(0).normal(0.0, 0.05, 50)
    refuted = paired_difference(d, threshold=0.2)
    with pytest.raises(pytest.fail.Exception, match="BH1 refuted"):
        assert_verdict(refuted, claim_id="BH1")
    assert assert_verdict(refuted, expect="refuted") is refuted
    with pytest.raises(pytest.xfail.Exception):
        assert_verdict(paired_difference(d[:4]), inconclusive="xfail")
    message = verdict_message(refuted, "BH1")
    for part in ("mean of x = ", "90% CI", "n = 50", "claimed > 0.2"):
        assert part in message


def test_docstring_gives_title_and_hypothesis():
    doc = """Adding the cheese vector does (almost) nothing.

    With c = +1 the mean change of P(cheese) lies within
    the margin.
    """
    spec = ClaimSpec.from_marker(("CV2",), {"source": "s"}, doc)
    assert spec.title == "Adding the cheese vector does (almost) nothing"
    assert spec.hypothesis == "With c = +1 the mean change of P(cheese) lies within the margin."
    assert ClaimSpec.from_marker(("CV2",), {"source": "s", "title": "T"}, doc).title == "T"
    with pytest.raises(ClaimSpecError, match="missing or empty hypothesis"):
        ClaimSpec.from_marker(("CV2",), {"source": "s"}, "Only a title.")
    with pytest.raises(ClaimSpecError, match="variant must be a non-empty string"):
        ClaimSpec.from_marker(("CV2",), {"source": "s", "variant": ""}, doc)


def test_variants_and_cases_of_one_claim_get_distinct_ids(claims_pytester):
    claims_pytester.makepyfile(
        """
import numpy as np, pytest
from harness.stats import PairedDifference, Trend

def stream(base):
    return iter(range(base, base + 1000))

@pytest.mark.claim("CV4", source="s", title="t", hypothesis="h")
@pytest.mark.parametrize("offset", [0, 2], ids=lambda d: f"offset={d}")
def test_offsets(claim, offset):
    m = claim.measure(stream, lambda us: np.array(us, float) % 3 + 1.0 + offset)
    claim.conclude(m.test(PairedDifference()))

@pytest.mark.claim("CV4", source="s", title="t", hypothesis="h", variant="trend")
def test_trend(claim):
    m = claim.measure(stream, lambda us: -np.outer(np.array(us, float) % 3 + 1, [0, 1, 2]))
    claim.conclude(m.test(Trend(levels=(0, 1, 2))))
"""
    )
    result, report = run_json(claims_pytester)
    result.assert_outcomes(passed=3)
    assert [c["id"] for c in report["claims"]] == ["CV4[offset=0]", "CV4[offset=2]", "CV4[trend]"]


def test_an_experiments_conditions_are_recorded_once_as_data(claims_pytester):
    claims_pytester.makepyfile(
        """
import numpy as np, pytest, torch
from harness.experiments.conditions import Condition, ConditionExperiment, conditions
from harness.interventions import AddVector
from harness.stats import PairedDifference

L = "embedder.block2.res1.resadd_out"
built = []

class Shift(ConditionExperiment):
    subject = None

    def conditions(self, mazes):
        built.append(len(mazes))
        patch = AddVector(L, torch.ones(len(mazes), 32, 16, 16), -1.0, "ones")
        return conditions(Condition("unpatched", mazes), Condition("patched", mazes, (patch,)))

    def evaluate(self, mazes, arms):
        assert len(arms["patched"].interventions[0].vector) == len(mazes)
        return {"drop": np.array(mazes, float) % 3 + 1.0}

@pytest.mark.claim("CV1", source="s", title="t", hypothesis="h")
def test_cv1(claim):
    m = claim.measure(lambda b: iter(range(b, b + 100)), Shift(), n=30, batch_size=10)
    claim.conclude(m.test(PairedDifference("drop")))
    assert built == [10, 10, 10]
"""
    )
    result, report = run_json(claims_pytester)
    result.assert_outcomes(passed=1)
    claim = report["claims"][0]
    assert [c["name"] for c in claim["conditions"]] == ["unpatched", "patched"]
    patched = claim["conditions"][1]["interventions"][0]
    assert patched["kind"] == "add_vector" and patched["coeff"] == -1.0
    assert patched["vector"]["shape"] == [10, 32, 16, 16]  # the first batch's mazes
    assert claim["interventions"] == [f"add -1 x ones @ {L}"]
