"""CV: the cheese vector (CLAIMS.md). Each test: the sentence, the mazes, the statistic."""

from __future__ import annotations

import functools

import pytest

from harness.experiments import cheese_vector as cv
from harness.experiments import counterexamples
from harness.experiments.activations import cheese_vector
from harness.experiments.examples import attach_example, edit_example
from harness.experiments.measure import per_maze_vector
from harness.stats import all_of, equivalence, paired_difference

LAYER_NOTE = (
    "vector: activations at the profile's layer, mouse at the start, cheese minus no cheese"
)


@pytest.mark.claim(
    id="CV1",
    title="Subtracting the cheese vector makes the agent ignore cheese",
    source="post 004; cheese-vector notebook (seed 000)",
    hypothesis="On mazes with a decision square, subtracting each maze's own cheese vector "
    "(c = -1) lowers P(cheese) at the decision square by more than the threshold.",
)
def test_cv1_subtracting_the_cheese_vector(claim, subject):
    p = claim.params
    coeff = p.require("coefficient")
    claim.add_note(LAYER_NOTE)
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        lambda mazes: cv.own_vector_decisions(subject, mazes, coeff),
        n=p.n,
    )
    claim.add_intervention(f"add {coeff:g} x own cheese_vector @ {subject.layer}")
    result = sample.paired_difference("unpatched", "patched", threshold=p.require("threshold"))
    attach_example(
        claim,
        result,
        lambda maze: edit_example(
            subject,
            maze,
            per_maze_vector(subject, cheese_vector(subject, [maze]), coeff, "cv"),
            ("unpatched", f"c = {coeff:g}"),
            "CV1: subtracting the cheese vector",
        ),
        "vector field before and after subtracting the maze's own cheese vector",
    )

    def p_cheese_does_not_fall(maze):
        d = cv.own_vector_decisions(subject, [maze], coeff)
        return d["patched"][0] >= d["unpatched"][0]

    counterexamples.record(
        claim,
        counterexamples.search_for(
            claim, p_cheese_does_not_fall, subject.where(has_decision_square=True)
        ),
        "P(cheese) at the decision square does not fall",
        lambda maze: edit_example(
            subject,
            maze,
            per_maze_vector(subject, cheese_vector(subject, [maze]), coeff, "cv"),
            ("unpatched", f"c = {coeff:g}"),
            "CV1 counterexample",
        ),
    )
    claim.conclude(result)


@pytest.mark.claim(
    id="CV2",
    title="Adding the cheese vector does (almost) nothing",
    source="cheese-vector notebook (seed 000)",
    hypothesis="With c = +1 the mean change of P(cheese) at the decision square lies within "
    "the declared margin (TOST); 'no significant difference' is not a pass.",
)
def test_cv2_adding_the_cheese_vector(claim, subject):
    p = claim.params
    coeff = p.require("coefficient")
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        lambda mazes: cv.own_vector_decisions(subject, mazes, coeff),
        n=p.n,
    )
    claim.add_intervention(f"add {coeff:g} x own cheese_vector @ {subject.layer}")
    margin = p.require("margin")
    result = sample.equivalence("patched", "unpatched", margin=margin)

    def p_cheese_moves(maze):
        d = cv.own_vector_decisions(subject, [maze], coeff)
        return abs(d["patched"][0] - d["unpatched"][0]) > margin

    counterexamples.record(
        claim,
        counterexamples.search_for(claim, p_cheese_moves, subject.where(has_decision_square=True)),
        f"adding the vector moves P(cheese) at the decision square by more than {margin:g}",
    )
    claim.conclude(result)


@pytest.mark.claim(
    id="CV3",
    title="The vector does not transfer to mazes with the cheese elsewhere",
    source="cheese-vector notebook (seed 000)",
    hypothesis="Maze A's vector subtracted in maze B (cheese at least min_offset cells away) "
    "changes P(cheese) within the margin, and much less than B's own vector does.",
)
def test_cv3_no_transfer_to_other_cheese_locations(claim, subject):
    p = claim.params
    margin, min_offset = p.require("margin"), p.require("min_offset")
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        lambda mazes: cv.transfer_decisions(subject, mazes, min_offset),
        n=p.n,
    )
    claim.add_intervention(f"add -1 x cheese_vector of another maze @ {subject.layer}")

    def analysis(v, alpha):
        return all_of(
            equivalence(v["transfer_change"], margin=margin, alpha=alpha, label="transfer ~ 0"),
            paired_difference(
                v["own_drop"],
                v["transfer_drop"],
                threshold=margin,
                alpha=alpha,
                names=("own_drop", "transfer_drop"),
                label="own drop exceeds transfer drop",
            ),
        )

    claim.conclude(sample.analyze(analysis))


OFFSETS = (0, 1, 2, 3, 5)


@pytest.mark.claim(
    id="CV4",
    title="The vector transfers to mazes with cheese at the same cell, degrading with offset",
    source="cheese-vector notebook (seed 000)",
    hypothesis="Maze A's vector lowers P(cheese) in maze B whose cheese is at A's cheese cell "
    "(offset 0); at offset d > 0 the drop is smaller than at offset 0.",
)
@pytest.mark.parametrize("offset", OFFSETS, ids=lambda d: f"offset={d}")
def test_cv4_transfer_at_an_offset(claim, subject, offset):
    p = claim.params
    levels = (0,) if offset == 0 else (0, offset)
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        lambda mazes: cv.offset_transfer_drops(subject, mazes, levels),
        n=p.n,
    )
    claim.add_intervention(f"add -1 x cheese_vector of a maze with cheese {offset} cells away")
    if offset == 0:
        result = sample.paired_difference(
            "drop_offset_0", threshold=p.require("offset_zero_threshold")
        )
    else:
        result = sample.paired_difference(
            "drop_offset_0", f"drop_offset_{offset}", threshold=p.require("threshold")
        )
    claim.conclude(result)


