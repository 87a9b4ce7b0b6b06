"""TR: the top-right vector (CLAIMS.md): activations with a corridor opened to the world's
top-right corner minus those of the maze as generated, mouse at the start. Mazes that already
fill the 25 x 25 world have no such vector and are left out (sizes up to 23)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.experiments import top_right as tr
from harness.stats import all_of, equivalence, paired_difference

MAX_SIZE = 23


def stream(subject):
    return subject.stream(has_decision_square=True, max_size=MAX_SIZE)


@pytest.mark.claim(
    id="TR1",
    title="Adding the top-right vector attracts the agent to the top-right",
    source="follow-up post 'Maze-solving agents: add a top-right vector'",
    hypothesis="With c = +1, P(top-right) at the decision square rises and P(cheese) falls.",
)
def test_tr1_adding_attracts_to_the_top_right(claim, subject):
    p = claim.params
    coeff, thr = p.require("coefficient"), p.require("threshold")
    sample = claim.measure(
        stream(subject), lambda mazes: tr.top_right_decisions(subject, mazes, coeff), n=p.n
    )
    claim.add_intervention(f"add {coeff:g} x own top_right_vector @ {subject.layer}")

    def analysis(v, alpha):
        claim.add_note(
            "control: a wall-aware direction-prior policy with this policy's average move "
            f"preferences has mean P(top-right) {np.mean(v['p_top_right_direction_prior']):.3f} "
            f"at these decision squares (policy: {np.mean(v['p_top_right_unpatched']):.3f})"
        )
        return all_of(
            paired_difference(
                v["p_top_right_patched"],
                v["p_top_right_unpatched"],
                threshold=thr,
                alpha=alpha,
                names=("patched", "unpatched"),
                label="P(top-right) up",
            ),
            paired_difference(
                v["p_cheese_unpatched"],
                v["p_cheese_patched"],
                threshold=thr,
                alpha=alpha,
                names=("unpatched", "patched"),
                label="P(cheese) down",
            ),
        )

    claim.conclude(sample.analyze(analysis))


@pytest.mark.claim(
    id="TR2",
    title="Subtracting the top-right vector does roughly nothing",
    source="follow-up post 'Maze-solving agents: add a top-right vector'",
    hypothesis="With c = -1, the mean changes of P(cheese) and P(top-right) at the decision "
    "square both lie within the margin (TOST).",
)
def test_tr2_subtracting_does_nothing(claim, subject):
    p = claim.params
    coeff, margin = p.require("coefficient"), p.require("margin")
    sample = claim.measure(
        stream(subject), lambda mazes: tr.top_right_decisions(subject, mazes, coeff), n=p.n
    )
    claim.add_intervention(f"add {coeff:g} x own top_right_vector @ {subject.layer}")

    def analysis(v, alpha):
        return all_of(
            equivalence(
                v["p_cheese_patched"],
                v["p_cheese_unpatched"],
                margin=margin,
                alpha=alpha,
                label="P(cheese) unchanged",
            ),
            equivalence(
                v["p_top_right_patched"],
                v["p_top_right_unpatched"],
                margin=margin,
                alpha=alpha,
                label="P(top-right) unchanged",
            ),
        )

    claim.conclude(sample.analyze(analysis))


@pytest.mark.claim(
    id="TR3",
    title="The top-right vector composes with the cheese vector roughly additively",
    source="follow-up post 'Maze-solving agents: add a top-right vector'",
    hypothesis="The change of P(cheese) with both vectors equals the sum of the separate "
    "changes within the margin (TOST).",
)
def test_tr3_composes_additively(claim, subject):
    p = claim.params
    sample = claim.measure(stream(subject), lambda mazes: tr.composition(subject, mazes), n=p.n)
    claim.add_intervention(f"add -1 x cheese_vector and +1 x top_right_vector @ {subject.layer}")
    claim.conclude(sample.equivalence("change_both", "change_sum", margin=p.require("margin")))
