"""The state codec is an exact inverse pair and rejects everything that is not a maze state."""

from __future__ import annotations

import contextlib
import io
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.maze.codec import END_OF_BUFFER, StateFormatError, parse, serialize
from harness.maze.maze import Maze
from harness.maze.procgen_env import default_pool, level_state
from harness.maze.template import StateTemplate


@settings(max_examples=1000, deadline=None)
@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_roundtrip_exact_on_random_levels(seed: int) -> None:
    raw = level_state(seed)
    state = parse(raw)
    assert serialize(state) == raw
    assert state.level_seed == seed
    assert state.grid.shape == (25, 25)


def test_roundtrip_after_steps_and_edits() -> None:
    maze = Maze.from_seed(3)
    states = [maze.state_bytes(), maze.with_mouse((0, 2)).state_bytes()]
    pool = default_pool()
    rng = np.random.default_rng(0)
    for _ in range(20):
        states, _, _, _ = pool.step(states, rng.integers(0, 15, size=len(states)).tolist())
        for s in states:
            assert serialize(parse(s)) == s
    assert parse(states[0]).fields["cur_time"] > 0  # the steps really happened


def test_template_patch_equals_full_reserialization() -> None:
    maze = Maze.from_seed(11)
    edited = maze.with_mouse(maze.mouse_cells[-1]).without_cheese()
    patched = edited.state_bytes()
    state = parse(maze.state_bytes())
    codes = state.grid.copy()
    m = maze.margin
    codes[m + maze.cheese[0], m + maze.cheese[1]] = 100
    ents = [dict(e) for e in state.entities]
    x, y = edited.mouse_xy()
    ents[state.mouse_index].update(x=x, y=y)
    rebuilt = type(state)(fields=state.fields, entities=tuple(ents), grid=codes, offsets={})
    assert serialize(rebuilt) == patched


def _field_offset(raw: bytes, name: str) -> int:
    return parse(raw).offsets[name]


@pytest.fixture(scope="module")
def raw() -> bytes:
    return level_state(0)


def test_truncated_bytes_name_field_and_offset(raw: bytes) -> None:
    for cut in (0, 3, 10, 200, len(raw) // 2, len(raw) - 1):
        with pytest.raises(StateFormatError, match=r"truncated|runs past") as info:
            parse(raw[:cut])
        assert info.value.offset <= cut
        assert info.value.field


def test_trailing_garbage_rejected(raw: bytes) -> None:
    with pytest.raises(StateFormatError, match="trailing bytes") as info:
        parse(raw + b"\x00\x01")
    assert info.value.field == "END_OF_BUFFER"
    assert info.value.offset == len(raw)


def test_wrong_game_rejected() -> None:
    with contextlib.redirect_stderr(io.StringIO()):
        from procgen import ProcgenGym3Env
    env = ProcgenGym3Env(num=1, env_name="coinrun", start_level=0, num_levels=1, num_threads=1)
    coinrun = env.callmethod("get_state")[0]
    with pytest.raises(StateFormatError, match="wrong game 'coinrun'") as info:
        parse(coinrun)
    assert info.value.field == "game_name"


def test_absurd_lengths_rejected(raw: bytes) -> None:
    at = _field_offset(raw, "ents.size")
    bad = raw[:at] + struct.pack("=i", 10**8) + raw[at + 4 :]
    with pytest.raises(StateFormatError, match="absurd length") as info:
        parse(bad)
    assert (info.value.field, info.value.offset) == ("ents.size", at)
    at = _field_offset(raw, "rand_gen.str")
    for n in (-5, 2**30):
        bad = raw[:at] + struct.pack("=i", n) + raw[at + 4 :]
        with pytest.raises(StateFormatError, match="absurd length") as info:
            parse(bad)
        assert info.value.field == "rand_gen.str"


def test_wrong_version_marker_and_grid_rejected(raw: bytes) -> None:
    with pytest.raises(StateFormatError, match="version 7"):
        parse(struct.pack("=i", 7) + raw[4:])
    end = len(raw) - 4
    with pytest.raises(StateFormatError, match="end marker"):
        parse(raw[:end] + struct.pack("=I", END_OF_BUFFER ^ 1))
    at = _field_offset(raw, "grid.w")
    with pytest.raises(StateFormatError, match="absurd grid side"):
        parse(raw[:at] + struct.pack("=i", 0) + raw[at + 4 :])
    at = _field_offset(raw, "world_dim")
    with pytest.raises(StateFormatError, match="world_dim 31"):
        parse(raw[:at] + struct.pack("=i", 31) + raw[at + 4 :])


def test_non_bytes_rejected() -> None:
    with pytest.raises(TypeError, match="must be bytes"):
        parse("not bytes")  # type: ignore[arg-type]


def test_corrupt_state_never_reaches_procgen(raw: bytes) -> None:
    # procgen aborts the process on bad bytes; validation must stop them first.
    with pytest.raises(StateFormatError):
        default_pool().observe([raw[:-3]], validate=True)
    with pytest.raises(StateFormatError):
        StateTemplate(raw + b"x")
