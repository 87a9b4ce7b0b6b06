"""CH: cheese-tracking channels (CLAIMS.md). Channels come from the active profile; on a
checkpoint whose profile lists none, these claims are skipped with the reason."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import pytest

from harness.experiments import channels as ch
from harness.profiles import ProfileError
from harness.stats import AllOf, Association, Magnitude, Ordering, PairedDifference, Ratio, Trend


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

    With the channel zeroed, P(cheese) at the decision square drops by more than the threshold,
    and the field away from the cheese path changes by less than the margin (mean total
    variation per maze, one-sided).
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
        Magnitude(
            "ablation_tv_off_path",
            margin=p.require("margin"),
            measure="mean total variation of the field off the cheese path",
            label="little change off the cheese path",
        ),
    )
    claim.conclude(sample.test(form))


def clamp_value(claim, subject, table: Mapping, key: str, channels, where: str) -> float:
    """A clamp's absolute value: ``<key>_value`` when the profile states one (a fact about
    that checkpoint's activation scale), else ``<key>_multiple`` x the channels' typical
    positive peak (:func:`channel_peak`), so that another checkpoint gets a comparable
    clamp. The value used is noted in the report."""
    value = table.get(f"{key}_value")
    if value is not None:
        claim.add_note(f"{key} clamp: {value:g} (absolute, from the profile)")
        return float(value)
    if table.get(f"{key}_multiple") is None:
        raise ProfileError(f"{where} needs {key}_value or {key}_multiple")
    multiple = float(table[f"{key}_multiple"])
    peak = ch.channel_peak(subject, channels)
    claim.add_note(
        f"{key} clamp: {multiple * peak:.4g} = {multiple:g} x the typical peak {peak:.4g} of "
        f"channels {list(channels)} (mean map maximum over {ch.PEAK_MAZES} reference mazes "
        f"from seed {ch.PEAK_SEED})"
    )
    return multiple * peak


def clamps(claim, subject, cheese_channels, only: str | None = None) -> dict[str, ch.Clamp]:
    """The retargeting clamps (the profile's shared ``retargeting`` table), or just one."""
    t = claim.shared("retargeting")
    sets = {
        "single": tuple(t.get("channels") or cheese_channels[:1]),
        "effective": tuple(subject.effective_channels or cheese_channels),
        "all": tuple(cheese_channels),
    }
    return {
        name: ch.Clamp(
            name, chans, clamp_value(claim, subject, t.values, name, chans, "[shared.retargeting]")
        )
        for name, chans in sets.items()
        if only in (None, name)
    }


@pytest.mark.claim("CH3", source="post 004 (retargeting)")
@pytest.mark.parametrize(
    "channel_set", ["single", "effective", "all"], ids=lambda s: f"channels={s}"
)
def test_ch3_retargeting(claim, subject, cheese_channels, channel_set):
    """Clamping one activation retargets the agent.

    With the cheese removed, setting the target's channel cell to a large value raises the
    normalized path probability to the target by more than the declared ratio.
    """
    p = claim.params
    clamp = clamps(claim, subject, cheese_channels, channel_set)[channel_set]
    experiment = ch.Retargeting(subject, (clamp,), p.require("targets"))
    sample = claim.measure(subject.stream(min_size=5), experiment, n=p.n)
    result = sample.test(Ratio(channel_set, "unpatched", threshold=1.0 + p.require("threshold")))
    claim.attach_example(result, experiment, "retargeting to the marked cell")
    claim.conclude(result)


@pytest.mark.claim("CH3", source="post 004 (retargeting)", variant="ordering")
def test_ch3_ordering_of_channel_sets(claim, subject, cheese_channels):
    """Retargeting works best with all cheese channels, then the effective ones, then one.

    Per maze, the log path-probability ratio orders all 11 > effective > single channel, each
    step by more than the declared log ratio.
    """
    p = claim.params
    sets = clamps(claim, subject, cheese_channels)
    if len({c.channels for c in sets.values()}) < 3:
        pytest.skip("the profile's channel sets are not three distinct sets; no ordering to test")
    experiment = ch.Retargeting(subject, tuple(sets.values()), p.require("targets"), True)
    sample = claim.measure(subject.stream(min_size=5), experiment, n=p.n)
    step = p.require("ordering_step")
    claim.conclude(sample.test(Ordering("all", "effective", "single", threshold=step)))


@pytest.mark.claim("CH3", source="post 004 (retargeting heat maps)", variant="distance")
def test_ch3_retargeting_falls_with_distance(claim, subject, cheese_channels):
    """Retargeting succeeds less far from the path to the top-right, and in larger mazes.

    Retargeting success (the normalized path probability to the target under the clamp,
    cheese removed) falls with the target's distance from the path to the top-right (mean
    per-maze slope below minus the declared slope) and with maze size (slope of each maze's
    mean success on its size, mazes as units).
    """
    p = claim.params
    clamp = clamps(claim, subject, cheese_channels, "all")["all"]
    experiment = ch.RetargetingByDistance(subject, clamp, p.require("distance_targets"))
    sample = claim.measure(subject.stream(min_size=7), experiment, n=p.n)
    form = AllOf(
        Trend(
            "success",
            levels="distance",
            alternative="less",
            threshold=-p.require("distance_slope"),
            level_name="steps from the top-right path",
            label="success falls with distance",
        ),
        Association(
            "size",
            "mean_success",
            alternative="less",
            threshold=-p.require("size_slope"),
            label="success falls with maze size",
        ),
    )
    claim.conclude(sample.test(form))


@pytest.mark.claim("CH4", source="post 004 ('basically the same')")
def test_ch4_only_the_positive_spot_matters(claim, subject, cheese_channels):
    """Only the positive spot matters.

    Replacing the channel by a negative constant everywhere except a positive spot at the target
    gives path probabilities that differ from clamping the spot alone by less than the margin
    (mean absolute difference per maze, one-sided).
    """
    p = claim.params
    single = clamps(claim, subject, cheese_channels, "single")["single"]
    where = "[claims.CH4.params]"
    cell = clamp_value(claim, subject, p.params, "cell", single.channels, where)
    spot = ch.Clamp("spot", single.channels, cell)
    background = clamp_value(claim, subject, p.params, "background", single.channels, where)
    experiment = ch.SpotOnBackground(subject, single, spot, p.require("targets"), background)
    sample = claim.measure(subject.stream(min_size=5), experiment, n=p.n)
    form = Magnitude(
        "replaced",
        "clamped",
        margin=p.require("margin"),
        measure="mean absolute difference |replaced - clamped| of path probabilities",
    )
    claim.conclude(sample.test(form))


@pytest.mark.claim("CH5", source="cheese-vector notebook (channel 55 experiments)")
@pytest.mark.parametrize("k", [2.0, 0.0, -1.0, -5.0], ids=lambda k: f"k={k:g}")
def test_ch5_scaling_the_channel(claim, subject, cheese_channels, k):
    """Scaling the cheese channel moves cheese seeking.

    Multiplying the channel by k > 1 raises P(cheese) at the decision square slightly (by more
    than ``up_threshold``); -1 <= k <= 0 lowers it below the unpatched value; k < -1 makes the
    agent avoid the cheese: P(cheese) falls below its cheese-absent baseline (the probability
    of the same first step with the cheese removed), which plain ablation does not do.
    """
    p = claim.params
    avoidance = k < -1
    experiment = ch.scaling(subject, primary_channel(p, cheese_channels), k, avoidance)
    sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
    thr = p.require("threshold")
    if k > 1:
        form = PairedDifference(
            "scaled", "unpatched", threshold=p.require("up_threshold"), label="P(cheese) up"
        )
    elif avoidance:
        form = PairedDifference(
            "no_cheese", "scaled", threshold=thr, label="below the cheese-absent baseline"
        )
    else:
        form = PairedDifference("unpatched", "scaled", threshold=thr, label="P(cheese) down")
    claim.conclude(sample.test(form))
