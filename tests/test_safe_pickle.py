"""The restricted unpickler reads lists of state bytes and refuses, unrun, anything else."""

from __future__ import annotations

import io
import os
import pathlib
import pickle
import re
import shlex
from dataclasses import dataclass

import numpy as np
import pytest

from harness.maze.safe_pickle import MazeFileError, UnsafePickleError, load_states

STATES = [b"\x00\x00\x00\x00first state", b"\x00\x00\x00\x00second\xff\x80\n\x00", b"third"]


class _Touch:
    """Unpickles as ``Path.touch(marker)``: proof of code execution if the file appears."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


class _System:
    """Unpickles as ``os.system("touch marker")``."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


@dataclass
class _Custom:
    data: bytes = b"x"


# ------------------------------------------------------------------ what is read
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_list_of_bytes_is_read_under_every_protocol(protocol: int) -> None:
    assert load_states(pickle.dumps(STATES, protocol=protocol)) == STATES


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_tuple_and_a_single_bytes_are_read(protocol: int) -> None:
    assert load_states(pickle.dumps(tuple(STATES), protocol=protocol)) == STATES
    out = load_states(pickle.dumps(STATES[1], protocol=protocol))
    assert out == [STATES[1]]
    assert all(type(s) is bytes for s in out)


def test_every_byte_value_survives_the_latin1_stand_in() -> None:
    state = bytes(range(256)) * 3
    for protocol in (0, 1, 2):
        data = pickle.dumps([state], protocol=protocol)
        assert b"_codecs" in data  # these protocols really go through _codecs.encode
        assert load_states(data) == [state]


def test_an_empty_list_is_read_as_empty() -> None:
    assert load_states(pickle.dumps([])) == []


def test_bytearray_entries_are_read_as_bytes() -> None:
    data = pickle.dumps([bytearray(STATES[0]), STATES[1]], protocol=5)
    out = load_states(data)
    assert out == STATES[:2]
    assert all(type(s) is bytes for s in out)
    assert load_states(pickle.dumps(bytearray(b"one"), protocol=5)) == [b"one"]


@pytest.mark.parametrize("protocol", range(5))
def test_bytearray_entries_are_read_under_older_protocols(protocol: int) -> None:
    data = pickle.dumps([bytearray(STATES[0])], protocol=protocol)
    assert load_states(data) == [STATES[0]]


# ------------------------------------------------------------------ code is refused unrun
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("payload", [_Touch, _System], ids=["Path.touch", "os.system"])
def test_a_pickle_that_runs_code_is_refused_before_it_runs(
    tmp_path: pathlib.Path, payload, protocol: int
) -> None:
    armed = tmp_path / "armed"
    data = pickle.dumps([STATES[0], payload(armed)], protocol=protocol)
    pickle.loads(data)  # the payload is live: plain pickle runs it
    assert armed.exists()

    marker = tmp_path / "marker"
    data = pickle.dumps([STATES[0], payload(marker)], protocol=protocol)
    with pytest.raises(UnsafePickleError, match="nothing in it was run") as info:
        load_states(data, what="evil.pkl")
    assert not marker.exists()
    msg = str(info.value)
    assert msg.startswith("evil.pkl: needs ")
    expected = {_Touch: ("pathlib", "touch"), _System: ("posix", "system")}[payload]
    # protocols < 4 spell a method as getattr(Path, "touch"): the first global refused
    assert any(name in msg for name in (*expected, "builtins.getattr", "__builtin__.getattr"))


def test_the_refusal_names_the_global(tmp_path: pathlib.Path) -> None:
    data = pickle.dumps([_System(tmp_path / "m")], protocol=4)
    with pytest.raises(UnsafePickleError, match=r"needs posix\.system to load"):
        load_states(data)
    data = pickle.dumps(_Touch(tmp_path / "m"), protocol=4)
    with pytest.raises(UnsafePickleError, match=r"needs pathlib\.Path\.touch to load"):
        load_states(data)
    assert not (tmp_path / "m").exists()


