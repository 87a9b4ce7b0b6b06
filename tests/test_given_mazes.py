"""``--mazes``: claims sample the given mazes their filter admits, in file order, and say
how many they skipped and why; the report names each unit maze by its content hash."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from harness.experiments.activations import with_top_right_corridor
from harness.maze.given import REPEAT, GivenMazes
from harness.maze.maze import Maze
from harness.maze.mazefiles import load_mazes, write_maze_dir
from harness.maze.seed_ranges import SeedRange
from harness.maze.streams import MazeFilter
from harness.report.build import shared_units

ROOT = Path(__file__).resolve().parents[1]
SEEDS = range(12)


@pytest.fixture(scope="module")
def mazes() -> list[Maze]:
    return [Maze.from_seed(s) for s in SEEDS]


@pytest.fixture
def maze_file(tmp_path, mazes):
    """A procgen-tools style pickle: the levels, a repeat of the first, one lifted maze."""
    states = [m.state_bytes() for m in mazes]
    small = next(m for m in mazes if m.size < 25)
    states += [states[0], with_top_right_corridor(small).state_bytes()]
    path = tmp_path / "saved-mazes.pkl"
    path.write_bytes(pickle.dumps(states))
    return path


# ------------------------------------------------------------------ selection
def test_given_mazes_keep_file_order_and_count_each_skip_by_reason(maze_file, mazes):
    maze_set = load_mazes(maze_file)
    given = GivenMazes(maze_set, MazeFilter(has_decision_square=True))
    lifted = maze_set.mazes[-1]
    assert lifted.lifted and lifted.has_decision_square  # the corridor leads to the corner
    expected = [m for m in mazes if m.has_decision_square] + [lifted]
    assert list(given.eligible) == expected
    repeat = mazes[0].has_decision_square  # the second copy of level 0 is a repeat
    skipped = given.skipped
    assert skipped["have no decision square"] == sum(not m.has_decision_square for m in mazes) + (
        not repeat
    )
    assert skipped.get(REPEAT, 0) == repeat
    assert sum(skipped.values()) + len(given.eligible) == len(maze_set)
    assert list(given(123)) == expected  # the base seed does not choose given mazes


def test_given_mazes_outside_the_size_range_or_from_selection_seeds_are_skipped(maze_file):
    maze_set = load_mazes(maze_file)
    sizes = GivenMazes(maze_set, MazeFilter(max_size=15))
    assert all(m.size <= 15 for m in sizes.eligible)
    assert sizes.skipped["are outside sizes 3..15"] == sum(m.size > 15 for m in maze_set.mazes)
    selected = SeedRange(0, 5, "channel discovery")
    disjoint = GivenMazes(maze_set, MazeFilter(), (selected,))
    assert [m.seed for m in disjoint.eligible] == list(range(6, 12))
    (reason,) = disjoint.skipped
    assert "0..5" in reason and "channel discovery" in reason


def test_shared_units_compare_given_mazes_by_hash_not_by_seed():
    a = {"id": "A", "seeds": [1, 2], "mazes": ["h1", "h2"]}
    b = {"id": "B", "seeds": [1, 2], "mazes": ["h3", "h4"]}  # edited variants of levels 1, 2
    block, shares = shared_units([a, b])
    assert shares == [[], []] and block["groups"] == []
    block, shares = shared_units([a, {**b, "mazes": ["h2", "h4"]}])
    assert shares[0] == [{"id": "B", "seeds_in_common": 1}]


# ------------------------------------------------------------------ a claims run
SUITE = """
import json, pytest
from harness.stats import PairedDifference

def hash_metric(path):
    def metric(mazes):
        with open(path, "a") as f:
            for m in mazes:
                f.write(m.content_hash + "\\n")
        return [0.3 + 0.01 * (i % 7) for i, _ in enumerate(mazes)]
    return metric

@pytest.mark.claim("CV1", source="s")
def test_cv1(claim, subject):
    '''CV1 holds.

    the effect is above 0.1'''
    stream = subject.stream(has_decision_square=True)
    m = claim.measure(stream, hash_metric({seen!r}), n=30)
    claim.conclude(m.test(PairedDifference(threshold=0.1)))

@pytest.mark.claim("CV2", source="s")
def test_cv2(claim, subject):
    '''CV2 holds.

    its units are plain seeds, which given mazes cannot replace'''
    m = claim.measure(lambda base: iter(range(base, base + 99)), lambda us: [0.3] * len(us), n=20)
    claim.conclude(m.test(PairedDifference(threshold=0.1)))

