"""Verdict forms that the absence of the phenomenon cannot pass (issue 11).

Each case runs through the real claim pipeline (marker, ``claim.measure``, the form, the
report) inside pytester: the old form's failure beside the new form's fix.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.stats import Magnitude, PairedDifference, VerdictKind, magnitude_below
from harness.stats.discordant import accuracy_equivalence
from harness.stats.onesample import sign_test_pvalue
from harness.stats.sampling import Values

SUITE = """
import numpy as np
import pytest
from harness.stats import Equivalence, Magnitude, PairedDifference
from harness.stats.discordant import accuracy_equivalence

def stream(base):
    return iter(range(base, base + 100_000))

def swings(units):
    # a vector that moves every unit's P(cheese) by about 0.1, up in half, down in half
    rng = [np.random.default_rng(u) for u in units]
    signs = np.array([1.0 if u % 2 else -1.0 for u in units])
    base = np.array([0.4 + 0.2 * r.random() for r in rng])
    change = signs * np.array([r.normal(0.1, 0.01) for r in rng])
    return {"unpatched": base, "patched": base + change}

def unchanged(units):
    # a patch that changes nothing at all: every difference is exactly 0
    p = np.array([0.3 + 0.4 * np.random.default_rng(u).random() for u in units])
    return {"unpatched": p, "patched": p.copy(), "correct": np.ones(len(units))}

@pytest.mark.claim("VF1", source="test")
def test_old_signed_mean(claim):
    '''Adding the vector does nothing.

    old form: TOST on the signed mean change'''
    sample = claim.measure(stream, swings, n=200)
    claim.conclude(sample.test(Equivalence("patched", "unpatched", margin=0.05)))

@pytest.mark.claim("VF2", source="test")
def test_new_magnitude(claim):
    '''Adding the vector does nothing.

    new form: mean |change| below the margin'''
    sample = claim.measure(stream, swings, n=200)
    claim.conclude(sample.test(Magnitude("patched", "unpatched", margin=0.05)))

@pytest.mark.claim("VF3", source="test")
def test_constant_zero_change(claim):
    '''A patch that changes nothing does nothing.

    every difference is exactly 0'''
    sample = claim.measure(stream, unchanged, n=120)
    claim.conclude(sample.test(Magnitude("patched", "unpatched", margin=0.05)))

@pytest.mark.claim("VF4", source="test")
def test_no_discordant_pairs(claim):
    '''A feature adds no accuracy.

    two classifiers that agree on all 120 units'''
    sample = claim.measure(stream, unchanged, n=120)
    class SameAccuracy:
        def evaluate(self, values, alpha):
            return accuracy_equivalence(values["correct"], values["correct"], margin=0.02,
                                        alpha=alpha)
    claim.conclude(sample.test(SameAccuracy()))

@pytest.mark.claim("VF5", source="test")
def test_constant_drop(claim):
    '''A patch that lowers nothing lowers P(cheese).

    constant differences of 0'''
    sample = claim.measure(stream, unchanged, n=40)
    claim.conclude(sample.test(PairedDifference("unpatched", "patched", threshold=0.01)))
