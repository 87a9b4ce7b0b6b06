"""Files of mazes: pickles, raw states and maze directories, read and written exactly."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import pytest

from harness.experiments.activations import with_top_right_corridor
from harness.maze import mazefiles
from harness.maze.codec import parse, serialize
from harness.maze.maze import Maze
from harness.maze.mazefiles import (
    MANIFEST,
    MazeFileError,
    MazeSet,
    UnsafePickleError,
    load_mazes,
    write_maze_dir,
)

SEEDS = list(range(6))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def states() -> list[bytes]:
    return [Maze.from_seed(s).state_bytes() for s in SEEDS]


@pytest.fixture(scope="module")
def lifted_state() -> bytes:
    seed = next(s for s in range(100) if Maze.from_seed(s).size == 13)
    return with_top_right_corridor(Maze.from_seed(seed)).state_bytes()


def write_pickle(path: Path, obj, protocol: int = pickle.DEFAULT_PROTOCOL) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


# ------------------------------------------------------------------ reading each format
@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_a_pickled_list_is_read_in_order(tmp_path: Path, states, protocol: int) -> None:
    f = write_pickle(tmp_path / "demo.pkl", states, protocol)
    ms = load_mazes(f)
    assert ms.kind == "pickle"
    assert ms.source == str(f)
    assert len(ms) == len(states)
    assert list(ms.mazes) == [Maze.from_seed(s) for s in SEEDS]
    assert ms.labels == tuple(f"demo.pkl[{i}]" for i in range(len(states)))
    assert ms.source_hashes == tuple(sha(s) for s in states)
    assert ms.hashes == ms.source_hashes
    assert ms.normalized == 0
    assert ms.lifted == 0


def test_a_pickled_tuple_and_a_pickled_single_state_are_read(tmp_path: Path, states) -> None:
    ms = load_mazes(write_pickle(tmp_path / "t.pkl", tuple(states[:2])))
    assert list(ms.mazes) == [Maze.from_seed(0), Maze.from_seed(1)]
    one = load_mazes(write_pickle(tmp_path / "one.pkl", states[3]))
    assert one.kind == "pickle"
    assert list(one.mazes) == [Maze.from_seed(3)]
    assert one.labels == ("one.pkl[0]",)


def test_a_raw_state_file_is_read(tmp_path: Path, states) -> None:
    f = tmp_path / "level.bin"
    f.write_bytes(states[2])
    ms = load_mazes(f)
    assert ms.kind == "state"
    assert ms.labels == ("level.bin",)
    assert list(ms.mazes) == [Maze.from_seed(2)]
    assert ms.hashes == (sha(states[2]),)
    assert load_mazes(str(f)).hashes == ms.hashes  # a str path works too


def test_a_directory_without_manifest_is_read_in_name_order(tmp_path: Path, states) -> None:
    d = tmp_path / "loose"
    d.mkdir()
    for name, i in [("b.bin", 1), ("a.bin", 4), ("c.bin", 0)]:
        (d / name).write_bytes(states[i])
    (d / "notes.txt").write_text("ignored")
    (d / "sub.bin").mkdir()  # a directory named like a state is not a state
    ms = load_mazes(d)
    assert ms.kind == "directory"
    assert ms.labels == ("a.bin", "b.bin", "c.bin")
    assert list(ms.mazes) == [Maze.from_seed(4), Maze.from_seed(1), Maze.from_seed(0)]


def test_states_open_outside_are_lifted(tmp_path: Path, states, lifted_state) -> None:
    f = write_pickle(tmp_path / "mix.pkl", [states[0], lifted_state, states[1]])
    ms = load_mazes(f)
    assert [m.lifted for m in ms.mazes] == [False, True, False]
    assert ms.lifted == 1
    assert ms.mazes[1].state_bytes() == lifted_state
    assert ms.hashes[1] == sha(lifted_state)
    assert "1 lifted to the world" in ms.describe()
    assert ms.to_dict()["lifted"] == 1
    assert "lifted" not in load_mazes(write_pickle(tmp_path / "p.pkl", states)).describe()


def test_describe_and_to_dict(tmp_path: Path, states) -> None:
    f = write_pickle(tmp_path / "d.pkl", states[:3])
    ms = load_mazes(f)
    assert ms.sha256 == sha("\n".join(sha(s) for s in states[:3]).encode())
    assert ms.describe() == f"3 given mazes from {f} (pickle; set sha256 {ms.sha256[:12]})"
    assert ms.to_dict() == {
        "source": str(f),
        "kind": "pickle",
        "count": 3,
        "lifted": 0,
        "sha256": ms.sha256,
    }
    other = load_mazes(write_pickle(tmp_path / "e.pkl", states[:3][::-1]))
    assert other.sha256 != ms.sha256  # the set's identity depends on the order


def test_a_state_with_the_mouse_between_cells_is_normalized(tmp_path: Path, states) -> None:
    st = parse(states[0])
    ents = [dict(e) for e in st.entities]
    ents[st.mouse_index]["x"] += 0.25
    off_centre = serialize(
        type(st)(fields=dict(st.fields), entities=tuple(ents), grid=st.grid, offsets=st.offsets)
    )
    ms = load_mazes(write_pickle(tmp_path / "n.pkl", [off_centre, states[1]]))
    assert ms.normalized == 1
    assert ms.source_hashes[0] == sha(off_centre) != ms.hashes[0]
    assert ms.hashes[1] == ms.source_hashes[1]
    files = write_maze_dir(ms, tmp_path / "out")
    entry = json.loads((tmp_path / "out" / MANIFEST).read_text())["mazes"][0]
    assert entry["source_sha256"] == sha(off_centre)
    assert entry["sha256"] == sha(files[0].read_bytes()) == ms.hashes[0]


# ------------------------------------------------------------------ writing and reading back
def test_write_then_read_round_trips(tmp_path: Path, states, lifted_state) -> None:
    src = write_pickle(tmp_path / "src.pkl", [*states, lifted_state])
    ms = load_mazes(src)
    out = tmp_path / "out"
    files = write_maze_dir(ms, out)
    assert [f.name for f in files] == [f"{i:04d}.bin" for i in range(len(ms))]
    assert sorted(p.name for p in out.iterdir()) == sorted([*(f.name for f in files), MANIFEST])
    assert [sha(f.read_bytes()) for f in files] == list(ms.hashes)
    assert [f.read_bytes() for f in files] == [*states, lifted_state]

    back = load_mazes(out)
    assert back.kind == "directory"
    assert back.source == str(out)
    assert list(back.mazes) == list(ms.mazes)
    assert back.hashes == ms.hashes
    assert back.sha256 == ms.sha256
    assert back.labels == tuple(f.name for f in files)
    assert back.lifted == 1


def test_the_manifest_records_each_maze(tmp_path: Path, states, lifted_state) -> None:
    src = write_pickle(tmp_path / "src.pkl", [states[0], lifted_state])
    ms = load_mazes(src)
    write_maze_dir(ms, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["format"] == mazefiles.FORMAT
    assert manifest["version"] == mazefiles.FORMAT_VERSION
    assert manifest["source"] == {"path": str(src), "kind": "pickle"}
    plain, lifted = manifest["mazes"]
    m0, m1 = ms.mazes
    assert plain["file"] == "0000.bin"
    assert plain["source_label"] == "src.pkl[0]" and plain["source_index"] == 0
    assert plain["level_seed"] == 0 and plain["lifted"] is False
    assert plain["size"] == plain["inner_size"] == m0.size
    assert plain["mouse"] == list(m0.mouse) and plain["cheese"] == list(m0.cheese)
    assert plain["decision_square"] == list(m0.decision_square)
    assert lifted["lifted"] is True
    assert lifted["size"] == 25 and lifted["inner_size"] == 13
    assert lifted["cheese"] == list(m1.cheese)
    assert lifted["decision_square"] == (
        None if m1.decision_square is None else list(m1.decision_square)
    )


def test_a_written_directory_can_be_written_again_identically(tmp_path: Path, states) -> None:
    ms = load_mazes(write_pickle(tmp_path / "s.pkl", states))
    write_maze_dir(ms, tmp_path / "a")
    again = load_mazes(tmp_path / "a")
    files = write_maze_dir(again, tmp_path / "b")
    assert [f.read_bytes() for f in files] == states
    assert load_mazes(tmp_path / "b").sha256 == ms.sha256


def test_writing_into_an_empty_existing_directory_works(tmp_path: Path, states) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    files = write_maze_dir(load_mazes(write_pickle(tmp_path / "s.pkl", states[:2])), out)
    assert len(files) == 2 and (out / MANIFEST).is_file()
    nested = tmp_path / "x" / "y"
    assert len(write_maze_dir(load_mazes(out), nested)) == 2  # parents are created


def test_writing_into_a_non_empty_directory_is_refused(tmp_path: Path, states) -> None:
    ms = load_mazes(write_pickle(tmp_path / "s.pkl", states[:2]))
    out = tmp_path / "busy"
    out.mkdir()
    (out / "other.txt").write_text("keep me")
    with pytest.raises(MazeFileError, match="is not empty"):
        write_maze_dir(ms, out)
    assert sorted(p.name for p in out.iterdir()) == ["other.txt"]
    f = tmp_path / "a_file"
    f.write_text("x")
    with pytest.raises(MazeFileError, match="is a file"):
        write_maze_dir(ms, f)
    assert f.read_text() == "x"


def test_a_maze_set_built_without_source_hashes_can_be_written(tmp_path: Path) -> None:
    ms = MazeSet(mazes=(Maze.from_seed(0),), labels=("made",), source="code", kind="pickle")
    files = write_maze_dir(ms, tmp_path / "out")
    assert load_mazes(tmp_path / "out").hashes == (sha(files[0].read_bytes()),)


# ------------------------------------------------------------------ manifest verification
@pytest.fixture
def maze_dir(tmp_path: Path, states) -> Path:
    out = tmp_path / "dir"
    write_maze_dir(load_mazes(write_pickle(tmp_path / "s.pkl", states[:3])), out)
    return out


def _manifest(d: Path) -> dict:
    return json.loads((d / MANIFEST).read_text())


def _rewrite(d: Path, manifest: dict) -> None:
    (d / MANIFEST).write_text(json.dumps(manifest))


def test_a_tampered_state_file_is_refused(maze_dir: Path) -> None:
    f = maze_dir / "0001.bin"
    data = bytearray(f.read_bytes())
    recorded = _manifest(maze_dir)["mazes"][1]["sha256"]
    data[-10] ^= 1
    f.write_bytes(bytes(data))
    with pytest.raises(MazeFileError, match="changed after it was written") as info:
        load_mazes(maze_dir)
    msg = str(info.value)
    assert "0001.bin" in msg
    assert sha(bytes(data))[:12] in msg and recorded[:12] in msg


def test_a_state_file_replaced_by_another_valid_state_is_refused(maze_dir: Path, states) -> None:
    (maze_dir / "0000.bin").write_bytes(states[5])  # a valid state, just not the listed one
    with pytest.raises(MazeFileError, match=r"0000\.bin has sha256"):
        load_mazes(maze_dir)


def test_a_state_file_not_in_the_manifest_is_refused(maze_dir: Path, states) -> None:
    (maze_dir / "0003.bin").write_bytes(states[4])
    with pytest.raises(MazeFileError, match=r"1 \.bin files its mazes\.json does not list") as info:
        load_mazes(maze_dir)
    assert "0003.bin" in str(info.value)


def test_a_listed_file_that_is_missing_is_refused(maze_dir: Path) -> None:
    (maze_dir / "0002.bin").unlink()
    with pytest.raises(MazeFileError, match=r"lists 0002\.bin, which is not in"):
        load_mazes(maze_dir)


def test_removing_the_manifest_reads_the_files_in_name_order(maze_dir: Path) -> None:
    listed = load_mazes(maze_dir)
    (maze_dir / MANIFEST).unlink()
    loose = load_mazes(maze_dir)
    assert list(loose.mazes) == list(listed.mazes)
    assert loose.labels == listed.labels


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda m: m.update(format="something/else"), "is not a maze manifest"),
        (lambda m: m.pop("format"), "is not a maze manifest"),
        (lambda m: m.update(version=2), "has manifest version 2"),
        (lambda m: m.update(mazes="0000.bin"), "'mazes' must be a list"),
        (lambda m: m["mazes"][0].pop("sha256"), "'mazes' must be a list"),
        (lambda m: m["mazes"][0].update(file="../0000.bin"), "outside its directory or not"),
        (lambda m: m["mazes"][0].update(file="0000.dat"), "outside its directory or not"),
    ],
    ids=["format", "no-format", "version", "mazes-str", "no-sha256", "parent-dir", "not-bin"],
)
def test_a_bad_manifest_is_refused(maze_dir: Path, edit, words: str) -> None:
    manifest = _manifest(maze_dir)
    edit(manifest)
    _rewrite(maze_dir, manifest)
    with pytest.raises(MazeFileError, match=words):
        load_mazes(maze_dir)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"mazes"'])
def test_a_manifest_that_is_not_a_manifest_object_is_refused(maze_dir: Path, text: str) -> None:
    (maze_dir / MANIFEST).write_text(text)
    with pytest.raises(MazeFileError, match=r"readable JSON|is not a maze manifest"):
        load_mazes(maze_dir)


def test_a_manifest_listing_nothing_is_refused(maze_dir: Path) -> None:
    manifest = _manifest(maze_dir)
    manifest["mazes"] = []
    _rewrite(maze_dir, manifest)
    with pytest.raises(MazeFileError, match=r"3 \.bin files its mazes\.json does not list"):
        load_mazes(maze_dir)
    for f in maze_dir.glob("*.bin"):
        f.unlink()
    with pytest.raises(MazeFileError, match=r"holds no mazes \(an empty list\)"):
        load_mazes(maze_dir)


def test_the_manifest_order_is_the_read_order(maze_dir: Path) -> None:
    before = load_mazes(maze_dir)
    manifest = _manifest(maze_dir)
    manifest["mazes"].reverse()
    _rewrite(maze_dir, manifest)
    after = load_mazes(maze_dir)
    assert list(after.mazes) == list(before.mazes)[::-1]
    assert after.labels == ("0002.bin", "0001.bin", "0000.bin")


# ------------------------------------------------------------------ bad files
def test_a_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MazeFileError, match="no maze file or directory at"):
        load_mazes(tmp_path / "nope.pkl")


def test_an_empty_list_and_an_empty_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MazeFileError, match=r"holds no mazes \(an empty list\)"):
        load_mazes(write_pickle(tmp_path / "empty.pkl", []))
    (tmp_path / "void").mkdir()
    with pytest.raises(MazeFileError, match=r"holds no mazes: no mazes\.json and no \.bin"):
        load_mazes(tmp_path / "void")


def test_a_corrupt_state_names_its_entry(tmp_path: Path, states) -> None:
    bad = states[1][:-7]
    f = write_pickle(tmp_path / "c.pkl", [states[0], bad, states[2]])
    with pytest.raises(MazeFileError, match=r"maze c\.pkl\[1\] cannot be read"):
        load_mazes(f)
    raw = tmp_path / "raw.bin"
    raw.write_bytes(b"\x00\x00\x00\x00 but nothing after")
    with pytest.raises(MazeFileError, match=r"maze raw\.bin cannot be read: bad maze state"):
        load_mazes(raw)
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.bin").write_bytes(states[0])
    (d / "b.bin").write_bytes(bad)
    with pytest.raises(MazeFileError, match=r"maze b\.bin cannot be read"):
        load_mazes(d)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_an_empty_state_entry_is_refused(tmp_path: Path, states, protocol: int) -> None:
    f = write_pickle(tmp_path / "e.pkl", [states[0], b""], protocol)
    with pytest.raises(MazeFileError):
        load_mazes(f)


def test_a_state_with_an_illegal_maze_names_its_entry(tmp_path: Path, states) -> None:
    st = parse(states[0])
    grid = st.grid.copy()
    m = (25 - st.maze_dim) // 2
    grid[m, m] = 51  # a wall under the mouse
    walled = serialize(
        type(st)(fields=dict(st.fields), entities=st.entities, grid=grid, offsets=st.offsets)
    )
    with pytest.raises(MazeFileError, match=r"maze w\.pkl\[0\] cannot be read: mouse cell"):
        load_mazes(write_pickle(tmp_path / "w.pkl", [walled]))


def test_a_dict_pickle_is_refused(tmp_path: Path, states) -> None:
    f = write_pickle(tmp_path / "dict.pkl", {"mazes": states})
    with pytest.raises(MazeFileError, match="holds a dict") as info:
        load_mazes(f)
    assert not isinstance(info.value, UnsafePickleError)
    assert str(f) in str(info.value)


def test_non_bytes_entries_are_refused(tmp_path: Path, states) -> None:
    f = write_pickle(tmp_path / "ints.pkl", [states[0], 3, 4])
    with pytest.raises(MazeFileError, match="2 entries that are not bytes"):
        load_mazes(f)


def test_a_pickle_that_needs_code_is_refused_unrun(tmp_path: Path, states) -> None:
    marker = tmp_path / "marker"

    class _Touch:
        def __reduce__(self):
            return (Path.touch, (marker,))

    f = tmp_path / "evil.pkl"
    f.write_bytes(pickle.dumps([states[0], _Touch()]))
    with pytest.raises(UnsafePickleError, match=r"evil\.pkl: needs pathlib"):
        load_mazes(f)
    assert not marker.exists()


def test_a_file_that_is_neither_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("just some text\n")
    with pytest.raises(MazeFileError, match="is not a readable pickle"):
        load_mazes(f)


def test_an_oversized_file_is_refused_before_reading(
    tmp_path: Path, states, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = write_pickle(tmp_path / "big.pkl", states)
    monkeypatch.setattr(mazefiles, "MAX_FILE_BYTES", 1000)
    with pytest.raises(MazeFileError, match="more than the 1,000 a maze file may have"):
        load_mazes(f)


def test_a_manifest_listing_a_file_twice_is_refused(maze_dir: Path) -> None:
    manifest = _manifest(maze_dir)
    manifest["mazes"].append(dict(manifest["mazes"][0]))
    _rewrite(maze_dir, manifest)
    with pytest.raises(MazeFileError, match=r"0000\.bin more than once"):
        load_mazes(maze_dir)
