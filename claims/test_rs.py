"""RS: resampling channels from other mazes (CLAIMS.md). Statistic: the post's average change
in action probabilities over the vector field, per maze, paired (same vs different cheese
location); the mean total variation is recorded beside it."""

from __future__ import annotations

import pytest

from harness.experiments import resampling as rs
from harness.stats import Magnitude, PairedDifference

STAT = "avg_change"


def measure(claim, subject, channels, reference=()):
    """The resampled fields' changes; each channel's map comes from another maze (mouse at
    its start) with the cheese at the same outer cell, or elsewhere. ``reference`` channels
    are resampled on the same mazes for a margin stated relative to their effect."""
    return claim.measure(
        subject.stream(),
        rs.Resampling(subject, tuple(channels), tuple(reference)),
        n=claim.params.n,
        batch_size=16,
    )


def depends_on_location(claim) -> PairedDifference:
    """Different-location resampling changes the field more than same-location: the
    same-location change is below (1 - relative) x the different-location one."""
    p = claim.params
    return PairedDifference(
        f"different_{STAT}",
        f"same_{STAT}",
        relative=p.require("relative"),
        threshold=p.require("threshold"),
        label="location matters",
    )


def location_does_not_matter(claim, relative: bool) -> Magnitude:
    """Per maze, |different - same| is below max(margin, fraction x the reference channels'
    different - same): the location effect is a small fraction of the cheese channels'."""
    p = claim.params
    return Magnitude(
        f"different_{STAT}",
        f"same_{STAT}",
        margin=p.require("margin"),
        relative_to=(f"reference_different_{STAT}", f"reference_same_{STAT}") if relative else None,
        fraction=p.require("fraction") if relative else 0.0,
        measure="mean absolute difference |different - same| of the average change",
        label="location does not matter",
    )


@pytest.mark.claim("RS1", source="post 004 (random resampling)")
def test_rs1_cheese_channels_depend_on_cheese_location(claim, subject, cheese_channels):
    """For the cheese channels, same-location resampling changes behaviour less than
    different-location resampling.

    Resampling the cheese channels from mazes with the cheese at the same cell changes the
    vector field by less than (1 - relative) times what resampling from mazes with the cheese
    elsewhere changes it.
    """
    claim.conclude(measure(claim, subject, cheese_channels).test(depends_on_location(claim)))


@pytest.mark.claim("RS2", source="post 004 (random resampling)")
def test_rs2_other_channels_ignore_cheese_location(claim, subject, cheese_channels):
    """For random non-cheese channels, the cheese location does not matter.

    Resampling as many randomly drawn non-cheese channels, the per-maze size of the
    difference between same- and different-location resampling is a small fraction of the
    cheese channels' location effect on the same mazes (never below the absolute margin).
    """
    seed = int(claim.params.require("control_seed"))
    controls = subject.control_channels(len(cheese_channels), seed)
    claim.add_note(
        f"control channels {list(controls)}: drawn at random (seed {seed}) from the non-cheese "
        f"channels; reference: the cheese channels {list(cheese_channels)} on the same mazes"
    )
    sample = measure(claim, subject, controls, reference=cheese_channels)
    claim.conclude(sample.test(location_does_not_matter(claim, relative=True)))


@pytest.mark.claim("RS3", source="post 004 (channel 55 vs channel 52)")
@pytest.mark.parametrize("position", [0, 1], ids=["first", "second"])
def test_rs3_single_channels(claim, subject, cheese_channels, position):
    """A single cheese channel behaves like RS1; a non-cheese channel like RS2.

    For a cheese channel, different-location resampling changes more than same-location; for a
    non-cheese channel the per-maze size of the difference is a small fraction of the first
    (cheese) channel's effect on the same mazes, never below the margin.
    """
    p = claim.params
    channels = list(p.channels or ())
    if not channels:
        pytest.skip("the profile lists no RS3 channels (e.g. channels = [55, 52])")
    if len(channels) == 1:  # the non-cheese channel: drawn at random, as the RS2 controls
        seed = int(p.require("control_seed"))
        channels += subject.control_channels(1, seed)
        claim.add_note(f"non-cheese channel {channels[1]} drawn at random (seed {seed})")
    channel = channels[position]
    if channel in cheese_channels:
        claim.add_note(f"channel {channel} (a cheese channel)")
        sample = measure(claim, subject, [channel])
        claim.conclude(sample.test(depends_on_location(claim)))
        return
    reference = [c for c in channels[:position] if c in cheese_channels][:1]
    claim.add_note(
        f"channel {channel} (a non-cheese channel); reference: "
        + (f"cheese channel {reference[0]} on the same mazes" if reference else "none (floor)")
    )
    sample = measure(claim, subject, [channel], reference=reference)
    claim.conclude(sample.test(location_does_not_matter(claim, relative=bool(reference))))
