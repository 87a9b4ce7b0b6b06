"""TR: the top-right vector (CLAIMS.md): activations with a corridor opened to the world's
top-right corner minus those of the maze as generated, mouse at the start. Mazes that already
fill the 25 x 25 world have no such vector and are left out (sizes up to 23)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.experiments import top_right as tr
from harness.stats import AllOf, Magnitude, PairedDifference

MAX_SIZE = 23


def stream(subject):
    return subject.stream(has_decision_square=True, max_size=MAX_SIZE)


@pytest.mark.claim("TR1", source="follow-up post 'Maze-solving agents: add a top-right vector'")
def test_tr1_adding_attracts_to_the_top_right(claim, subject):
    """Adding the top-right vector attracts the agent to the top-right.

    With c = +1, P(top-right) at the decision square rises and P(cheese) falls, each by more
    than the threshold.
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

    With c = -1, the per-maze sizes of the changes of P(cheese) and of P(top-right) at the
    decision square, mean |patched - unpatched|, both lie below the margin (one-sided).
    """
    p = claim.params
    margin = p.require("margin")
    sample = claim.measure(
        stream(subject), tr.TopRightVector(subject, p.require("coefficient")), n=p.n
    )
    form = AllOf(
        *(
            Magnitude(
                f"p_{q}_patched",
                f"p_{q}_unpatched",
                margin=margin,
                measure=f"mean absolute change |P({name}) patched - unpatched| at the DS",
                label=f"P({name}) unchanged",
            )
            for q, name in (("cheese", "cheese"), ("top_right", "top-right"))
        )
    )
    claim.conclude(sample.test(form))


@pytest.mark.claim("TR3", source="follow-up post 'Maze-solving agents: add a top-right vector'")
def test_tr3_composes_additively(claim, subject):
    """The top-right vector composes with the cheese vector roughly additively.

    On the logit scale of P(cheese) and of P(top-right) at the decision square, the per-maze
    interaction of the two vectors (effect of both minus the sum of the separate effects) is
    small: mean |interaction| below max(margin, fraction x the separate effects' summed size).
    """
    p = claim.params
    sample = claim.measure(stream(subject), tr.Composition(subject), n=p.n)
    form = AllOf(
        *(
            Magnitude(
                f"logit_interaction_{q}",
                margin=p.require("margin"),
                relative_to=f"logit_separate_{q}",
                fraction=p.require("fraction"),
                measure=f"mean |logit interaction| of P({name})",
                label=f"additive on logit P({name})",
            )
            for q, name in (("cheese", "cheese"), ("top_right", "top-right"))
        )
    )
    result = sample.test(form)
    v = sample.values
    both = {q: np.mean(v[f"change_both_{q}"]) for q in ("cheese", "top_right")}
    summed = {q: np.mean(v[f"change_sum_{q}"]) for q in ("cheese", "top_right")}
    claim.add_note(
        "probability scale, mean change under both vs sum of the separate changes: "
        f"P(cheese) {both['cheese']:+.3f} vs {summed['cheese']:+.3f}; "
        f"P(top-right) {both['top_right']:+.3f} vs {summed['top_right']:+.3f}"
        + f" (logits of probabilities clipped to [{tr.LOGIT_CLIP:g}, 1 - {tr.LOGIT_CLIP:g}])"
    )
    claim.conclude(result)
