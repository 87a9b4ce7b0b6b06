"""``python -m harness import-mazes FILE --out DIR``: exit 0 and a maze directory, or exit 2
with one line on stderr and nothing run or written."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.experiments.activations import with_top_right_corridor
from harness.maze.maze import Maze
from harness.maze.mazefiles import MANIFEST, load_mazes

ROOT = Path(__file__).resolve().parent.parent
SEEDS = list(range(5))


@pytest.fixture(scope="module")
def states() -> list[bytes]:
    plain = [Maze.from_seed(s).state_bytes() for s in SEEDS]
    seed = next(s for s in range(100) if Maze.from_seed(s).size == 13)
    return [*plain, with_top_right_corridor(Maze.from_seed(seed)).state_bytes()]


class _Touch:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


class _System:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def _import(src: Path, out: Path) -> int:
    return main(["import-mazes", str(src), "--out", str(out)])


def test_import_writes_one_state_file_per_maze(tmp_path: Path, states, capsys) -> None:
    src = tmp_path / "saved.pkl"
    src.write_bytes(pickle.dumps(states))
    out = tmp_path / "out"
    assert _import(src, out) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    bins = sorted(out.glob("*.bin"))
    assert [b.name for b in bins] == [f"{i:04d}.bin" for i in range(len(states))]
    assert sorted(p.name for p in out.iterdir()) == sorted([*(b.name for b in bins), MANIFEST])
    assert [b.read_bytes() for b in bins] == states
    manifest = json.loads((out / MANIFEST).read_text())
    assert [e["sha256"] for e in manifest["mazes"]] == [
        hashlib.sha256(b.read_bytes()).hexdigest() for b in bins
    ]
    assert sum(e["lifted"] for e in manifest["mazes"]) == 1
    ms = load_mazes(out)
    assert captured.out.startswith(f"import-mazes: {len(states)} mazes from {src} (pickle)")
    assert "1 lifted to the world" in captured.out
    assert f"set sha256 {ms.sha256}" in captured.out
    assert list(ms.mazes) == list(load_mazes(src).mazes)


def test_import_of_a_raw_state_and_of_a_directory(tmp_path: Path, states, capsys) -> None:
    raw = tmp_path / "one.state"
    raw.write_bytes(states[2])
    assert _import(raw, tmp_path / "a") == 0
    assert "import-mazes: 1 maze from" in capsys.readouterr().out
    assert [p.read_bytes() for p in sorted((tmp_path / "a").glob("*.bin"))] == [states[2]]
    assert _import(tmp_path / "a", tmp_path / "b") == 0  # a maze directory re-imports as is
    assert load_mazes(tmp_path / "b").hashes == load_mazes(tmp_path / "a").hashes


@pytest.mark.parametrize("payload", [_Touch, _System], ids=["Path.touch", "os.system"])
def test_a_pickle_that_needs_code_exits_2_unrun(tmp_path: Path, states, payload, capsys) -> None:
    marker = tmp_path / "marker"
    src = tmp_path / "evil.pkl"
    src.write_bytes(pickle.dumps([states[0], payload(marker)]))
    out = tmp_path / "out"
    assert _import(src, out) == 2
    captured = capsys.readouterr()
    assert not marker.exists()
    assert not out.exists()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("python -m harness import-mazes: error: ")
    assert "nothing in it was run" in lines[0]


def test_a_code_needing_pickle_leaves_an_empty_out_directory_empty(
    tmp_path: Path, states, capsys
) -> None:
    marker = tmp_path / "marker"
    src = tmp_path / "evil.pkl"
    src.write_bytes(pickle.dumps([_Touch(marker), *states]))
    out = tmp_path / "out"
    out.mkdir()
    assert _import(src, out) == 2
    assert list(out.iterdir()) == []
    assert not marker.exists()
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p, s: p.write_bytes(pickle.dumps({"a": s[0]})), "holds a dict"),
        (lambda p, s: p.write_bytes(pickle.dumps([s[0], 1])), "not bytes"),
        (lambda p, _s: p.write_bytes(pickle.dumps([])), "holds no mazes"),
        (lambda p, s: p.write_bytes(pickle.dumps(s)[:-3]), "not a readable pickle"),
        (lambda p, s: p.write_bytes(pickle.dumps([s[0][:-9]])), r"maze bad\.pkl\[0\] cannot"),
    ],
    ids=["dict", "ints", "empty", "truncated", "corrupt-state"],
)
def test_bad_files_exit_2_with_one_line(tmp_path: Path, states, make, words, capsys) -> None:
    src = tmp_path / "bad.pkl"
    make(src, states)
    out = tmp_path / "out"
    assert _import(src, out) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert re.search(words, err), err
    assert not out.exists()


def test_a_non_empty_out_exits_2_and_is_left_alone(tmp_path: Path, states, capsys) -> None:
    src = tmp_path / "saved.pkl"
    src.write_bytes(pickle.dumps(states[:2]))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert _import(src, out) == 2
    assert "is not empty" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_a_missing_file_exits_2(tmp_path: Path, capsys) -> None:
    assert _import(tmp_path / "nope.pkl", tmp_path / "out") == 2
    assert "no maze file or directory" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_out_is_required(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["import-mazes", str(tmp_path / "x.pkl")])
    assert info.value.code == 2
    assert "--out" in capsys.readouterr().err


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_command_line_contract_in_a_subprocess(tmp_path: Path, states) -> None:
    good = tmp_path / "saved.pkl"
    good.write_bytes(pickle.dumps(states[:3], protocol=2))
    ok = _run("import-mazes", str(good), "--out", str(tmp_path / "ok"))
    assert ok.returncode == 0, ok.stderr
    assert len(list((tmp_path / "ok").glob("*.bin"))) == 3
    assert (tmp_path / "ok" / MANIFEST).is_file()

    marker = tmp_path / "marker"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps([states[0], _System(marker)]))
    bad = _run("import-mazes", str(evil), "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2
    assert not marker.exists()
    assert not (tmp_path / "bad").exists()
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1, bad.stderr
    assert "posix.system" in lines[0] and "Traceback" not in bad.stderr
