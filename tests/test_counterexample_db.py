"""``--counterexample-db``: counterexamples saved by claim and checkpoint, replayed first."""

from __future__ import annotations

import json
import shutil

import pytest

from harness.claim.counterexample_db import CounterexampleDB, parse_db_option, safe_key
from harness.experiments.activations import with_top_right_corridor
from harness.maze.maze import Maze
from harness.policy.sources import load_planted as planted_load
from harness.report.build import strip_timings

SHA_A = "a" * 64
SHA_B = "b" * 64


@pytest.fixture(scope="module")
def mazes() -> list[Maze]:
    return [Maze.from_seed(s) for s in range(8)]


def test_round_trip_keeps_the_maze_seed_and_first_found(tmp_path, mazes):
    db = CounterexampleDB(tmp_path)
    assert db.save("CV1", SHA_A, mazes[0], "P(cheese) does not fall", {"budget": "quick"})
    loaded = db.load("CV1", SHA_A)
    assert loaded.problems == ()
    (entry,) = loaded.entries
    assert entry.maze == mazes[0] and entry.hash == mazes[0].content_hash
    assert entry.seed == mazes[0].seed and entry.description == "P(cheese) does not fall"
    assert entry.first_found == {"budget": "quick"}
    directory = tmp_path / SHA_A[:16] / safe_key("CV1")
    assert sorted(p.name for p in directory.iterdir()) == [
        f"{mazes[0].content_hash}.bin",
        f"{mazes[0].content_hash}.json",
    ]
    assert (directory / f"{mazes[0].content_hash}.bin").read_bytes() == mazes[0].state_bytes()


def test_a_lifted_maze_reads_back_lifted(tmp_path, mazes):
    small = next(m for m in mazes if m.size < 25)
    lifted = with_top_right_corridor(small)
    assert lifted.lifted
    db = CounterexampleDB(tmp_path)
    db.save("CV1", SHA_A, lifted, "d")
    (entry,) = db.load("CV1", SHA_A).entries
    assert entry.maze.lifted and entry.maze == lifted
    assert entry.maze.state_bytes() == lifted.state_bytes()


def test_keys_separate_claims_and_checkpoints(tmp_path, mazes):
    db = CounterexampleDB(tmp_path)
    db.save("CV4[offset=2]", SHA_A, mazes[0], "d")
    db.save("CV4[offset=3]", SHA_A, mazes[1], "d")
    db.save("CV4[offset=2]", SHA_B, mazes[2], "d")
    assert [e.maze for e in db.load("CV4[offset=2]", SHA_A).entries] == [mazes[0]]
    assert [e.maze for e in db.load("CV4[offset=3]", SHA_A).entries] == [mazes[1]]
    assert [e.maze for e in db.load("CV4[offset=2]", SHA_B).entries] == [mazes[2]]
    assert db.load("CV5", SHA_A).entries == ()
    assert safe_key("a/b") != safe_key("a_b")  # sanitized names stay distinct
    assert "/" not in safe_key("../../x") and not safe_key("../x").startswith(".")


def test_a_sidecar_for_another_checkpoint_with_the_same_prefix_is_not_used(tmp_path, mazes):
    db = CounterexampleDB(tmp_path)
    other = SHA_A[:16] + "c" * 48
    db.save("CV1", other, mazes[0], "d")
    loaded = db.load("CV1", SHA_A)
    assert loaded.entries == () and "another checkpoint" in loaded.problems[0]


