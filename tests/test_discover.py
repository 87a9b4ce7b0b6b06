"""discover-channels on a planted policy, whose only cheese channel is known by construction."""

from __future__ import annotations

import pytest
import torch

from harness.experiments.discover import profile_draft, rank_channels
from harness.experiments.subject import Subject
from harness.policy import load_planted
from harness.policy.planted import CHEESE_CHANNEL, MOUSE_CHANNEL
from harness.profiles import load_profile


@pytest.fixture(scope="module")
def ranking():
    loaded = load_planted("cheese-seeker", "cpu")
    subject = Subject(loaded.policy, torch.device("cpu"), max_size=15)
    return rank_channels(subject, mazes=12, placements=4), loaded.info.sha256


def test_the_planted_cheese_channel_ranks_first_and_alone(ranking):
    ranked, _ = ranking
    (best, rate), (_, runner_up) = ranked.ranked()[:2]
    assert best == CHEESE_CHANNEL and rate > 0.5
    # every other channel (the mouse channel included) stays near chance
    assert runner_up < 0.3
    assert ranked.cheese_channels() == [CHEESE_CHANNEL]
    assert MOUSE_CHANNEL not in ranked.cheese_channels()


def test_the_draft_is_a_loadable_profile_naming_the_best_channel(ranking, tmp_path):
    ranked, sha = ranking
    path = tmp_path / "draft.toml"
    path.write_text(profile_draft("draft", sha, ranked, min_rate=0.3))
    profile = load_profile(path)
    assert profile.name == "draft" and sha in profile.checkpoint_sha256
    assert profile.model.cheese_channels == (CHEESE_CHANNEL,)
    assert CHEESE_CHANNEL not in profile.model.non_cheese_channels
    for claim_id in ("CH2", "CH5"):
        assert list(profile.claim(claim_id).channels) == [CHEESE_CHANNEL]
    assert profile.shared("retargeting").require("channels") == [CHEESE_CHANNEL]
    assert tuple(profile.claim("RS3").channels)[:1] == (CHEESE_CHANNEL,)


@pytest.mark.parametrize("name", ['my "best" policy', "back\\slash", "line\nbreak", "ünï"])
def test_any_name_gives_a_loadable_draft(ranking, tmp_path, name):
    ranked, sha = ranking
    path = tmp_path / "draft.toml"
    path.write_text(profile_draft(name, sha, ranked, min_rate=0.3), encoding="utf-8")
    assert load_profile(path).name == name
