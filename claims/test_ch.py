"""CH: cheese-tracking channels (CLAIMS.md). Channels come from the active profile; on a
checkpoint whose profile lists none, these claims are skipped with the reason."""

from __future__ import annotations

from functools import partial

import pytest

from harness.experiments import channels as ch
from harness.stats import AllOf, Equivalence, Ordering, PairedDifference, Ratio


def primary_channel(params, cheese_channels) -> tuple[int, ...]:
    """The single channel a claim is about (its ``channels``, e.g. [55]; else the first)."""
    return tuple(params.channels or cheese_channels[:1])


@pytest.mark.claim("CH1", source="post 004 ('channel 55 ... and ten others')")
def test_ch1_channels_track_the_cheese(claim, subject, cheese_channels):
    """Each cheese channel tracks the cheese location.

    Moving the cheese over many cells of many mazes, each cheese channel's positive peak sits at
    the cheese's channel cell (within the tolerance) far more often than the peaks of the
    non-cheese channels do.
    """
    p = claim.params
    placements, tol, thr = p.require("placements"), p.require("tolerance"), p.require("threshold")
    tracking = ch.Tracking(subject, placements, tol)
    sample = claim.measure(subject.stream(min_size=ch.MIN_TRACKING_SIZE), tracking, n=p.n)
    claim.add_note(
        f"{placements} cheese placements per maze (size >= {ch.MIN_TRACKING_SIZE}, cells not "
        f"within {tol} channel cell(s) of the mouse's), mouse at the start; a hit is a positive "
        f"peak within {tol} channel cell(s) of the cheese's (chance about "
        f"{(2 * tol + 1) ** 2 / 256:.3f})"
    )
    result = sample.test(
        AllOf(
            *(
                PairedDifference(f"hit_{c}", "hit_non_cheese", threshold=thr, label=f"channel {c}")
                for c in cheese_channels
            )
        )
    )
    first = cheese_channels[0]
    claim.search_counterexamples(
        partial(tracking.peak_misses_the_cheese, first),
        subject.where(),
        f"channel {first}'s positive peak is not at the cheese (tolerance {tol})",
    )
    claim.conclude(result)


@pytest.mark.claim("CH2", source="post 004 ('reliably but subtly')")
def test_ch2_zero_ablation(claim, subject, cheese_channels):
    """Zero-ablating the cheese channel subtly lowers cheese seeking and changes little else.

    With the channel zeroed, P(cheese) at the decision square drops, and the field away from the
    cheese path changes by less than the margin (mean total variation).
    """
    p = claim.params
    experiment = ch.zero_ablation(subject, primary_channel(p, cheese_channels))
    sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
    form = AllOf(
        PairedDifference(
            "unpatched",
            "ablated",
            threshold=p.require("threshold"),
            label="P(cheese) drops",
        ),
        Equivalence(
            "ablation_tv_off_path",
            margin=p.require("margin"),
            label="little change off the cheese path",
        ),
    )
    claim.conclude(sample.test(form))


def clamps(claim, subject, cheese_channels) -> dict[str, ch.Clamp]:
    """The three retargeting clamps (the profile's shared ``retargeting`` table)."""
    t = claim.shared("retargeting")
    effective = subject.effective_channels or cheese_channels
    single = tuple(t.get("channels") or cheese_channels[:1])
    return {
        "single": ch.Clamp("single", single, t.require("single_value")),
        "effective": ch.Clamp("effective", tuple(effective), t.require("effective_value")),
        "all": ch.Clamp("all", tuple(cheese_channels), t.require("all_value")),
    }


@pytest.mark.claim("CH3", source="post 004 (retargeting)")
@pytest.mark.parametrize(
    "channel_set", ["single", "effective", "all"], ids=lambda s: f"channels={s}"
)
def test_ch3_retargeting(claim, subject, cheese_channels, channel_set):
    """Clamping one activation retargets the agent.

    With the cheese removed, setting the target's channel cell to a large value raises the
    normalized path probability to the target (ratio > 1).
    """
    p = claim.params
    clamp = clamps(claim, subject, cheese_channels)[channel_set]
    experiment = ch.Retargeting(subject, (clamp,), p.require("targets"))
    sample = claim.measure(subject.stream(min_size=5), experiment, n=p.n)
    result = sample.test(Ratio(channel_set, "unpatched", threshold=1.0 + p.require("threshold")))
    claim.attach_example(result, experiment, "retargeting to the marked cell")
    claim.conclude(result)


@pytest.mark.claim("CH3", source="post 004 (retargeting)", variant="ordering")
def test_ch3_ordering_of_channel_sets(claim, subject, cheese_channels):
    """Retargeting works best with all cheese channels, then the effective ones, then one.

    Per maze, the path-probability ratio orders all 11 > effective > single channel.
    """
    p = claim.params
    sets = clamps(claim, subject, cheese_channels)
    if len({c.channels for c in sets.values()}) < 3:
        pytest.skip("the profile's channel sets are not three distinct sets; no ordering to test")
    experiment = ch.Retargeting(subject, tuple(sets.values()), p.require("targets"), True)
    sample = claim.measure(subject.stream(min_size=5), experiment, n=p.n)
    claim.conclude(sample.test(Ordering("all", "effective", "single")))


@pytest.mark.claim("CH3", source="post 004 (retargeting heat maps)", variant="distance")
def test_ch3_retargeting_falls_with_distance(claim, subject, cheese_channels):
    """Retargeting succeeds less far from the path to the top-right.

    Per maze, the path-probability ratio for a target on the path to the top-right exceeds that
    for the target farthest from that path.
    """
    p = claim.params
    experiment = ch.RetargetingByDistance(subject, clamps(claim, subject, cheese_channels)["all"])
    sample = claim.measure(subject.stream(min_size=7), experiment, n=p.n)
    claim.conclude(sample.test(PairedDifference("near", "far", threshold=p.require("threshold"))))


@pytest.mark.claim("CH4", source="post 004 ('basically the same')")
def test_ch4_only_the_positive_spot_matters(claim, subject, cheese_channels):
    """Only the positive spot matters.

    Replacing the channel by a negative constant everywhere except a positive spot at the target
    gives path probabilities within the margin of clamping the spot alone.
    """
    p = claim.params
    single = clamps(claim, subject, cheese_channels)["single"]
    spot = ch.Clamp("spot", single.channels, p.require("cell_value"))
    experiment = ch.SpotOnBackground(
        subject, single, spot, p.require("targets"), p.require("background")
    )
    sample = claim.measure(subject.stream(min_size=5), experiment, n=p.n)
    claim.conclude(sample.test(Equivalence("replaced", "clamped", margin=p.require("margin"))))


@pytest.mark.claim("CH5", source="cheese-vector notebook (channel 55 experiments)")
@pytest.mark.parametrize("k", [2.0, 0.0, -1.0, -5.0], ids=lambda k: f"k={k:g}")
def test_ch5_scaling_the_channel(claim, subject, cheese_channels, k):
    """Scaling the cheese channel moves cheese seeking.

    Multiplying the channel by k > 1 raises P(cheese) at the decision square; k <= 0 lowers it
    below the unpatched value.
    """
    p = claim.params
    experiment = ch.scaling(subject, primary_channel(p, cheese_channels), k)
    sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
    thr = p.require("threshold")
    if k > 1:
        form = PairedDifference("scaled", "unpatched", threshold=thr)
    else:
        form = PairedDifference("unpatched", "scaled", threshold=thr)
    claim.conclude(sample.test(form))
