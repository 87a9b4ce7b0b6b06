"""CH: cheese-tracking channels (CLAIMS.md). Channels come from the active profile; on a
checkpoint whose profile lists none, these claims are skipped with the reason."""

from __future__ import annotations

import numpy as np
import pytest

from harness.experiments import channels as ch
from harness.experiments import counterexamples
from harness.experiments.activations import activations
from harness.experiments.examples import attach_example, edit_example
from harness.experiments.subject import ProfileFactMissing
from harness.interventions import SetCell
from harness.policy.geometry import channel_cell
from harness.stats import all_of, equivalence, paired_difference


@pytest.fixture
def cheese_channels(subject):
    try:
        return subject.require_cheese_channels()
    except ProfileFactMissing as exc:
        pytest.skip(str(exc))


def primary_channel(claim, cheese_channels) -> tuple[int, ...]:
    """The single channel a claim is about (profile ``channels``, e.g. [55])."""
    return tuple(claim.params.channels or cheese_channels[:1])


@pytest.mark.claim(
    id="CH1",
    title="Each cheese channel tracks the cheese location",
    source="post 004 ('channel 55 ... and ten others')",
    hypothesis="Moving the cheese over many cells of many mazes, each cheese channel's positive "
    "peak sits at the cheese's channel cell (within the tolerance) far more often than the "
    "peaks of the non-cheese channels do.",
)
def test_ch1_channels_track_the_cheese(claim, subject, cheese_channels):
    p = claim.params
    placements, tol, thr = p.require("placements"), p.require("tolerance"), p.require("threshold")
    sample = claim.measure(
        subject.stream(min_size=ch.MIN_TRACKING_SIZE),
        lambda mazes: ch.tracking(subject, mazes, placements, tol),
        n=p.n,
    )
    claim.add_note(
        f"{placements} cheese placements per maze (size >= {ch.MIN_TRACKING_SIZE}, cells not "
        f"within {tol} channel cell(s) of the mouse's), mouse at the start; a hit is a positive "
        f"peak within {tol} channel cell(s) of the cheese's (chance about "
        f"{(2 * tol + 1) ** 2 / 256:.3f})"
    )

    def analysis(v, alpha):
        parts = [
            paired_difference(
                v[f"hit_{c}"],
                v["hit_non_cheese"],
                threshold=thr,
                alpha=alpha,
                names=(f"hit_{c}", "hit_non_cheese"),
                label=f"channel {c}",
            )
            for c in cheese_channels
        ]
        return all_of(*parts) if len(parts) > 1 else parts[0]

    result = sample.analyze(analysis)
    first = cheese_channels[0]

    def peak_misses_the_cheese(maze):
        maps = activations(subject, [maze])[subject.layer][:, [first]]
        return not ch.peak_hits(maps, [channel_cell(maze.to_outer(maze.cheese))], tol)[0, 0]

    counterexamples.record(
        claim,
        counterexamples.search_for(claim, peak_misses_the_cheese, subject.where()),
        f"channel {first}'s positive peak is not at the cheese (tolerance {tol})",
    )
    claim.conclude(result)


@pytest.mark.claim(
    id="CH2",
    title="Zero-ablating the cheese channel subtly lowers cheese seeking and changes little else",
    source="post 004 ('reliably but subtly')",
    hypothesis="With the channel zeroed, P(cheese) at the decision square drops, and the "
    "field away from the cheese path changes by less than the margin (mean total variation).",
)
def test_ch2_zero_ablation(claim, subject, cheese_channels):
    p = claim.params
    channels = primary_channel(claim, cheese_channels)
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        lambda mazes: ch.ablation_effects(subject, mazes, channels),
        n=p.n,
    )
    claim.add_intervention(f"zero channels {list(channels)} @ {subject.layer}")
    thr, margin = p.require("threshold"), p.require("margin")

    def analysis(v, alpha):
        return all_of(
            paired_difference(
                v["unpatched"],
                v["ablated"],
                threshold=thr,
                alpha=alpha,
                names=("unpatched", "ablated"),
                label="P(cheese) drops",
            ),
            equivalence(
                v["ablation_tv_off_path"],
                margin=margin,
                alpha=alpha,
                label="little change off the cheese path",
            ),
        )

    claim.conclude(sample.analyze(analysis))


def clamps(claim, subject, cheese_channels) -> dict[str, ch.Clamp]:
    """The three retargeting clamps; values from the profile's CH3 section."""
    p = claim.profile.claim("CH3")
    effective = subject.effective_channels or cheese_channels
    return {
        "single": ("single", tuple(p.channels or cheese_channels[:1]), p.require("single_value")),
        "effective": ("effective", tuple(effective), p.require("effective_value")),
        "all": ("all", tuple(cheese_channels), p.require("all_value")),
    }


def geometric_mean_over_targets(out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.exp(np.log(np.clip(v, 1e-12, 1)).mean(1)) for k, v in out.items()}