def test_corrupt_or_unreadable_entries_are_skipped_with_a_note(tmp_path, mazes):
    db = CounterexampleDB(tmp_path)
    for m in mazes[:4]:
        db.save("CV1", SHA_A, m, "d")
    directory = db.key_dir("CV1", SHA_A)
    flipped, garbled, orphan = (m.content_hash for m in mazes[1:4])
    data = bytearray((directory / f"{flipped}.bin").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (directory / f"{flipped}.bin").write_bytes(bytes(data))
    (directory / f"{garbled}.json").write_text("{not json")
    (directory / f"{orphan}.json").unlink()
    (directory / "deadbeef.json").write_text("{}")
    loaded = db.load("CV1", SHA_A)
    assert [e.maze for e in loaded.entries] == [mazes[0]]
    text = "\n".join(loaded.problems)
    assert len(loaded.problems) == 4
    assert f"{flipped}.bin skipped" in text and "not the file name" in text
    assert f"{garbled}.bin skipped" in text and "JSONDecodeError" in text
    assert f"{orphan}.bin has no sidecar" in text
    assert "deadbeef.bin skipped" in text and "not a sha256" in text


def test_writes_are_idempotent_and_keep_the_first_sidecar(tmp_path, mazes):
    db = CounterexampleDB(tmp_path)
    assert db.save("CV1", SHA_A, mazes[0], "first", {"budget": "quick"})
    sidecar = db.key_dir("CV1", SHA_A) / f"{mazes[0].content_hash}.json"
    before = sidecar.read_text()
    assert not db.save("CV1", SHA_A, mazes[0], "second", {"budget": "paper"})
    assert sidecar.read_text() == before
    assert len(db.load("CV1", SHA_A).entries) == 1
    assert not list(db.key_dir("CV1", SHA_A).glob("*.tmp"))


def test_the_cap_keeps_the_smallest_mazes(tmp_path, mazes):
    db = CounterexampleDB(tmp_path, cap=3)
    for m in mazes:
        db.save("CV1", SHA_A, m, "d")
    kept = db.load("CV1", SHA_A).entries
    expected = sorted(mazes, key=lambda m: (m.size, m.content_hash))[:3]
    assert [e.maze for e in kept] == expected
    assert len(list(db.key_dir("CV1", SHA_A).iterdir())) == 6


def test_the_option_value_none_or_off_turns_it_off():
    assert parse_db_option(None) is None
    assert parse_db_option("none") is None and parse_db_option("OFF") is None
    assert parse_db_option("db") == "db"


# ------------------------------------------------------------------ a claims run, twice
SUITE = """
import os, pytest
from harness.stats import PairedDifference

@pytest.mark.claim("CV1", source="s")
def test_cv1(claim, subject):
    '''CV1 holds.

    the effect is above 0.1'''
    m = claim.measure(subject.stream(), lambda us: [0.3 + 0.01 * (i % 5) for i, _ in
                      enumerate(us)], n=20)
    least = int(os.environ.get("CE_MIN_SIZE", "5"))
    claim.search_counterexamples(
        lambda maze: maze.size >= least, subject.where(), "the maze is large"
    )
    claim.conclude(m.test(PairedDifference(threshold=0.1)))
"""

ARGS = (
    "--checkpoint",
    "planted:cheese-seeker",
    "--budget",
    "quick",
    "--counterexamples",
    "5",
    "-p",
    "no:cacheprovider",
)


def _run(pytester, out, *extra):
    result = pytester.runpytest_subprocess(*ARGS, "--report-dir", str(out), *extra)
    result.assert_outcomes(passed=1)
    report = json.loads((out / "report.json").read_text())
    (claim,) = report["claims"]
    return report, claim


def test_a_second_run_replays_the_first_runs_counterexample(claims_pytester, monkeypatch, mazes):
    claims_pytester.makepyfile(test_suite=SUITE)
    path = claims_pytester.path
    report, first = _run(claims_pytester, path / "r1")
    assert report["run"]["counterexample_db"] == "reports/counterexamples"
    (found,) = first["counterexamples"]
    assert found["details"]["replayed"] is False and found["details"]["source"] == "search"
    digest = found["details"]["maze"]
    sha = report["run"]["checkpoint_sha256"]
    db = CounterexampleDB(path / "reports" / "counterexamples")
    assert [e.hash for e in db.load("CV1", sha).entries] == [digest]
    # an entry for another checkpoint is never replayed
    other = next(m for m in mazes if m.size >= 5 and m.content_hash != digest)
    CounterexampleDB(db.root).save("CV1", "0" * 64, other, "the maze is large")

    _, second = _run(claims_pytester, path / "r2")
    replayed = [c for c in second["counterexamples"] if c["details"]["replayed"]]
    assert [c["details"]["maze"] for c in replayed] == [digest]
    assert replayed[0]["details"]["source"] == "database"
    assert replayed[0]["details"]["first_found"]["budget"] == "quick"
    assert other.content_hash not in json.dumps(second)
    assert any(f"replayed counterexample {digest[:8]} again" in n for n in second["notes"])
    assert "- replayed counterexample: " in (path / "r2" / "report.md").read_text()
    assert "Replayed counterexamples" in (path / "r2" / "report.html").read_text()

    # the claim changes: the saved maze no longer breaks it, a new one is found and saved
    monkeypatch.setenv("CE_MIN_SIZE", "7")
    _, third = _run(claims_pytester, path / "r3")
    assert f"replayed counterexample {digest[:8]}: the claim now holds on it" in third["notes"]
    (new,) = third["counterexamples"]
    assert new["details"]["replayed"] is False and new["details"]["size"] >= 7
    assert {e.hash for e in db.load("CV1", sha).entries} == {digest, new["details"]["maze"]}


def test_replay_is_the_same_serial_and_under_xdist_and_off_means_off(claims_pytester, mazes):
    """The same database state gives the same report serially and with ``-n 2`` (a run
    writes to the database, so each starts from a copy of the same state)."""
    claims_pytester.makepyfile(test_suite=SUITE)
    path = claims_pytester.path
    sha = planted_load("cheese-seeker", device="cpu").info.sha256
    large = [m for m in mazes if m.size >= 5][:2]
    for m in large:
        CounterexampleDB(path / "snapshot").save("CV1", sha, m, "the maze is large")
    shutil.copytree(path / "snapshot", path / "db")
    serial, claim = _run(claims_pytester, path / "serial", "--counterexample-db", "db")
    replayed = [c["details"]["maze"] for c in claim["counterexamples"] if c["details"]["replayed"]]
    assert sorted(replayed) == sorted(m.content_hash for m in large)
    shutil.rmtree(path / "db")
    shutil.copytree(path / "snapshot", path / "db")
    xdist, _ = _run(claims_pytester, path / "xdist", "--counterexample-db", "db", "-n", "2")
    assert strip_timings(xdist) == strip_timings(serial)
    assert serial["run"]["counterexample_db"] == "db"

    off, claim = _run(claims_pytester, path / "off", "--counterexample-db", "off")
    assert off["run"]["counterexample_db"] is None
    assert not any(c["details"].get("replayed") for c in claim["counterexamples"])
    assert not (path / "reports" / "counterexamples").exists()
