"""Holm's adjustment across the claims of a run."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from harness.stats import holm


def test_holm_matches_statsmodels_and_keeps_order():
    p = [0.04, 0.001, 0.3, 0.02]
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1].tolist())


def test_missing_pvalues_stay_missing_and_leave_the_family():
    adjusted = holm([0.01, None, float("nan"), 0.04])
    assert adjusted[1] is None and adjusted[2] is None
    assert adjusted[0] == pytest.approx(0.02) and adjusted[3] == pytest.approx(0.04)
    assert holm([None]) == [None]


def test_holm_is_at_least_the_raw_pvalue():
    p = np.random.default_rng(0).random(12).tolist()
    assert all(a >= r for a, r in zip(holm(p), p, strict=True))


def test_invalid_pvalues():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.5, 1.5])


def test_untested_members_enlarge_the_family_with_p_one():
    adjusted = holm([0.01, None, 0.04, 0.002], untested=3)
    expected = multipletests([0.01, 0.04, 0.002, 1.0, 1.0, 1.0], method="holm")[1][:3]
    assert adjusted[1] is None
    assert [adjusted[0], adjusted[2], adjusted[3]] == pytest.approx(expected.tolist())
    assert adjusted[3] == pytest.approx(0.002 * 6)  # six members, not three
    assert holm([None], untested=2) == [None] and holm([], untested=2) == []
    with pytest.raises(ValueError, match="untested"):
        holm([0.1], untested=-1)
