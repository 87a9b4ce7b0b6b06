"""Synthetic 'policy' for the example claims: per-seed metrics from seeded generators.

Every value is a pure function of the unit's seed, so the suite is deterministic, and the
generators are built so that the claims come out supported, refuted and inconclusive.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from synthetic import unit_stream

from harness.claims import ClaimOptions, RunMetadata
from harness.profiles import Profile, load_profile, resolve_profile

PROFILE_PATH = Path(__file__).with_name("profile.toml")


@pytest.fixture(scope="session", autouse=True)
def synthetic_policy(run_metadata: RunMetadata) -> str:
    """What a policy fixture will do: record the checkpoint hash and the resolved device."""
    digest = hashlib.sha256(b"synthetic example policy").hexdigest()
    run_metadata.checkpoint = "synthetic"
    run_metadata.checkpoint_sha256 = digest
    run_metadata.device = "cpu"
    return digest


@pytest.fixture(scope="session")
def profile(claim_options: ClaimOptions, run_metadata: RunMetadata) -> Profile:
    """The example's own profile unless --profile names another."""
    chosen = (
        resolve_profile(claim_options.profile)
        if claim_options.profile
        else load_profile(PROFILE_PATH)
    )
    run_metadata.profile = chosen.name
    return chosen


@pytest.fixture
def units():
    return unit_stream
