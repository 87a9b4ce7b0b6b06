"""Fixtures shared by the claim families."""

from __future__ import annotations

import pytest

from harness.claim import Claim
from harness.experiments.discover import discovery_seeds
from harness.experiments.subject import ProfileFactMissing, Subject
from harness.profiles import Profile


@pytest.fixture
def cheese_channels(claim: Claim, subject: Subject, profile: Profile) -> tuple[int, ...]:
    """The profile's cheese channels; a claim that needs them is skipped, saying why, when
    the profile lists none (a checkpoint without its own profile). The channels were
    selected on the profile's ``[discovery]`` mazes, so the claim refuses those seeds."""
    try:
        channels = subject.require_cheese_channels()
    except ProfileFactMissing as exc:
        pytest.skip(str(exc))
    claim.selected_on(discovery_seeds(profile, subject), "the profile's cheese channels")
    return channels
