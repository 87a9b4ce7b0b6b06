"""The bundled profiles load, match their checkpoints, and merge with the generic defaults."""

from __future__ import annotations

import pytest

from harness.policy import available_planted, load_planted
from harness.profiles import bundled_profiles, resolve_profile

CLAIM_IDS = {
    "CV1",
    "CV2",
    "CV3",
    "CV4",
    "CV5",
    "CV6",
    "CV7",
    "CV8",
    "CH1",
    "CH2",
    "CH3",
    "CH4",
    "CH5",
    "RS1",
    "RS2",
    "RS3",
    "BH1",
    "BH2",
    "BH3",
    "TR1",
    "TR2",
    "TR3",
    "AT1",
    "NM1",
    "ED1",
    "DR1",
}


def test_every_bundled_profile_loads_and_names_are_unique():
    names = [p.name for p in bundled_profiles()]
    assert len(names) == len(set(names))
    assert {"generic", "langosco-maze-rand-region-5"} <= set(names)


def test_generic_profile_covers_every_claim_of_the_catalogue():
    generic = resolve_profile("generic")
    assert set(generic.claims) == CLAIM_IDS
    for claim_id, params in generic.claims.items():
        assert params.n is not None, f"{claim_id} has no sample sizes"
        assert params.threshold is not None or params.margin is not None, claim_id


@pytest.mark.parametrize("name", available_planted())
def test_planted_profiles_are_matched_by_the_planted_weights(name):
    sha = load_planted(name, "cpu").info.sha256
    profile = resolve_profile(None, sha)
    assert profile.name == f"planted-{name}"
    assert (
        profile.model.cheese_channels
        == load_planted(name, "cpu").info.extra["planted"].cheese_channels
    )


def test_specific_profiles_fall_back_to_generic_key_by_key():
    generic = resolve_profile("generic")
    original = resolve_profile("langosco-maze-rand-region-5").with_defaults(generic)
    ch2 = original.claim("CH2")
    assert ch2.channels == (55,)  # its own
    assert ch2.margin == generic.claim("CH2").margin  # the default
    cv6 = original.claim("CV6")
    assert cv6.params["random_scale"] == 0.25  # own param wins
    assert cv6.params.keys() >= generic.claim("CV6").params.keys()
    assert original.model.cheese_channels[4] == 55 and original.model.max_size == 25


def test_the_bundled_policy_is_the_default_and_its_profile_and_card_name_its_hash():
    from harness.policy import open_policy
    from harness.policy.sources import BUNDLED_CHECKPOINT

    if not BUNDLED_CHECKPOINT.is_file():
        pytest.skip("no bundled checkpoint in this checkout")
    loaded = open_policy("default", "cpu")
    assert loaded.info.kind == "file" and loaded.info.scale == 1
    assert resolve_profile(None, loaded.info.sha256).name == "bundled-default"
    card = (BUNDLED_CHECKPOINT.parent / "TRAINING-CARD.md").read_text()
    assert loaded.info.sha256 in card


def test_every_generic_threshold_and_margin_comes_with_its_rationale():
    generic = resolve_profile("generic")
    missing = [
        claim_id
        for claim_id, params in generic.claims.items()
        if (params.threshold is not None or params.margin is not None)
        and not (params.rationale or "").strip()
    ]
    assert not missing, f"claims without a rationale for their numbers: {missing}"
    zero = [
        claim_id
        for claim_id, params in generic.claims.items()
        if params.threshold == 0.0
        and not any(k in params.params for k in ("relative", "relative_drop", "own_share"))
    ]
    assert not zero, f"a threshold of 0 can never refute a zero effect: {zero}"
