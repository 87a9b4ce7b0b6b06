"""Bad run inputs stop a claims run before any claim starts, with one message naming the
problem (checkpoint, device, profile vs checkpoint, profile sections, options), and the
options that cannot be honoured exactly are refused or reported as adjusted."""

from __future__ import annotations

import json

import pytest

from harness.maze.procgen_env import MAX_SEED

SUITE = """
import numpy as np, pytest
from harness.stats import PairedDifference

MARKER = {marker!r}

def stream(base):
    return iter(range(base, base + {units}))

def metric(us):
    open(MARKER, "a").close()
    return np.array([np.random.default_rng(u).normal(0.3, 0.2) for u in us])

@pytest.mark.claim("CV1", source="s")
def test_cv1(claim):
    '''CV1 holds.

    the effect is above 0.1'''
    claim.conclude(claim.measure(stream, metric, n=30).test(PairedDifference(threshold=0.1)))
"""

PROFILE = """
[profile]
name = "custom"

[model]
layer = "embedder.block2.res1.resadd_out"
{model}

{claims}
"""


@pytest.fixture
def run(claims_pytester):
    """Run the one-claim suite with options; (result, whether a claim measured anything)."""
    marker = claims_pytester.path / "measured"

    def go(*args: str, units: int = 10_000, subprocess: bool = False):
        claims_pytester.makepyfile(test_s=SUITE.format(marker=str(marker), units=units))
        base = ["--report-dir", str(claims_pytester.path / "out"), *args]
        if subprocess:
            result = claims_pytester.runpytest_subprocess(*base, "-p", "no:cacheprovider")
        else:
            result = claims_pytester.runpytest(*base)
        return result, marker.exists()

    return go


def profile_file(pytester, model: str = "", claims: str = "") -> str:
    path = pytester.path / "custom.toml"
    path.write_text(PROFILE.format(model=model, claims=claims))
    return str(path)


def refused(result, *fragments: str) -> str:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    text = result.stderr.str()
    for fragment in fragments:
        assert fragment in text, text
    return text


# -- checkpoint, device and profile vs checkpoint --------------------------------------------
def test_a_profile_for_another_architecture_is_refused_naming_both(run):
    result, measured = run("--profile", "langosco-maze-rand-region-5")
    refused(result, "channel scale 4", "64 channels in block 1", "checkpoint default has scale 1")
    assert not measured


@pytest.mark.parametrize(
    "model, expected",
    [
        ("cheese_channels = [10, 55]", "channels [55] do not exist at embedder.block2.res1"),
        ("effective_channels = [32]", "which has 32 channels (0..31)"),
        ("channel_scale = 2", "channel scale 2 (32 channels in block 1)"),
    ],
)
def test_profile_channels_must_exist_in_the_checkpoint(run, claims_pytester, model, expected):
    result, measured = run("--profile", profile_file(claims_pytester, model=model))
    refused(result, "the profile does not fit the checkpoint", expected)
    assert not measured


def test_an_unknown_layer_is_refused_with_suggestions(run, claims_pytester):
    claims = '[claims.CV1]\nlayer = "embedder.block2.res1.resad_out"'
    result, _ = run("--profile", profile_file(claims_pytester, claims=claims))
    refused(
        result,
        "[claims.CV1]: layer 'embedder.block2.res1.resad_out' is not a layer",
        "did you mean",
    )


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--checkpoint", "missing.pth", "--checkpoint missing.pth:"),
        ("--checkpoint", "planted:nonexistent", "unknown planted policy 'nonexistent'"),
        ("--device", "cuda:7", "--device cuda:7"),
        ("--device", "tpu", "--device tpu"),
    ],
)
def test_bad_checkpoint_or_device_is_a_usage_error(run, option, value, expected):
    import torch

    if value.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result, measured = run(option, value)
    refused(result, expected)
    assert not measured


# -- profile sections --------------------------------------------------------------------
@pytest.mark.parametrize(
    "section, hint",
    [("CV9", "did you mean CV8"), ("CV01", "did you mean CV1"), ("XYZ1", "generic profile")],
)
def test_a_profile_section_for_no_claim_is_refused(run, claims_pytester, section, hint):
    claims = f"[claims.{section}]\nthreshold = 0.2"
    result, measured = run("--profile", profile_file(claims_pytester, claims=claims))
    refused(result, f"[claims.{section}], but no claim {section} is collected", hint)
    assert not measured


def test_catalogue_ids_not_collected_are_known(run, claims_pytester):
    # The suite here has only CV1; a profile for the whole catalogue is still valid.
    claims = "[claims.CH1]\nthreshold = 0.2\n[claims.BH3]\nthreshold = 0.2"
    result, _ = run("--profile", profile_file(claims_pytester, claims=claims))
    assert result.ret == 0, result.stdout.str()