@pytest.mark.claim("CV3", source="s")
def test_cv3(claim, subject):
    '''CV3 holds.

    on mazes of size 3 with a decision square only'''
    stream = subject.stream(max_size=3, has_decision_square=True)
    m = claim.measure(stream, lambda us: [0.3] * len(us), n=20)
    claim.conclude(m.test(PairedDifference(threshold=0.1)))
"""

ARGS = ("--checkpoint", "planted:cheese-seeker", "--budget", "quick", "-p", "no:cacheprovider")


def test_a_claims_run_on_given_mazes_uses_them_records_hashes_and_skips_what_it_cannot(
    claims_pytester, maze_file, mazes
):
    seen = claims_pytester.path / "seen.txt"
    claims_pytester.makepyfile(test_suite=SUITE.format(seen=str(seen)))
    # inside the run's directory: pytest takes an existing path among the arguments, even an
    # option's value, as a place to look for its configuration
    maze_file = maze_file.rename(claims_pytester.path / maze_file.name)
    out = claims_pytester.path / "out"
    result = claims_pytester.runpytest_subprocess(
        *ARGS, "--mazes", str(maze_file), "--report-dir", str(out)
    )
    result.assert_outcomes(passed=1, skipped=2)
    report = json.loads((out / "report.json").read_text())
    (cv1,) = report["claims"]
    given = [m for m in load_mazes(maze_file).mazes if m.has_decision_square]
    distinct = list(dict.fromkeys(given))
    expected = [m.content_hash for m in distinct]
    assert cv1["mazes"] == expected == seen.read_text().split()
    assert cv1["seeds"] == [m.seed for m in distinct]
    assert any(
        n.startswith(f"given mazes ({maze_file}): {len(expected)} of the {len(mazes) + 2} qualify")
        and "have no decision square" in n
        and ("repeat an earlier maze" in n) == (len(distinct) < len(given))
        for n in cv1["notes"]
    )
    skipped = {s["id"]: s["message"] for s in report["skipped"]}
    assert "not from a maze filter" in skipped["CV2"]
    assert "too few given mazes" in skipped["CV3"] and "are outside sizes 3..3" in skipped["CV3"]
    source = report["run"]["maze_source"]
    assert source["count"] == len(mazes) + 2 and source["lifted"] == 1
    assert source == report["run"]["mazes"]
    assert "given mazes" in report["run"]["base_seed_note"]
    result.stdout.fnmatch_lines([f"*budget quick, {len(mazes) + 2} given mazes from {maze_file}*"])


def test_a_run_without_mazes_records_no_hashes(claims_pytester):
    claims_pytester.makepyfile(test_suite=SUITE.format(seen=str(claims_pytester.path / "s")))
    out = claims_pytester.path / "out"
    result = claims_pytester.runpytest_subprocess(*ARGS, "-k", "CV1", "--report-dir", str(out))
    result.assert_outcomes(passed=1)
    report = json.loads((out / "report.json").read_text())
    assert report["claims"][0]["mazes"] is None and report["run"]["mazes"] is None
    assert "maze_source" not in report["run"]


def test_a_pickle_that_needs_code_stops_the_run_before_any_claim(claims_pytester, tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    evil = claims_pytester.path / "evil.pkl"
    evil.write_bytes(pickle.dumps([b"\0" * 8, Payload()]))
    claims_pytester.makepyfile(test_suite=SUITE.format(seen=str(tmp_path / "seen")))
    result = claims_pytester.runpytest_subprocess(*ARGS, "--mazes", str(evil))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mazes*evil.pkl*needs*open*nothing in it was run*"])
    assert not marker.exists() and not (tmp_path / "seen").exists()


def test_cv1_on_an_imported_maze_directory_lists_the_files_hashes(tmp_path, maze_file):
    """The issue's contract on the planted policy: import, then ``claims/ -k CV1 --mazes``."""
    directory = tmp_path / "mazes"
    files = write_maze_dir(load_mazes(maze_file), directory)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    command = [sys.executable, "-m", "pytest", "claims/", "-k", "CV1", "--mazes", str(directory)]
    done = subprocess.run(
        [*command, "--report-dir", str(out), "--counterexamples", "0", *ARGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    (cv1,) = [c for c in report["claims"] if c["id"] == "CV1"]
    on_disk = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    ds = [m.has_decision_square for m in load_mazes(directory).mazes]
    positions = [on_disk.index(h) for h in cv1["mazes"]]  # first occurrence: repeats skipped
    assert positions and positions == sorted(set(positions)) and all(ds[i] for i in positions)
    assert cv1["n"] == len(cv1["mazes"]) == len(cv1["seeds"])
    assert report["run"]["maze_source"]["source"] == str(directory)
