"""RS: resampling channels from other mazes (CLAIMS.md). Statistic: the post's average change
in action probabilities over the vector field, per maze, paired (same vs different cheese
location); the mean total variation is recorded beside it."""

from __future__ import annotations

import pytest

from harness.experiments import resampling as rs
from harness.experiments.subject import ProfileFactMissing

STAT = "avg_change"


@pytest.fixture
def cheese_channels(subject):
    try:
        return subject.require_cheese_channels()
    except ProfileFactMissing as exc:
        pytest.skip(str(exc))


def measure(claim, subject, channels):
    claim.add_intervention(
        f"replace channels {list(channels)} with maps of other mazes (mouse at their start) "
        f"@ {subject.layer}"
    )
    return claim.measure(
        subject.stream(),
        lambda mazes: rs.resampling_changes(subject, mazes, channels),
        n=claim.params.n,
        batch_size=16,
    )


@pytest.mark.claim(
    id="RS1",
    title="For the cheese channels, same-location resampling changes behaviour less than "
    "different-location resampling",
    source="post 004 (random resampling)",
    hypothesis="Resampling the cheese channels from mazes with the cheese at the same cell "
    "changes the vector field less than resampling from mazes with the cheese elsewhere.",
)
def test_rs1_cheese_channels_depend_on_cheese_location(claim, subject, cheese_channels):
    sample = measure(claim, subject, cheese_channels)
    claim.conclude(
        sample.paired_difference(
            f"different_{STAT}", f"same_{STAT}", threshold=claim.params.require("threshold")
        )
    )


@pytest.mark.claim(
    id="RS2",
    title="For random non-cheese channels, the cheese location does not matter",
    source="post 004 (random resampling)",
    hypothesis="Resampling as many non-cheese channels changes the field equally (within the "
    "margin) whether the source mazes have the cheese at the same cell or elsewhere.",
)
def test_rs2_other_channels_ignore_cheese_location(claim, subject, cheese_channels):
    controls = subject.control_channels(len(cheese_channels))
    claim.add_note(f"control channels: {list(controls)}")
    sample = measure(claim, subject, controls)
    claim.conclude(
        sample.equivalence(
            f"different_{STAT}", f"same_{STAT}", margin=claim.params.require("margin")
        )
    )


def rs3_channels(profile) -> list[int]:
    return list(profile.claim("RS3").channels or ())


@pytest.mark.claim(
    id="RS3",
    title="A single cheese channel behaves like RS1; a non-cheese channel like RS2",
    source="post 004 (channel 55 vs channel 52)",
    hypothesis="For a cheese channel, different-location resampling changes more than "
    "same-location; for a non-cheese channel, the two agree within the margin.",
)
@pytest.mark.parametrize("position", [0, 1], ids=["first", "second"])
def test_rs3_single_channels(claim, subject, cheese_channels, position):
    channels = rs3_channels(claim.profile)
    if len(channels) <= position:
        pytest.skip("the profile lists no RS3 channels (e.g. channels = [55, 52])")
    channel = channels[position]
    kind = "a cheese" if channel in cheese_channels else "a non-cheese"
    claim.add_note(f"channel {channel} ({kind} channel)")
    sample = measure(claim, subject, [channel])
    p = claim.params
    if channel in cheese_channels:
        result = sample.paired_difference(
            f"different_{STAT}", f"same_{STAT}", threshold=p.require("threshold")
        )
    else:
        result = sample.equivalence(f"different_{STAT}", f"same_{STAT}", margin=p.require("margin"))
    claim.conclude(result)