def test_under_xdist_the_refusal_is_one_failing_test_and_no_claim_runs(run, claims_pytester):
    claims = "[claims.CV9]\nthreshold = 0.2"
    path = profile_file(claims_pytester, claims=claims)
    result, measured = run("--profile", path, "-n", "2", subprocess=True)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "no claim CV9 is collected" in result.stdout.str()
    result.assert_outcomes(failed=1)
    assert not measured and "INTERNALERROR" not in result.stdout.str()


@pytest.mark.parametrize(
    "model, expected",
    [
        ("min_size = 15\nmax_size = 9", "min_size 15 is above max_size 9"),
        ("min_size = 4", "min_size must be an odd integer in 3..25"),
        ("cheese_channels = [1.5]", "cheese_channels must be a list of non-negative integers"),
    ],
)
def test_inconsistent_profile_values_fail_when_the_profile_is_read(
    run, claims_pytester, model, expected
):
    result, measured = run("--profile", profile_file(claims_pytester, model=model))
    refused(result, "--profile", expected)
    assert not measured


# -- options that would change the experiment ----------------------------------------------
@pytest.mark.parametrize("seed", ["-1", str(MAX_SEED + 1)])
def test_a_base_seed_outside_procgen_is_refused(run, seed):
    result, measured = run("--base-seed", seed)
    refused(result, f"--base-seed must lie in procgen's seeds 0..{MAX_SEED}, got {seed}")
    assert not measured


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--rounds", "5"], "--rounds 5 has no effect without --sequential"),
        (["--sequential", "--rounds", "0"], "--rounds must lie in 1..10"),
        (["--counterexamples", "-1"], "--counterexamples must be >= 0"),
        (["--seeds", "2"], "--seeds must be >= 3"),
        (["--alpha", "nan"], "--alpha must lie in (0, 0.5)"),
    ],
)
def test_options_that_cannot_be_honoured_are_refused(run, args, expected):
    result, measured = run(*args)
    refused(result, expected)
    assert not measured


def test_fewer_sequential_looks_than_asked_are_reported(run, claims_pytester):
    result, _ = run("--sequential", "--rounds", "5")
    assert result.ret == 0
    report = json.loads((claims_pytester.path / "out" / "report.json").read_text())
    (claim,) = report["claims"]
    assert claim["sequential"]["looks_requested"] == 5
    assert claim["sequential"]["looks_planned"] == 1
    assert any("--rounds 5 became 1 look" in note for note in claim["notes"])


def test_a_stream_that_ends_early_is_reported(run, claims_pytester):
    run(units=12)
    report = json.loads((claims_pytester.path / "out" / "report.json").read_text())
    (claim,) = report["claims"]
    assert claim["n"] == 12
    assert any("ended after 12 of the 30 units" in note for note in claim["notes"])


def test_a_complete_sample_gets_no_adjustment_note(run, claims_pytester):
    run()
    report = json.loads((claims_pytester.path / "out" / "report.json").read_text())
    assert not [n for n in report["claims"][0]["notes"] if n.startswith("adjusted")]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_profile_numbers_are_refused(run, claims_pytester, value):
    claims = f"[claims.CV1]\ncoefficient = {value}"
    result, measured = run("--profile", profile_file(claims_pytester, claims=claims))
    refused(result, "--profile", "[claims.CV1] coefficient must be a finite number")
    assert not measured


def test_a_base_seed_near_the_end_of_procgen_errors_instead_of_shrinking_n(claims_pytester):
    claims_pytester.makepyfile(
        test_s='''
import numpy as np, pytest
from harness.maze import maze_stream
from harness.stats import PairedDifference

@pytest.mark.claim("CV1", source="s")
def test_cv1(claim):
    """CV1 holds.

    the effect is above 0.1"""
    metric = lambda mazes: np.array([0.3 + 0.01 * (m.seed % 7) for m in mazes])
    sample = claim.measure(maze_stream, metric, n=30)
    claim.conclude(sample.test(PairedDifference(threshold=0.1)))
'''
    )
    out = claims_pytester.path / "out"
    result = claims_pytester.runpytest("--report-dir", str(out), "--base-seed", str(MAX_SEED - 9))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = json.loads((out / "report.json").read_text())
    assert report["claims"] == []
    (error,) = report["errors"]
    assert "reached procgen's last seed" in error["message"]


# -- rows per forward pass ------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-4", "many"])
def test_a_bad_batch_size_is_a_usage_error(run, value):
    result, measured = run("--batch-size", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--batch-size" in result.stderr.str()
    assert not measured


def test_a_fixed_batch_size_is_recorded_and_the_default_is_not(run, claims_pytester):
    result, _ = run("--batch-size", "32")
    assert result.ret == 0, result.stdout.str()
    report = json.loads((claims_pytester.path / "out" / "report.json").read_text())
    assert report["run"]["batch_size_option"] == 32
    result, _ = run()
    report = json.loads((claims_pytester.path / "out" / "report.json").read_text())
    assert "batch_size_option" not in report["run"]