def test_unsafe_pickle_error_is_a_maze_file_error() -> None:
    assert issubclass(UnsafePickleError, MazeFileError)
    assert issubclass(MazeFileError, ValueError)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_a_numpy_array_is_refused(protocol: int) -> None:
    data = pickle.dumps([np.frombuffer(STATES[0], dtype=np.uint8)], protocol=protocol)
    with pytest.raises(UnsafePickleError, match=r"needs numpy"):
        load_states(data)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_custom_class_is_refused(protocol: int) -> None:
    data = pickle.dumps([_Custom()], protocol=protocol)
    assert pickle.loads(data) == [_Custom()]
    with pytest.raises(UnsafePickleError) as info:
        load_states(data)
    if protocol >= 2:
        assert "_Custom" in str(info.value)
    else:  # protocols 0-1 go through copyreg._reconstructor, spelt the Python 2 way
        assert "copy_reg._reconstructor" in str(info.value)


def test_codecs_encode_is_allowed_only_in_the_form_bytes_use() -> None:
    ok = b"c_codecs\nencode\n(Vabc\nVlatin1\ntR."
    assert load_states(ok) == [b"abc"]
    for bad in (
        b"c_codecs\nencode\n(Vabc\nVrot13\ntR.",
        b"c_codecs\nencode\n(Vabc\nVutf-8\ntR.",
        b"c_codecs\nencode\n(I12\nVlatin1\ntR.",
    ):
        with pytest.raises(UnsafePickleError, match=r"_codecs\.encode"):
            load_states(bad)


def test_other_codecs_globals_are_refused() -> None:
    with pytest.raises(UnsafePickleError, match=r"needs _codecs\.decode"):
        load_states(b"c_codecs\ndecode\n(Vabc\nVlatin1\ntR.")
    with pytest.raises(UnsafePickleError, match=r"needs builtins\.eval"):
        load_states(b"cbuiltins\neval\n(V1+1\ntR.")


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_a_persistent_id_is_refused(protocol: int) -> None:
    class _Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return "external-state" if obj == b"external" else None

    buf = io.BytesIO()
    _Pickler(buf, protocol=protocol).dump([STATES[0], b"external"])
    data = buf.getvalue()
    assert (b"P" if protocol == 0 else b"Q") in data  # PERSID / BINPERSID
    with pytest.raises(UnsafePickleError, match="persistent id"):
        load_states(data)


# ------------------------------------------------------------------ wrong contents
@pytest.mark.parametrize(
    ("obj", "words"),
    [
        ({"a": STATES[0]}, "holds a dict"),
        ("a string", "holds a str"),
        (None, "holds a NoneType"),
        (42, "holds a int"),
        ({STATES[0]}, "holds a set"),
    ],
)
def test_other_containers_are_refused(obj, words: str) -> None:
    with pytest.raises(MazeFileError, match=words) as info:
        load_states(pickle.dumps(obj), what="f.pkl")
    assert not isinstance(info.value, UnsafePickleError)
    assert str(info.value).startswith("f.pkl holds")


def test_a_list_with_non_bytes_entries_is_refused() -> None:
    data = pickle.dumps([STATES[0], 7, "text", STATES[1], [b"nested"]])
    with pytest.raises(MazeFileError, match=r"3 entries that are not bytes \(entry 1 is a int\)"):
        load_states(data)


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_a_truncated_pickle_is_a_maze_file_error(cut: int) -> None:
    data = pickle.dumps(STATES, protocol=4)
    with pytest.raises(MazeFileError, match="is not a readable pickle") as info:
        load_states(data[:-cut], what="cut.pkl")
    assert not isinstance(info.value, UnsafePickleError)
    assert str(info.value).startswith("cut.pkl is not a readable pickle")


@pytest.mark.parametrize("data", [b"", b"not a pickle at all", b"\x80\x05\xff\xff"])
def test_garbage_is_a_maze_file_error(data: bytes) -> None:
    with pytest.raises(MazeFileError, match="is not a readable pickle"):
        load_states(data)


@pytest.mark.parametrize(
    "data, call",
    [
        (b"c__builtin__\nbytes\n(I99999999999\ntR.", "bytes(int)"),
        (b"cbuiltins\nbytearray\n(I5\ntR.", "bytearray(int)"),
        (b"c_codecs\nencode\n(Vabc\ntR.", "_codecs.encode(str, NoneType, NoneType)"),
    ],
)
def test_bytes_stand_ins_refuse_sizes_and_odd_arguments(data: bytes, call: str) -> None:
    """``bytes(n)`` would allocate n bytes: a size is never accepted, only data."""
    with pytest.raises(UnsafePickleError, match="calls " + re.escape(call)):
        load_states(data)
