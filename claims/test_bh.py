"""BH: behavioural statistics (CLAIMS.md; follow-up post 'Behavioural statistics for a
maze-solving agent'). One data set per run: mazes with a decision square and the cheese
outside the top-right 5 x 5; one episode outcome per maze."""

from __future__ import annotations

import numpy as np
import pytest

from harness.experiments import behavioural as bh
from harness.stats import accuracy_vs_base_rate, all_of, equivalence, proportion


def measure(claim, subject):
    p = claim.profile.claim("BH1")
    horizon = p.require("horizon")
    claim.add_note(
        f"outcome: reached or stood next to the cheese within {horizon} steps, drawn from its "
        "exact probability (Markov chain over cell and facing), one draw per maze"
    )
    return claim.measure(
        subject.stream(has_decision_square=True, cheese_in_top_right=False),
        lambda mazes: bh.dataset(subject, mazes, horizon),
        n=claim.params.n,
        batch_size=32,
    )


def c_of(claim) -> float:
    return claim.profile.claim("BH1").require("l1_c")


@pytest.mark.claim(
    id="BH1",
    title="Three features predict cheese-getting well above the base rate",
    source="follow-up post 'Behavioural statistics for a maze-solving agent'",
    hypothesis="An L1 logistic regression on step and Euclidean distance DS->cheese and "
    "Euclidean distance cheese->top-right predicts held-out outcomes better than always "
    "guessing the majority outcome.",
)
def test_bh1_features_predict_cheese_getting(claim, subject):
    sample = measure(claim, subject)
    c, thr = c_of(claim), claim.params.require("threshold")

    def analysis(v, alpha):
        out = bh.held_out(v, bh.KEY_FEATURES, c)
        claim.add_note(
            "coefficients (z-scored features): "
            + ", ".join(f"{k} {w:+.3f}" for k, w in out["coef"].items())
            + f"; share of mazes getting the cheese {np.mean(v['got_cheese']):.3f}"
        )
        return accuracy_vs_base_rate(
            out["correct"], base_rate=out["base_rate"], threshold=thr, alpha=alpha
        )

    claim.conclude(sample.analyze(analysis))


@pytest.mark.claim(
    id="BH2",
    title="The three coefficients are negative and stable",
    source="follow-up post 'Behavioural statistics for a maze-solving agent'",
    hypothesis="Across many random splits and random sets of extra features, each of the three "
    "key coefficients is negative in more than the threshold share of fits.",
)
def test_bh2_coefficient_signs_are_stable(claim, subject):
    sample = measure(claim, subject)
    p = claim.params
    fits, thr = p.require("fits"), p.require("threshold")
    claim.add_note(
        f"{fits} fits on overlapping random splits: the shares' intervals treat fits as "
        "independent, which they are not; read them as descriptive"
    )

    def analysis(v, alpha):
        signs = bh.sign_fits(v, c_of(claim), fits)
        return all_of(
            *(
                proportion(signs[f], threshold=thr, alpha=alpha, name=f"negative {f}", label=f)
                for f in bh.KEY_FEATURES
            )
        )

    claim.conclude(sample.analyze(analysis))


@pytest.mark.claim(
    id="BH3",
    title="Decision-square distance to the top-right is an artifact",
    source="follow-up post 'Behavioural statistics for a maze-solving agent'",
    hypothesis="Adding the Euclidean distance DS->top-right to the three key features changes "
    "held-out accuracy by less than the margin (TOST on paired per-maze correctness).",
)
def test_bh3_ds_to_top_right_adds_nothing(claim, subject):
    sample = measure(claim, subject)
    c, margin = c_of(claim), claim.params.require("margin")

    def analysis(v, alpha):
        without = bh.held_out(v, bh.KEY_FEATURES, c)
        with_it = bh.held_out(v, (*bh.KEY_FEATURES, bh.ARTIFACT), c)
        return equivalence(with_it["correct"], without["correct"], margin=margin, alpha=alpha)

    claim.conclude(sample.analyze(analysis))