@pytest.mark.claim(
    id="CH3",
    title="Clamping one activation retargets the agent",
    source="post 004 (retargeting)",
    hypothesis="With the cheese removed, setting the target's channel cell to a large value "
    "raises the normalized path probability to the target (ratio > 1).",
)
@pytest.mark.parametrize(
    "channel_set", ["single", "effective", "all"], ids=lambda s: f"channels={s}"
)
def test_ch3_retargeting(claim, subject, cheese_channels, channel_set):
    p = claim.params
    clamp = clamps(claim, subject, cheese_channels)[channel_set]
    k = p.require("targets")

    def metric(mazes):
        targets = [ch.retarget_cells(m, k) for m in mazes]
        return geometric_mean_over_targets(
            ch.path_probabilities(subject, mazes, targets, [None, clamp])
        )

    sample = claim.measure(subject.stream(min_size=5), metric, n=p.n)
    claim.add_intervention(
        f"set channels {list(clamp[1])} at the target's channel cell to {clamp[2]:g} "
        f"@ {subject.layer}"
    )
    result = sample.ratio(channel_set, "unpatched", threshold=1.0 + p.require("threshold"))

    def example(maze):
        target = ch.retarget_cells(maze, 1)[0]
        cell = channel_cell(maze.to_outer(target))
        clamp_iv = SetCell(subject.layer, clamp[1], cell, clamp[2])
        nm = maze.without_cheese()
        return edit_example(
            subject,
            nm,
            lambda owners: [clamp_iv],
            ("unpatched, no cheese", f"clamped ({channel_set})"),
            "CH3: retargeting",
            targets=[target],
        )

    attach_example(claim, result, example, "retargeting to the marked cell")
    claim.conclude(result)


@pytest.mark.claim(
    id="CH3",
    title="Retargeting works best with all cheese channels, then the effective ones, then one",
    source="post 004 (retargeting)",
    hypothesis="Per maze, the path-probability ratio orders all 11 > effective > single channel.",
)
@pytest.mark.parametrize("form", ["ordering"])
def test_ch3_ordering_of_channel_sets(claim, subject, cheese_channels, form):
    p = claim.params
    sets = clamps(claim, subject, cheese_channels)
    if len({s[1] for s in sets.values()}) < 3:
        pytest.skip("the profile's channel sets are not three distinct sets; no ordering to test")
    k = p.require("targets")

    def metric(mazes):
        targets = [ch.retarget_cells(m, k) for m in mazes]
        out = geometric_mean_over_targets(
            ch.path_probabilities(subject, mazes, targets, [None, *sets.values()])
        )
        return {name: np.log(out[name] / out["unpatched"]) for name in sets}

    sample = claim.measure(subject.stream(min_size=5), metric, n=p.n)
    claim.conclude(sample.ordering("all", "effective", "single"))


@pytest.mark.claim(
    id="CH3",
    title="Retargeting succeeds less far from the path to the top-right",
    source="post 004 (retargeting heat maps)",
    hypothesis="Per maze, the path-probability ratio for a target on the path to the top-right "
    "exceeds that for the target farthest from that path.",
)
@pytest.mark.parametrize("form", ["distance"])
def test_ch3_retargeting_falls_with_distance(claim, subject, cheese_channels, form):
    p = claim.params
    clamp = clamps(claim, subject, cheese_channels)["all"]

    def metric(mazes):
        targets = [ch.near_and_far_targets(m) for m in mazes]
        out = ch.path_probabilities(subject, mazes, targets, [None, clamp])
        logratio = np.log(np.clip(out["all"], 1e-12, 1) / np.clip(out["unpatched"], 1e-12, 1))
        return {
            "near": logratio[:, 0],
            "far": logratio[:, 1],
            "size": np.array([m.size for m in mazes]),
        }

    sample = claim.measure(subject.stream(min_size=7), metric, n=p.n)
    claim.conclude(sample.paired_difference("near", "far", threshold=p.require("threshold")))


@pytest.mark.claim(
    id="CH4",
    title="Only the positive spot matters",
    source="post 004 ('basically the same')",
    hypothesis="Replacing the channel by a negative constant everywhere except a positive spot "
    "at the target gives path probabilities within the margin of clamping the spot alone.",
)
def test_ch4_only_the_positive_spot_matters(claim, subject, cheese_channels):
    p = claim.params
    single = clamps(claim, subject, cheese_channels)["single"]
    spot = ("spot", single[1], p.require("cell_value"))
    k, bg = p.require("targets"), p.require("background")

    def metric(mazes):
        targets = [ch.retarget_cells(m, k) for m in mazes]
        clamped = ch.path_probabilities(subject, mazes, targets, [single])["single"]
        replaced = ch.path_probabilities(subject, mazes, targets, [spot], "replace", bg)["spot"]
        return {"replaced": replaced.mean(1), "clamped": clamped.mean(1)}

    sample = claim.measure(subject.stream(min_size=5), metric, n=p.n)
    claim.add_intervention(
        f"set channels {list(single[1])} to {bg:g} except the target = {spot[2]:g} "
        f"@ {subject.layer}"
    )
    claim.conclude(sample.equivalence("replaced", "clamped", margin=p.require("margin")))


@pytest.mark.claim(
    id="CH5",
    title="Scaling the cheese channel moves cheese seeking",
    source="cheese-vector notebook (channel 55 experiments)",
    hypothesis="Multiplying the channel by k > 1 raises P(cheese) at the decision square; "
    "k <= 0 lowers it below the unpatched value.",
)
@pytest.mark.parametrize("k", [2.0, 0.0, -1.0, -5.0], ids=lambda k: f"k={k:g}")
def test_ch5_scaling_the_channel(claim, subject, cheese_channels, k):
    p = claim.params
    channels = primary_channel(claim, cheese_channels)
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        lambda mazes: ch.scaling_effects(subject, mazes, channels, k),
        n=p.n,
    )
    claim.add_intervention(f"scale channels {list(channels)} by {k:g} @ {subject.layer}")
    thr = p.require("threshold")
    if k > 1:
        result = sample.paired_difference("scaled", "unpatched", threshold=thr)
    else:
        result = sample.paired_difference("unpatched", "scaled", threshold=thr)
    claim.conclude(result)
