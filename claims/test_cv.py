"""CV: the cheese vector (CLAIMS.md). Each test: the sentence, the mazes, the statistic."""

from __future__ import annotations

from functools import partial

import pytest

from harness.experiments import cheese_vector as cv
from harness.stats import AllOf, Magnitude, PairedDifference, Trend

LAYER_NOTE = (
    "vector: activations at the profile's layer, mouse at the start, cheese minus no cheese"
)


def cheese_seeking_removed(p) -> PairedDifference:
    """CV1 and CV8: patched P(cheese) at the DS below (1 - relative_drop) x unpatched, on
    average (and beyond the threshold)."""
    return PairedDifference(
        "unpatched",
        "patched",
        relative=p.require("relative_drop"),
        threshold=p.require("threshold"),
    )


@pytest.mark.claim("CV1", source="post 004; cheese-vector notebook (seed 000)")
def test_cv1_subtracting_the_cheese_vector(claim, subject):
    """Subtracting the cheese vector makes the agent ignore cheese.

    On mazes with a decision square, subtracting each maze's own cheese vector (c = -1) lowers
    P(cheese) at the decision square by more than the declared share of its unpatched value
    (on average), and by more than the threshold.
    """
    p = claim.params
    claim.add_note(LAYER_NOTE)
    experiment = cv.OwnVector(subject, p.require("coefficient"))
    sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
    result = sample.test(cheese_seeking_removed(p))
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

    With c = +1 the per-maze size of the change, mean |P(cheese) patched - unpatched| at the
    decision square, lies below the declared margin (one-sided); rises and falls do not
    cancel, and 'no significant difference' is not a pass.
    """
    p = claim.params
    margin = p.require("margin")
    experiment = cv.OwnVector(subject, p.require("coefficient"))
    sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
    result = sample.test(
        Magnitude(
            "patched",
            "unpatched",
            margin=margin,
            measure="mean absolute change |P(cheese) patched - unpatched| at the DS",
        )
    )
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
    P(cheese) in B by a small fraction of what B's own vector does: mean |change| below the
    per-maze allowance max(margin, fraction x own drop); and B's own vector has a
    meaningful effect (drop above the threshold), so "much smaller" compares with something.
    """
    p = claim.params
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        cv.Transfer(subject, p.require("min_offset")),
        n=p.n,
    )
    form = AllOf(
        Magnitude(
            "transfer_change",
            margin=p.require("margin"),
            relative_to="own_drop",
            fraction=p.require("fraction"),
            measure="mean absolute change |P(cheese)| under another maze's vector",
            label="no transfer",
        ),
        PairedDifference(
            "own_drop", threshold=p.require("threshold"), label="own vector's drop is meaningful"
        ),
    )
    claim.conclude(sample.test(form))


@pytest.mark.claim("CV4", source="cheese-vector notebook (seed 000)")
@pytest.mark.parametrize("offset", (0, 1, 2, 3, 5), ids=lambda d: f"offset={d}")
def test_cv4_transfer_at_an_offset(claim, subject, offset):
    """The vector transfers to mazes with cheese at the same cell, degrading with offset.

    Maze A's vector lowers P(cheese) in maze B whose cheese is at A's cheese cell (offset 0)
    by more than the threshold and by at least the declared share of B's own vector's drop;
    it still works (drop above the threshold) at offsets up to ``works_up_to``; beyond that
    the drop is smaller than at offset 0 by more than the threshold.
    """
    p = claim.params
    thr = p.require("threshold")
    levels = (0,) if offset == 0 else (0, offset)
    experiment = cv.OffsetTransfer(subject, levels, own_vector=offset == 0)
    sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
    if offset == 0:
        share = p.require("own_share")
        form = AllOf(
            PairedDifference("drop_offset_0", threshold=thr, label="transfer works"),
            PairedDifference(
                "own_drop",
                "drop_offset_0",
                relative=1.0 - share,
                alternative="less",
                label=f"drop at least {share:g} x the own vector's",
            ),
        )
    elif offset <= p.require("works_up_to"):
        form = PairedDifference(f"drop_offset_{offset}", threshold=thr, label="transfer works")
    else:
        form = PairedDifference(
            "drop_offset_0", f"drop_offset_{offset}", threshold=thr, label="transfer degrades"
        )
    claim.conclude(sample.test(form))


@pytest.mark.claim("CV4", source="cheese-vector notebook (seed 000)", variant="trend")
def test_cv4_transfer_degrades_with_offset(claim, subject):
    """Transfer of the cheese vector degrades with the offset of the cheese.

    Per source maze, the drop of P(cheese) falls as the target's cheese moves 0, 1, 2, 3, 5
    cells away: the mean per-maze slope lies below minus the declared slope.
    """
    p = claim.params
    offsets = tuple(p.require("offsets"))
    sample = claim.measure(
        subject.stream(has_decision_square=True), cv.OffsetTransfer(subject, offsets), n=p.n
    )
    slope = p.require("slope")
    claim.conclude(
        sample.test(
            Trend(
                "drops", levels=offsets, alternative="less", threshold=-slope, level_name="offset"
            )
        )
    )


@pytest.mark.claim("CV5", source="cheese-vector notebook (seed 000)")
def test_cv5_averaged_vector(claim, subject):
    """An averaged cheese vector does not generalize.

    The mean of 100 mazes' cheese vectors, subtracted, lowers P(cheese) well below what each
    maze's own vector does: on average by less than the declared share of the own drop.
    """
    p = claim.params
    experiment = cv.AveragedVector(subject, p.require("source_base_seed"), p.require("sources"))
    sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
    share = p.require("own_share")
    claim.conclude(
        sample.test(
            PairedDifference(
                "own_drop",
                "average_drop",
                relative=share,
                threshold=p.require("threshold"),
                label=f"averaged drop below {1 - share:g} x the own drop",
            )
        )
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
    thr, local = p.require("threshold"), p.require("local_threshold")
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
            threshold=local,
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
    the decision square by more than the declared share of its unpatched value.
    """
    p = claim.params
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        cv.AllLayers(subject, p.require("coefficient")),
        n=p.n,
        batch_size=16,
    )
    claim.conclude(sample.test(cheese_seeking_removed(p)))