@pytest.mark.claim(
    id="CV4",
    title="Transfer of the cheese vector degrades with the offset of the cheese",
    source="cheese-vector notebook (seed 000)",
    hypothesis="Per source maze, the drop of P(cheese) falls as the target's cheese moves "
    "0, 1, 2, 3, 5 cells away (negative per-maze slope).",
)
@pytest.mark.parametrize("form", ["trend"])
def test_cv4_transfer_degrades_with_offset(claim, subject, form):
    p = claim.params
    offsets = tuple(p.require("offsets"))
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        lambda mazes: cv.offset_transfer_drops(subject, mazes, offsets),
        n=p.n,
    )
    claim.conclude(sample.trend("drops", levels=list(offsets), alternative="less"))


@pytest.mark.claim(
    id="CV5",
    title="An averaged cheese vector does not generalize",
    source="cheese-vector notebook (seed 000)",
    hypothesis="The mean of 100 mazes' cheese vectors, subtracted, lowers P(cheese) less than "
    "each maze's own vector does (paired, by more than the threshold).",
)
def test_cv5_averaged_vector(claim, subject):
    p = claim.params
    average = functools.cache(
        lambda: cv.mean_cheese_vector(subject, p.require("source_base_seed"), p.require("sources"))
    )
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        lambda mazes: cv.averaged_vector_decisions(subject, mazes, average()),
        n=p.n,
    )
    claim.add_intervention(
        f"add -1 x mean of {p.require('sources')} cheese vectors (seeds from "
        f"{p.require('source_base_seed')}) @ {subject.layer}"
    )
    claim.conclude(
        sample.paired_difference("own_drop", "average_drop", threshold=p.require("threshold"))
    )


@pytest.mark.claim(
    id="CV6",
    title="A random vector of similar magnitude damages the policy everywhere; the cheese "
    "vector's change is local",
    source="cheese-vector notebook (seed 000), noise baseline",
    hypothesis="Matched Gaussian noise changes the vector field more than the cheese vector, "
    "overall and off the cheese path; the cheese vector changes cells near the cheese path "
    "more than cells away from it.",
)
def test_cv6_random_vector_baseline(claim, subject):
    p = claim.params
    coeff, scale, thr = p.require("coefficient"), p.require("random_scale"), p.require("threshold")
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        lambda mazes: cv.noise_vs_cheese_fields(subject, mazes, coeff, scale),
        n=p.n,
    )
    claim.add_intervention(f"add {coeff:g} x Gaussian vector (std {scale}) @ {subject.layer}")

    def analysis(v, alpha):
        return all_of(
            paired_difference(
                v["random_tv"],
                v["cheese_tv"],
                threshold=thr,
                alpha=alpha,
                names=("random_tv", "cheese_tv"),
                label="noise changes more",
            ),
            paired_difference(
                v["random_tv_off_path"],
                v["cheese_tv_off_path"],
                threshold=thr,
                alpha=alpha,
                names=("random_off", "cheese_off"),
                label="noise changes more off the path",
            ),
            paired_difference(
                v["cheese_tv_on_path"],
                v["cheese_tv_off_path"],
                threshold=thr,
                alpha=alpha,
                names=("cheese_on", "cheese_off"),
                label="cheese vector acts near the path",
            ),
        )

    claim.conclude(sample.analyze(analysis))


@pytest.mark.claim(
    id="CV7",
    title="Patched-with-cheese resembles unpatched-without-cheese",
    source="cheese-vector notebook (seed 000)",
    hypothesis="The field of the patched policy with cheese is closer (mean total variation) "
    "to the unpatched field without cheese than the unpatched field with cheese is.",
)
def test_cv7_patched_resembles_no_cheese(claim, subject):
    p = claim.params
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        lambda mazes: cv.patched_vs_no_cheese_fields(subject, mazes),
        n=p.n,
    )
    claim.add_intervention(f"add -1 x own cheese_vector @ {subject.layer}")
    claim.conclude(
        sample.paired_difference(
            "distance_unpatched", "distance_patched", threshold=p.require("threshold")
        )
    )


@pytest.mark.claim(
    id="CV8",
    title="Patching every layer at once with c = -0.05 also removes cheese seeking",
    source="cheese-vector notebook (seed 000)",
    hypothesis="Adding c times the cheese-vector difference at every layer but the heads "
    "lowers P(cheese) at the decision square.",
)
def test_cv8_all_layers(claim, subject):
    p = claim.params
    coeff = p.require("coefficient")
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        lambda mazes: cv.all_layer_decisions(subject, mazes, coeff),
        n=p.n,
        batch_size=16,
    )
    claim.add_intervention(
        f"add {coeff:g} x own cheese-vector difference @ every layer but the heads"
    )
    claim.conclude(
        sample.paired_difference("unpatched", "patched", threshold=p.require("threshold"))
    )
