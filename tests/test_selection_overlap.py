"""Selection and confirmation use disjoint mazes (issue 12).

A claim that tests a fact chosen on some seeds (the profile's cheese channels, on its
``[discovery]`` mazes) refuses to draw a unit from those seeds: the run errors, naming both
ranges, instead of "confirming" the fact on its own selection data.
"""

from __future__ import annotations

import json

import pytest
import torch

from harness.experiments.discover import discovery_seeds, profile_draft, rank_channels
from harness.experiments.subject import Subject
from harness.maze.seed_ranges import (
    DEFAULT_BASE_SEED,
    DISCOVERY_BASE_SEED,
    POST_SEEDS_LAST,
    SeedRange,
    SelectionOverlapError,
    describe_base_seed,
    refusing_overlap,
)
from harness.policy import load_planted
from harness.profiles import ProfileError, load_profile, profile_from_dict, resolve_profile

SUITE = """
import numpy as np
import pytest
from harness.maze.seed_ranges import SeedRange
from harness.stats import PairedDifference

SELECTED = SeedRange(2_000_010, 2_000_019, "a toy selection")

def stream(base):
    return iter(range(base, base + 1000))

def values(units):
    return {"x": np.array([1.0 + 0.1 * (u % 3) for u in units])}

@pytest.mark.claim("SO1", source="test")
def test_selected_fact(claim):
    '''A selected fact holds on fresh units.

    the fact was chosen on seeds 2,000,010..2,000,019'''
    claim.selected_on(SELECTED, "the toy channels")
    sample = claim.measure(stream, values, n=30)
    claim.conclude(sample.test(PairedDifference("x", threshold=0.5)))
"""


def run_suite(pytester, base_seed: int) -> dict:
    pytester.makepyfile(test_selected=SUITE)
    out = pytester.path / f"out{base_seed}"
    pytester.runpytest(
        "--report-dir", str(out), "--base-seed", str(base_seed), "-p", "no:cacheprovider"
    )
    return json.loads((out / "report.json").read_text())


def test_a_claim_refuses_the_seeds_its_fact_was_selected_on(claims_pytester):
    report = run_suite(claims_pytester, 2_000_000)
    assert report["claims"] == []  # no verdict at all
    (error,) = report["errors"]
    text = json.dumps(error)
    assert "SelectionOverlapError" in text
    assert "2000010..2000019" in text and "2000000..2000010" in text  # both ranges


def test_fresh_seeds_give_a_verdict_and_the_report_names_the_selection(claims_pytester):
    report = run_suite(claims_pytester, 2_000_020)
    (claim,) = report["claims"]
    assert claim["verdict"] == "supported" and not report["errors"]
    assert claim["selection"] == [
        {
            "fact": "the toy channels",
            "first": 2_000_010,
            "last": 2_000_019,
            "what": "a toy selection",
        }
    ]
    assert min(claim["seeds"]) > 2_000_019
    out = claims_pytester.path / "out2000020"
    markdown, html = (out / "report.md").read_text(), (out / "report.html").read_text()
    for text in (markdown, html):
        assert "selected on" in text and "2000010..2000019" in text
        # the bundled policy is a substitute, and every report on it says so up front
        assert "about the subject" in text and "substitute" in text
        assert "disjoint from the post" not in text  # base seed 2,000,020 is not the default
    assert "substitute" in report["run"]["subject_caveat"]
    assert "past the post's seeds" in report["run"]["base_seed_note"]


def test_base_seed_zero_is_named_a_re_analysis_of_the_posts_seeds():
    assert "re-analysis" in describe_base_seed(0)
    assert "re-analysis" not in describe_base_seed(DEFAULT_BASE_SEED).split(";")[0]
    assert "(the default)" in describe_base_seed(DEFAULT_BASE_SEED)


def test_the_guard_passes_units_outside_and_stops_at_the_first_inside():
    guarded = refusing_overlap(
        lambda base: iter(range(base, base + 50)), (SeedRange(10, 12, "x"),), "XX1", int
    )
    assert list(guarded(13))[:2] == [13, 14]
    stream = guarded(0)
    assert [next(stream) for _ in range(10)] == list(range(10))
    with pytest.raises(SelectionOverlapError, match="reached seed 10"):
        next(stream)


def test_default_ranges_keep_the_post_claims_and_discovery_apart():
    assert DEFAULT_BASE_SEED > POST_SEEDS_LAST
    # a claim stream uses at most a few thousand seeds; discovery lies far past that
    assert DISCOVERY_BASE_SEED - DEFAULT_BASE_SEED >= 100_000


@pytest.fixture(scope="module")
def planted_subject():
    loaded = load_planted("cheese-seeker", "cpu")
    return Subject(loaded.policy, torch.device("cpu"), max_size=15), loaded.info.sha256


def test_a_discovery_draft_records_its_seeds_and_replaying_them_agrees(planted_subject, tmp_path):
    subject, sha = planted_subject
    ranking = rank_channels(subject, mazes=6, placements=2)
    path = tmp_path / "draft.toml"
    path.write_text(profile_draft("draft", sha, ranking, min_rate=0.3))
    profile = load_profile(path)
    d = profile.discovery
    assert (d.base_seed, d.mazes) == (DISCOVERY_BASE_SEED, 6)
    assert discovery_seeds(profile, subject) == SeedRange(
        DISCOVERY_BASE_SEED, max(ranking.seeds), discovery_seeds(profile, subject).what
    )
    # without last_seed, the range is found by replaying the discovery stream
    text = path.read_text().replace(f"last_seed = {d.last_seed}\n", "")
    path.write_text(text)
    assert discovery_seeds(load_profile(path), subject).last == d.last_seed


def test_the_bundled_profile_was_discovered_outside_every_default_stream():
    profile = resolve_profile("bundled-default")
    d = profile.discovery
    assert d is not None and d.base_seed >= DISCOVERY_BASE_SEED and d.last_seed >= d.base_seed


@pytest.mark.parametrize(
    "table, problem",
    [
        ({"base_seed": 5, "mazes": 3, "last_seed": 4}, "below base_seed"),
        ({"mazes": 3}, "missing required key 'base_seed'"),
        ({"base_seed": 5, "mazes": 3, "seeds": 4}, "unknown key 'seeds'"),
    ],
)
def test_bad_discovery_tables_are_named(table, problem):
    with pytest.raises(ProfileError, match=problem):
        profile_from_dict({"profile": {"name": "x"}, "discovery": table})
