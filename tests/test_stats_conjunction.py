"""Claims made of parts: intersection-union ('all hold') and orderings of conditions."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats import VerdictKind, all_of, ordering, paired_difference
from harness.stats.conjunction import conjunction_pvalues


def conditions(gaps: tuple[float, float], n: int = 80, seed: int = 0):
    rng = np.random.default_rng(seed)
    c = rng.normal(0.3, 0.05, n)
    b = c + gaps[1] + rng.normal(0, 0.1, n)
    a = b + gaps[0] + rng.normal(0, 0.1, n)
    return a, b, c


def test_ordering_supported_when_every_step_is():
    r = ordering(*conditions((0.15, 0.15)), names=["all", "effective", "ch55"])
    assert r.kind is VerdictKind.SUPPORTED
    assert [c.label for c in r.components] == ["all > effective", "effective > ch55"]
    assert r.pvalue == max(c.pvalue for c in r.components)
    weakest = max(r.components, key=lambda c: c.pvalue)
    assert (r.estimate, r.ci) == (weakest.estimate, weakest.ci)


def test_ordering_refuted_when_one_step_goes_the_other_way():
    r = ordering(*conditions((0.15, -0.15)), names=["a", "b", "c"])
    assert r.kind is VerdictKind.REFUTED
    assert "refuted" in r.verdict.reason


def test_ordering_inconclusive_when_one_step_is_undecided():
    r = ordering(*conditions((0.15, 0.0), n=12, seed=3), names=["a", "b", "c"])
    assert r.components[0].kind is VerdictKind.SUPPORTED
    assert r.kind is VerdictKind.INCONCLUSIVE


def test_refutations_are_bonferroni_adjusted():
    parts = [paired_difference(x) for x in conditions((0.1, 0.1))]
    combined = all_of(*parts)
    refutes = [p.pvalue_refute for p in parts]
    assert combined.pvalue_refute == pytest.approx(min(1.0, len(parts) * min(refutes)))


def test_vectorized_rule_matches_the_scalar_one():
    rng = np.random.default_rng(1)
    ps, pr = rng.random((50, 3)), rng.random((50, 3))
    sup, ref = conjunction_pvalues(ps, pr)
    assert sup == pytest.approx(ps.max(axis=1))
    assert ref == pytest.approx(np.minimum(1, 3 * pr.min(axis=1)))


def test_parts_must_share_alpha():
    a, b, _ = conditions((0.1, 0.1))
    with pytest.raises(ValueError, match="same alpha"):
        all_of(paired_difference(a, b, alpha=0.05), paired_difference(a, b, alpha=0.01))
    with pytest.raises(ValueError, match="at least two"):
        all_of(paired_difference(a, b))


def test_two_conditions_is_a_plain_difference():
    a, b, _ = conditions((0.1, 0.1))
    r = ordering(a, b, names=["same", "different"], label="RS1")
    assert r.form == "difference" and r.label == "RS1"
