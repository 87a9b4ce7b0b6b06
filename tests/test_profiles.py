"""Profiles: schema check naming bad keys, choice by name, path or checkpoint hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from harness.profiles import (
    ProfileError,
    bundled_profiles,
    load_profile,
    profile_from_dict,
    resolve_profile,
)

EXAMPLE_SUITE_PROFILE = Path(__file__).parent / "example_claims" / "profile.toml"
DIGEST = hashlib.sha256(b"weights").hexdigest()


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_bundled_and_example_profiles_are_valid():
    names = [p.name for p in bundled_profiles()]
    assert "example" in names
    example = load_profile(EXAMPLE_SUITE_PROFILE)
    assert example.claim("EX1").threshold == 0.1
    assert example.model.layer == "embedder.block2.res1.resadd_out"


def test_schema_names_every_problem():
    data = {
        "profile": {"name": "x", "checkpoint_sha256": ["abc"]},
        "modle": {},
        "model": {"cheese_channels": [55, -1]},
        "claims": {
            "CV1": {"treshold": 0.1, "margin": -0.05},
            "cv2": {},
            "CV3": {"n": {"quick": 10}, "published": ["a"], "alternative": "bigger"},
        },
    }
    with pytest.raises(ProfileError) as info:
        profile_from_dict(data)
    message = str(info.value)
    for expected in (
        "unknown top-level table 'modle'",
        "checkpoint_sha256 must be a list of lowercase hex sha256",
        "cheese_channels must be a list of non-negative integers",
        "[claims.CV1] unknown key 'treshold'",
        "[claims.CV1] margin must be a number > 0",
        "[claims.cv2] is not a claim id",
        "[claims.CV3] n must be an integer >= 3",
        "[claims.CV3] published must be",
        "[claims.CV3] alternative must be",
    ):
        assert expected in message


def test_missing_name_and_bad_toml(tmp_path):
    with pytest.raises(ProfileError, match="missing required key 'name'"):
        profile_from_dict({"profile": {}})
    with pytest.raises(ProfileError, match="missing required table"):
        profile_from_dict({})
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(write(tmp_path / "bad.toml", "[profile\nname = 1"))
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_profile(tmp_path / "absent.toml")


def test_resolve_by_name_path_and_hash(tmp_path):
    write(
        tmp_path / "a.toml",
        f'[profile]\nname = "a"\ncheckpoint_sha256 = ["{DIGEST}"]\n'
        "[claims.CV2]\nmargin = [-0.01, 0.02]\nparams = { offsets = [0, 1] }\n",
    )
    write(tmp_path / "b.toml", '[profile]\nname = "b"\n')
    dirs = (tmp_path,)
    assert resolve_profile("b", directories=dirs).name == "b"
    assert resolve_profile(str(tmp_path / "a.toml")).name == "a"
    by_hash = resolve_profile(None, DIGEST.upper(), directories=dirs)
    assert by_hash.name == "a"
    params = by_hash.claim("CV2")
    assert params.margin == (-0.01, 0.02) and params.require("offsets") == [0, 1]
    assert by_hash.claim("CV9").threshold is None
    with pytest.raises(ProfileError, match="no 'threshold' for claim CV9"):
        by_hash.claim("CV9").require("threshold")
    with pytest.raises(ProfileError, match=r"no profile named 'c' \(bundled profiles: a, b\)"):
        resolve_profile("c", directories=dirs)
    with pytest.raises(ProfileError, match="no bundled profile lists"):
        resolve_profile(None, "0" * 64, directories=dirs)
    with pytest.raises(ProfileError, match="no profile chosen"):
        resolve_profile(None, None, directories=dirs)


def test_ambiguous_hash(tmp_path):
    for name in ("a", "b"):
        write(
            tmp_path / f"{name}.toml",
            f'[profile]\nname = "{name}"\ncheckpoint_sha256 = ["{DIGEST}"]\n',
        )
    with pytest.raises(ProfileError, match="listed by several profiles: a, b"):
        resolve_profile(None, DIGEST, directories=(tmp_path,))


def test_shared_tables_are_checked_and_merged_key_by_key():
    with pytest.raises(ProfileError) as info:
        profile_from_dict(
            {
                "profile": {"name": "x"},
                "shared": {"retarget": {}, "nmf": {"components": -1, "colour": 1}},
            }
        )
    message = str(info.value)
    assert "[shared.retarget] is not a known shared table (known: behaviour, nmf" in message
    assert "[shared.nmf] unknown key 'colour'" in message
    assert "[shared.nmf] components must be a non-negative integer" in message
    mine = profile_from_dict(
        {"profile": {"name": "mine"}, "shared": {"retargeting": {"single_value": 9.0}}}
    )
    merged = mine.with_defaults(resolve_profile("generic"))
    table = merged.shared("retargeting")
    assert table.require("single_value") == 9.0  # the profile's own value wins
    assert table.require("all_multiple") == 1.7  # the rest comes from the generic defaults
    assert merged.shared("nmf").require("fit_seed") == 5_000_000
    with pytest.raises(ProfileError, match=r"no 'horizon' in \[shared.behaviour\]"):
        mine.shared("behaviour").require("horizon")
