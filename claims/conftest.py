"""Fixtures shared by the claim families."""

from __future__ import annotations

import pytest

from harness.experiments.subject import ProfileFactMissing, Subject


@pytest.fixture
def cheese_channels(subject: Subject) -> tuple[int, ...]:
    """The profile's cheese channels; a claim that needs them is skipped, saying why, when
    the profile lists none (a checkpoint without its own profile)."""
    try:
        return subject.require_cheese_channels()
    except ProfileFactMissing as exc:
        pytest.skip(str(exc))
