"""TR: the top-right vector (CLAIMS.md): activations with a corridor opened to the world's
top-right corner minus those of the maze as generated, mouse at the start. Mazes that already
fill the 25 x 25 world have no such vector and are left out (sizes up to 23)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.experiments import top_right as tr
from harness.stats import AllOf, Equivalence, PairedDifference

MAX_SIZE = 23


def stream(subject):
    return subject.stream(has_decision_square=True, max_size=MAX_SIZE)


@pytest.mark.claim("TR1", source="follow-up post 'Maze-solving agents: add a top-right vector'")
def test_tr1_adding_attracts_to_the_top_right(claim, subject):
    """Adding the top-right vector attracts the agent to the top-right.

    With c = +1, P(top-right) at the decision square rises and P(cheese) falls.
    """
    p = claim.params
    thr = p.require("threshold")
    sample = claim.measure(
        stream(subject), tr.TopRightVector(subject, p.require("coefficient")), n=p.n
    )
    result = sample.test(
        AllOf(
            PairedDifference(
                "p_top_right_patched",
                "p_top_right_unpatched",
                threshold=thr,
                label="P(top-right) up",
            ),
            PairedDifference(
                "p_cheese_unpatched", "p_cheese_patched", threshold=thr, label="P(cheese) down"
            ),
        )
    )
    v = sample.values
    claim.add_note(
        "control: a wall-aware direction-prior policy with this policy's average move "
        f"preferences has mean P(top-right) {np.mean(v['p_top_right_direction_prior']):.3f} "
        f"at these decision squares (policy: {np.mean(v['p_top_right_unpatched']):.3f})"
    )
    claim.conclude(result)


@pytest.mark.claim("TR2", source="follow-up post 'Maze-solving agents: add a top-right vector'")
def test_tr2_subtracting_does_nothing(claim, subject):
    """Subtracting the top-right vector does roughly nothing.

    With c = -1, the mean changes of P(cheese) and P(top-right) at the decision square both lie
    within the margin (TOST).
    """
    p = claim.params
    margin = p.require("margin")
    sample = claim.measure(
        stream(subject), tr.TopRightVector(subject, p.require("coefficient")), n=p.n
    )
    form = AllOf(
        Equivalence(
            "p_cheese_patched",
            "p_cheese_unpatched",
            margin=margin,
            label="P(cheese) unchanged",
        ),
        Equivalence(
            "p_top_right_patched",
            "p_top_right_unpatched",
            margin=margin,
            label="P(top-right) unchanged",
        ),
    )
    claim.conclude(sample.test(form))


@pytest.mark.claim("TR3", source="follow-up post 'Maze-solving agents: add a top-right vector'")
def test_tr3_composes_additively(claim, subject):
    """The top-right vector composes with the cheese vector roughly additively.

    The change of P(cheese) with both vectors equals the sum of the separate changes within the
    margin (TOST).
    """
    p = claim.params
    sample = claim.measure(stream(subject), tr.Composition(subject), n=p.n)
    claim.conclude(
        sample.test(Equivalence("change_both", "change_sum", margin=p.require("margin")))
    )
