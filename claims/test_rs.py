"""RS: resampling channels from other mazes (CLAIMS.md). Statistic: the post's average change
in action probabilities over the vector field, per maze, paired (same vs different cheese
location); the mean total variation is recorded beside it."""

from __future__ import annotations

import pytest

from harness.experiments import resampling as rs
from harness.stats import Equivalence, PairedDifference

STAT = "avg_change"


def measure(claim, subject, channels):
    """The resampled fields' changes; each channel's map comes from another maze (mouse at
    its start) with the cheese at the same outer cell, or elsewhere."""
    return claim.measure(
        subject.stream(), rs.Resampling(subject, channels), n=claim.params.n, batch_size=16
    )


def depends_on_location(claim) -> PairedDifference:
    """Different-location resampling changes the field more than same-location."""
    return PairedDifference(
        f"different_{STAT}", f"same_{STAT}", threshold=claim.params.require("threshold")
    )


def location_does_not_matter(claim) -> Equivalence:
    """Same- and different-location resampling change the field alike (within the margin)."""
    return Equivalence(f"different_{STAT}", f"same_{STAT}", margin=claim.params.require("margin"))


@pytest.mark.claim("RS1", source="post 004 (random resampling)")
def test_rs1_cheese_channels_depend_on_cheese_location(claim, subject, cheese_channels):
    """For the cheese channels, same-location resampling changes behaviour less than
    different-location resampling.

    Resampling the cheese channels from mazes with the cheese at the same cell changes the
    vector field less than resampling from mazes with the cheese elsewhere.
    """
    claim.conclude(measure(claim, subject, cheese_channels).test(depends_on_location(claim)))


@pytest.mark.claim("RS2", source="post 004 (random resampling)")
def test_rs2_other_channels_ignore_cheese_location(claim, subject, cheese_channels):
    """For random non-cheese channels, the cheese location does not matter.

    Resampling as many non-cheese channels changes the field equally (within the margin) whether
    the source mazes have the cheese at the same cell or elsewhere.
    """
    controls = subject.control_channels(len(cheese_channels))
    claim.add_note(f"control channels: {list(controls)}")
    claim.conclude(measure(claim, subject, controls).test(location_does_not_matter(claim)))


@pytest.mark.claim("RS3", source="post 004 (channel 55 vs channel 52)")
@pytest.mark.parametrize("position", [0, 1], ids=["first", "second"])
def test_rs3_single_channels(claim, subject, cheese_channels, position):
    """A single cheese channel behaves like RS1; a non-cheese channel like RS2.

    For a cheese channel, different-location resampling changes more than same-location; for a
    non-cheese channel, the two agree within the margin.
    """
    channels = list(claim.params.channels or ())
    if len(channels) <= position:
        pytest.skip("the profile lists no RS3 channels (e.g. channels = [55, 52])")
    channel = channels[position]
    kind = "a cheese" if channel in cheese_channels else "a non-cheese"
    claim.add_note(f"channel {channel} ({kind} channel)")
    form = depends_on_location if channel in cheese_channels else location_does_not_matter
    claim.conclude(measure(claim, subject, [channel]).test(form(claim)))