"""


@pytest.fixture
def report(claims_pytester) -> dict:
    claims_pytester.makepyfile(test_forms=SUITE)
    out = claims_pytester.path / "out"
    claims_pytester.runpytest("--report-dir", str(out), "-p", "no:cacheprovider")
    return {c["id"]: c for c in json.loads((out / "report.json").read_text())["claims"]}


def test_signed_mean_passes_a_vector_that_moves_every_maze_but_magnitude_refutes_it(report):
    assert report["VF1"]["verdict"] == "supported"  # the old form's failure
    new = report["VF2"]
    assert new["verdict"] == "refuted"
    assert new["form"] == "equivalence" and "absolute" in new["estimate_name"]
    assert new["estimate"] == pytest.approx(0.1, abs=0.01)


def test_constant_samples_never_get_p_zero_with_a_zero_width_interval(report):
    for record in report.values():
        zero_width = record["ci"][0] == record["ci"][1]
        assert not (record["p_value"] == 0 and zero_width), record["id"]
    assert report["VF3"]["verdict"] == "supported"
    assert "sign test" in report["VF3"]["test"]
    assert report["VF3"]["p_value"] == pytest.approx(0.5**120)
    assert report["VF5"]["verdict"] == "refuted"


def test_zero_discordant_pairs_of_120_do_not_prove_equivalence_within_two_points(report):
    acc = report["VF4"]
    assert acc["verdict"] == "inconclusive"
    assert acc["ci"][1] == pytest.approx(1 - 0.05 ** (1 / 120), rel=1e-6)  # ~2.5 %
    assert acc["p_value"] > 0.05


# ------------------------------------------------------------------ the forms themselves
def test_magnitude_relative_margin_follows_the_reference_per_unit():
    rng = np.random.default_rng(3)
    change = rng.normal(0.0, 0.02, 60)
    own = np.full(60, 0.5)
    values = Values({"change": change, "own": own}, range(60))
    strict = Magnitude("change", margin=0.005).evaluate(values, 0.05)
    relative = Magnitude("change", margin=0.005, relative_to="own", fraction=0.1)
    loose = relative.evaluate(values, 0.05)
    assert strict.kind is VerdictKind.REFUTED
    assert loose.kind is VerdictKind.SUPPORTED and loose.margin == (0.0, pytest.approx(0.05))
    weak = Values({"change": change, "own": np.zeros(60)}, range(60))
    assert relative.evaluate(weak, 0.05).margin[1] == pytest.approx(0.005)  # the floor holds


def test_magnitude_rejects_negative_magnitudes():
    with pytest.raises(ValueError, match="magnitudes must be >= 0"):
        magnitude_below(np.array([0.1, -0.2, 0.3]), margin=0.1)


def test_relative_difference_asks_for_a_share_of_the_first_column():
    base = np.linspace(0.5, 0.9, 40)
    values = Values({"unpatched": base, "patched": base * 0.7}, range(40))  # 30 % drop
    half = PairedDifference("unpatched", "patched", relative=0.5).evaluate(values, 0.05)
    fifth = PairedDifference("unpatched", "patched", relative=0.2).evaluate(values, 0.05)
    assert half.kind is VerdictKind.REFUTED and fifth.kind is VerdictKind.SUPPORTED
    assert fifth.effects["share of mean unpatched"] == pytest.approx(0.3)


def test_sign_test_pvalue_is_exact_and_never_zero():
    assert sign_test_pvalue(10, "greater") == pytest.approx(0.5**10)
    assert sign_test_pvalue(10, "two-sided") == pytest.approx(2 * 0.5**10)
    assert sign_test_pvalue(5000, "greater") > 0


def test_discordant_pairs_decide_both_ways():
    rng = np.random.default_rng(0)
    a = (rng.random(2000) < 0.8).astype(float)
    same = a.copy()
    same[:10] = 1 - same[:10]  # 10 of 2000 discordant: within 2 points
    assert accuracy_equivalence(same, a, margin=0.02).kind is VerdictKind.SUPPORTED
    worse = a.copy()
    flip = np.flatnonzero(a == 1)[:300]
    worse[flip] = 0  # 15 points worse
    result = accuracy_equivalence(a, worse, margin=0.02)
    assert result.kind is VerdictKind.REFUTED and result.estimate == pytest.approx(0.15)


def test_junit_properties_are_plain_python_numbers_for_xdist():
    from harness.claim import junit_properties

    result = magnitude_below(np.abs(np.random.default_rng(1).normal(0, 1, 30)), margin=1.0)
    props = junit_properties(result)
    assert all(v is None or type(v) in (str, int, float) for v in props.values()), props
