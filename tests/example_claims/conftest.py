"""Synthetic 'policy' for the example claims: per-seed metrics from seeded generators.

Every value is a pure function of the unit's seed, so the suite is deterministic, and the
generators are built so that the claims come out supported, refuted and inconclusive.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from synthetic import unit_stream

from harness.claim import RunFacts
from harness.profiles import Profile, load_profile, resolve_profile

PROFILE_PATH = Path(__file__).with_name("profile.toml")


@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> Profile:
    """The example's own profile unless --profile names another."""
    choice = pytestconfig.getoption("claims_profile")
    return resolve_profile(choice) if choice else load_profile(PROFILE_PATH)


@pytest.fixture(scope="session")
def run_facts(profile: Profile) -> RunFacts:
    """What the claims ran on: no network here, a synthetic 'policy' of seeded generators."""
    digest = hashlib.sha256(b"synthetic example policy").hexdigest()
    return RunFacts("synthetic", digest, device="cpu", profile=profile.name)


@pytest.fixture
def units():
    return unit_stream
