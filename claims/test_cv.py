"""CV: the cheese vector (CLAIMS.md). Each test: the sentence, the mazes, the statistic."""

from __future__ import annotations

from functools import partial

import pytest

from harness.experiments import cheese_vector as cv
from harness.stats import AllOf, Equivalence, PairedDifference, Trend

LAYER_NOTE = (
    "vector: activations at the profile's layer, mouse at the start, cheese minus no cheese"
)


@pytest.mark.claim("CV1", source="post 004; cheese-vector notebook (seed 000)")
def test_cv1_subtracting_the_cheese_vector(claim, subject):
    """Subtracting the cheese vector makes the agent ignore cheese.

    On mazes with a decision square, subtracting each maze's own cheese vector (c = -1) lowers
    P(cheese) at the decision square by more than the threshold.
    """
    p = claim.params
    claim.add_note(LAYER_NOTE)
    experiment = cv.OwnVector(subject, p.require("coefficient"))
    sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
    result = sample.test(PairedDifference("unpatched", "patched", threshold=p.require("threshold")))
    claim.attach_example(
        result, experiment, "vector field before and after subtracting the maze's own cheese vector"
    )
    claim.search_counterexamples(
        experiment.p_cheese_does_not_fall,
        subject.where(has_decision_square=True),
        "P(cheese) at the decision square does not fall",
        example=experiment,
    )
    claim.conclude(result)


@pytest.mark.claim("CV2", source="cheese-vector notebook (seed 000)")
def test_cv2_adding_the_cheese_vector(claim, subject):
    """Adding the cheese vector does (almost) nothing.

    With c = +1 the mean change of P(cheese) at the decision square lies within the declared
    margin (TOST); 'no significant difference' is not a pass.
    """
    p = claim.params
    margin = p.require("margin")
    experiment = cv.OwnVector(subject, p.require("coefficient"))
    sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
    result = sample.test(Equivalence("patched", "unpatched", margin=margin))
    claim.search_counterexamples(
        partial(experiment.p_cheese_moves_more_than, margin),
        subject.where(has_decision_square=True),
        f"adding the vector moves P(cheese) at the decision square by more than {margin:g}",
    )
    claim.conclude(result)


@pytest.mark.claim("CV3", source="cheese-vector notebook (seed 000)")
def test_cv3_no_transfer_to_other_cheese_locations(claim, subject):
    """The vector does not transfer to mazes with the cheese elsewhere.

    Maze A's vector subtracted in maze B (cheese at least min_offset cells away) changes
    P(cheese) within the margin, and much less than B's own vector does.
    """
    p = claim.params
    margin = p.require("margin")
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        cv.Transfer(subject, p.require("min_offset")),
        n=p.n,
    )
    form = AllOf(
        Equivalence("transfer_change", margin=margin, label="transfer ~ 0"),
        PairedDifference(
            "own_drop",
            "transfer_drop",
            threshold=margin,
            label="own drop exceeds transfer drop",
        ),
    )
    claim.conclude(sample.test(form))


@pytest.mark.claim("CV4", source="cheese-vector notebook (seed 000)")
@pytest.mark.parametrize("offset", (0, 1, 2, 3, 5), ids=lambda d: f"offset={d}")
def test_cv4_transfer_at_an_offset(claim, subject, offset):
    """The vector transfers to mazes with cheese at the same cell, degrading with offset.

    Maze A's vector lowers P(cheese) in maze B whose cheese is at A's cheese cell (offset 0); at
    offset d > 0 the drop is smaller than at offset 0.
    """
    p = claim.params
    levels = (0,) if offset == 0 else (0, offset)
    sample = claim.measure(
        subject.stream(has_decision_square=True), cv.OffsetTransfer(subject, levels), n=p.n
    )
    if offset == 0:
        form = PairedDifference("drop_offset_0", threshold=p.require("offset_zero_threshold"))
    else:
        form = PairedDifference(
            "drop_offset_0", f"drop_offset_{offset}", threshold=p.require("threshold")
        )
    claim.conclude(sample.test(form))


@pytest.mark.claim("CV4", source="cheese-vector notebook (seed 000)", variant="trend")
def test_cv4_transfer_degrades_with_offset(claim, subject):
    """Transfer of the cheese vector degrades with the offset of the cheese.

    Per source maze, the drop of P(cheese) falls as the target's cheese moves 0, 1, 2, 3, 5
    cells away (negative per-maze slope).
    """
    p = claim.params
    offsets = tuple(p.require("offsets"))
    sample = claim.measure(
        subject.stream(has_decision_square=True), cv.OffsetTransfer(subject, offsets), n=p.n
    )
    claim.conclude(sample.test(Trend("drops", levels=offsets, alternative="less")))


@pytest.mark.claim("CV5", source="cheese-vector notebook (seed 000)")
def test_cv5_averaged_vector(claim, subject):
    """An averaged cheese vector does not generalize.

    The mean of 100 mazes' cheese vectors, subtracted, lowers P(cheese) less than each maze's
    own vector does (paired, by more than the threshold).
    """
    p = claim.params
    experiment = cv.AveragedVector(subject, p.require("source_base_seed"), p.require("sources"))
    sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
    claim.conclude(
        sample.test(PairedDifference("own_drop", "average_drop", threshold=p.require("threshold")))
    )


@pytest.mark.claim("CV6", source="cheese-vector notebook (seed 000), noise baseline")
def test_cv6_random_vector_baseline(claim, subject):
    """A random vector of similar magnitude damages the policy everywhere; the cheese vector's
    change is local.

    Matched Gaussian noise changes the vector field more than the cheese vector, overall and off
    the cheese path; the cheese vector changes cells near the cheese path more than cells away
    from it.
    """
    p = claim.params
    thr = p.require("threshold")
    experiment = cv.NoiseVsCheese(subject, p.require("coefficient"), p.require("random_scale"))
    sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
    form = AllOf(
        PairedDifference("random_tv", "cheese_tv", threshold=thr, label="noise changes more"),
        PairedDifference(
            "random_tv_off_path",
            "cheese_tv_off_path",
            threshold=thr,
            label="noise changes more off the path",
        ),
        PairedDifference(
            "cheese_tv_on_path",
            "cheese_tv_off_path",
            threshold=thr,
            label="cheese vector acts near the path",
        ),
    )
    claim.conclude(sample.test(form))


@pytest.mark.claim("CV7", source="cheese-vector notebook (seed 000)")
def test_cv7_patched_resembles_no_cheese(claim, subject):
    """Patched-with-cheese resembles unpatched-without-cheese.

    The field of the patched policy with cheese is closer (mean total variation) to the
    unpatched field without cheese than the unpatched field with cheese is.
    """
    p = claim.params
    sample = claim.measure(
        subject.stream(has_decision_square=True), cv.PatchedVsNoCheese(subject), n=p.n
    )
    claim.conclude(
        sample.test(
            PairedDifference(
                "distance_unpatched", "distance_patched", threshold=p.require("threshold")
            )
        )
    )


@pytest.mark.claim("CV8", source="cheese-vector notebook (seed 000)")
def test_cv8_all_layers(claim, subject):
    """Patching every layer at once with c = -0.05 also removes cheese seeking.

    Adding c times the cheese-vector difference at every layer but the heads lowers P(cheese) at
    the decision square.
    """
    p = claim.params
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        cv.AllLayers(subject, p.require("coefficient")),
        n=p.n,
        batch_size=16,
    )
    claim.conclude(
        sample.test(PairedDifference("unpatched", "patched", threshold=p.require("threshold")))
    )
