"""Exact codec for procgen maze state bytes.

procgen's ``get_state`` writes a flat, native-endian record (``Game::serialize``, then
``BasicAbstractGame::serialize`` with its entities and grid, then maze's ``maze_dim`` and
``world_dim``, then an end marker). This module follows that field order exactly, so
``serialize(parse(b)) == b`` for every maze state. procgen itself aborts the whole process
on malformed bytes (``fassert``), so everything handed to ``set_state`` goes through
:func:`parse` first and bad input becomes a :class:`StateFormatError` naming the field and
byte offset instead.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

SERIALIZE_VERSION = 0
END_OF_BUFFER = 0xCAFECAFE
GAME_NAME = "maze"

#: Grid object codes used by procgen's maze.
CHEESE = 2
WALL = 51
EMPTY = 100
#: Entity type of the player (the mouse).
PLAYER = 0

# Sanity bounds: far above anything procgen writes, far below what would exhaust memory.
_MAX_STRING = 1 << 16
_MAX_ENTITIES = 4096
_MAX_GRID_SIDE = 1024

Kind = Literal["i", "f", "s"]

_GAME_FIELDS: tuple[tuple[str, Kind], ...] = (
    ("SERIALIZE_VERSION", "i"),
    ("game_name", "s"),
    ("options.paint_vel_info", "i"),
    ("options.use_generated_assets", "i"),
    ("options.use_monochrome_assets", "i"),
    ("options.restrict_themes", "i"),
    ("options.use_backgrounds", "i"),
    ("options.center_agent", "i"),
    ("options.debug_mode", "i"),
    ("options.distribution_mode", "i"),
    ("options.use_sequential_levels", "i"),
    ("options.use_easy_jump", "i"),
    ("options.plain_assets", "i"),
    ("options.physics_mode", "i"),
    ("grid_step", "i"),
    ("level_seed_low", "i"),
    ("level_seed_high", "i"),
    ("game_type", "i"),
    ("game_n", "i"),
    ("level_seed_rand_gen.is_seeded", "i"),
    ("level_seed_rand_gen.str", "s"),
    ("rand_gen.is_seeded", "i"),
    ("rand_gen.str", "s"),
    ("step_data.reward", "f"),
    ("step_data.done", "i"),
    ("step_data.level_complete", "i"),
    ("action", "i"),
    ("timeout", "i"),
    ("current_level_seed", "i"),
    ("prev_level_seed", "i"),
    ("episodes_remaining", "i"),
    ("episode_done", "i"),
    ("last_reward_timer", "i"),
    ("last_reward", "f"),
    ("default_action", "i"),
    ("fixed_asset_seed", "i"),
    ("cur_time", "i"),
    ("is_waiting_for_step", "i"),
    ("grid_size", "i"),
)

ENTITY_FIELDS: tuple[tuple[str, Kind], ...] = (
    ("x", "f"),
    ("y", "f"),
    ("vx", "f"),
    ("vy", "f"),
    ("rx", "f"),
    ("ry", "f"),
    ("type", "i"),
    ("image_type", "i"),
    ("image_theme", "i"),
    ("render_z", "i"),
    ("will_erase", "i"),
    ("collides_with_entities", "i"),
    ("collision_margin", "f"),
    ("rotation", "f"),
    ("vrot", "f"),
    ("is_reflected", "i"),
    ("fire_time", "i"),
    ("spawn_time", "i"),
    ("life_time", "i"),
    ("expire_time", "i"),
    ("use_abs_coords", "i"),
    ("friction", "f"),
    ("smart_step", "i"),
    ("avoids_collisions", "i"),
    ("auto_erase", "i"),
    ("alpha", "f"),
    ("health", "f"),
    ("theta", "f"),
    ("grow_rate", "f"),
    ("alpha_decay", "f"),
    ("climber_spawn_x", "f"),
)
ENTITY_SIZE = 4 * len(ENTITY_FIELDS)

_BASIC_FIELDS: tuple[tuple[str, Kind], ...] = (
    ("use_procgen_background", "i"),
    ("background_index", "i"),
    ("bg_tile_ratio", "f"),
    ("bg_pct_x", "f"),
    ("char_dim", "f"),
    ("last_move_action", "i"),
    ("move_action", "i"),
    ("special_action", "i"),
    ("mixrate", "f"),
    ("maxspeed", "f"),
    ("max_jump", "f"),
    ("action_vx", "f"),
    ("action_vy", "f"),
    ("action_vrot", "f"),
    ("center_x", "f"),
    ("center_y", "f"),
    ("random_agent_start", "i"),
    ("has_useful_vel_info", "i"),
    ("step_rand_int", "i"),
    ("asset_rand_gen.is_seeded", "i"),
    ("asset_rand_gen.str", "s"),
    ("main_width", "i"),
    ("main_height", "i"),
    ("out_of_bounds_object", "i"),
    ("unit", "f"),
    ("view_dim", "f"),
    ("x_off", "f"),
    ("y_off", "f"),
    ("visibility", "f"),
    ("min_visibility", "f"),
)

_MAZE_FIELDS: tuple[tuple[str, Kind], ...] = (("maze_dim", "i"), ("world_dim", "i"))

_I32 = struct.Struct("=i")
_U32 = struct.Struct("=I")
_F32 = struct.Struct("=f")


class StateFormatError(ValueError):
    """Bytes that are not a procgen maze state; names the field and the byte offset."""

    def __init__(self, field_name: str, offset: int, problem: str) -> None:
        self.field = field_name
        self.offset = offset
        self.problem = problem
        super().__init__(f"bad maze state at byte {offset} (field {field_name!r}): {problem}")


@dataclass(frozen=True, eq=False)
class MazeState:
    """A parsed maze state: every serialized field, in procgen's order.

    ``fields`` maps field names to values (ints, floats, or ``str`` for the length-prefixed
    strings). ``entities`` is one dict per entity (entity 0 is the mouse). ``grid`` is the
    world grid as an (h, w) int32 array indexed ``[row, col]`` with row 0 at the *bottom*
    of the image (procgen's y axis). ``offsets`` gives the byte offset of each scalar field,
    of each entity field as ``"ents[i].name"``, and of the grid data as ``"grid.data"``.
    """

    fields: dict[str, int | float | str]
    entities: tuple[dict[str, int | float], ...]
    grid: np.ndarray
    offsets: dict[str, int] = field(repr=False)

    @property
    def mouse_index(self) -> int:
        for i, ent in enumerate(self.entities):
            if ent["type"] == PLAYER:
                return i
        raise StateFormatError("ents", self.offsets["ents.size"], "no player entity")

    @property
    def maze_dim(self) -> int:
        return int(self.fields["maze_dim"])

    @property
    def world_dim(self) -> int:
        return int(self.fields["world_dim"])

    @property
    def level_seed(self) -> int:
        return int(self.fields["current_level_seed"])


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.offset = 0

    def _need(self, name: str, size: int) -> None:
        if self.offset + size > len(self.data):
            raise StateFormatError(
                name,
                self.offset,
                f"truncated: needs {size} more bytes, {len(self.data) - self.offset} left",
            )

    def read_int(self, name: str) -> int:
        self._need(name, 4)
        (v,) = _I32.unpack_from(self.data, self.offset)
        self.offset += 4
        return v

    def read_float(self, name: str) -> float:
        self._need(name, 4)
        (v,) = _F32.unpack_from(self.data, self.offset)
        self.offset += 4
        return v

    def read_count(self, name: str, limit: int, item_size: int) -> int:
        at = self.offset
        n = self.read_int(name)
        if n < 0 or n > limit:
            raise StateFormatError(name, at, f"absurd length {n} (allowed 0..{limit})")
        if at + 4 + n * item_size > len(self.data):
            raise StateFormatError(
                name, at, f"length {n} runs past the end of the {len(self.data)}-byte buffer"
            )
        return n

    def read_string(self, name: str) -> str:
        n = self.read_count(name, _MAX_STRING, 1)
        raw = bytes(self.data[self.offset : self.offset + n])
        self.offset += n
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise StateFormatError(name, self.offset - n, "string is not ASCII") from exc

    def read(self, name: str, kind: Kind) -> int | float | str:
        if kind == "i":
            return self.read_int(name)
        if kind == "f":
            return self.read_float(name)
        return self.read_string(name)


def _read_fields(
    r: _Reader,
    spec: tuple[tuple[str, Kind], ...],
    fields: dict[str, int | float | str],
    offsets: dict[str, int],
) -> None:
    for name, kind in spec:
        offsets[name] = r.offset
        fields[name] = r.read(name, kind)


def _check_header(r: _Reader) -> None:
    version = r.read_int("SERIALIZE_VERSION")
    if version != SERIALIZE_VERSION:
        raise StateFormatError(
            "SERIALIZE_VERSION", 0, f"version {version}, expected {SERIALIZE_VERSION}"
        )
    at = r.offset
    name = r.read_string("game_name")
    if name != GAME_NAME:
        raise StateFormatError("game_name", at, f"wrong game {name!r}, expected {GAME_NAME!r}")
    r.offset = 0


def _read_entities(r: _Reader, offsets: dict[str, int]) -> list[dict[str, int | float | str]]:
    offsets["ents.size"] = r.offset
    n_ents = r.read_count("ents.size", _MAX_ENTITIES, ENTITY_SIZE)
    entities = []
    for i in range(n_ents):
        ent: dict[str, int | float | str] = {}
        ent_offsets: dict[str, int] = {}
        _read_fields(r, ENTITY_FIELDS, ent, ent_offsets)
        offsets.update({f"ents[{i}].{k}": v for k, v in ent_offsets.items()})
        entities.append(ent)
    return entities


def _read_grid(r: _Reader, offsets: dict[str, int]) -> np.ndarray:
    offsets["grid.w"] = r.offset
    w = r.read_int("grid.w")
    offsets["grid.h"] = r.offset
    h = r.read_int("grid.h")
    for label, side, where in (("grid.w", w, offsets["grid.w"]), ("grid.h", h, offsets["grid.h"])):
        if not 0 < side <= _MAX_GRID_SIDE:
            raise StateFormatError(label, where, f"absurd grid side {side}")
    offsets["grid.data.size"] = r.offset
    size = r.read_count("grid.data.size", _MAX_GRID_SIDE**2, 4)
    if size != w * h:
        raise StateFormatError(
            "grid.data.size", offsets["grid.data.size"], f"{size} cells for a {w} x {h} grid"
        )
    offsets["grid.data"] = r.offset
    grid = np.frombuffer(r.data, dtype=np.int32, count=size, offset=r.offset).reshape(h, w).copy()
    grid.setflags(write=False)
    r.offset += 4 * size
    return grid


def _read_end(r: _Reader, offsets: dict[str, int]) -> None:
    offsets["END_OF_BUFFER"] = r.offset
    r._need("END_OF_BUFFER", 4)
    (marker,) = _U32.unpack_from(r.data, r.offset)
    if marker != END_OF_BUFFER:
        raise StateFormatError(
            "END_OF_BUFFER", r.offset, f"end marker {marker:#x}, expected {END_OF_BUFFER:#x}"
        )
    r.offset += 4
    if r.offset != len(r.data):
        raise StateFormatError(
            "END_OF_BUFFER", r.offset, f"{len(r.data) - r.offset} trailing bytes after the end"
        )


def _check_dims(
    grid: np.ndarray, fields: dict[str, int | float | str], offsets: dict[str, int]
) -> None:
    h, w = grid.shape
    if grid.shape != (fields["world_dim"], fields["world_dim"]):
        raise StateFormatError(
            "world_dim",
            offsets["world_dim"],
            f"world_dim {fields['world_dim']} does not match the {w} x {h} grid",
        )
    if fields["grid_size"] != w * h:
        raise StateFormatError(
            "grid_size", offsets["grid_size"], f"grid_size {fields['grid_size']} != {w} x {h}"
        )


def parse(data: bytes) -> MazeState:
    """Parse procgen maze state bytes; raise :class:`StateFormatError` on anything else."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"state must be bytes, not {type(data).__name__}")
    r = _Reader(bytes(data))
    fields: dict[str, int | float | str] = {}
    offsets: dict[str, int] = {}
    _check_header(r)
    _read_fields(r, _GAME_FIELDS, fields, offsets)
    entities = _read_entities(r, offsets)
    _read_fields(r, _BASIC_FIELDS, fields, offsets)
    grid = _read_grid(r, offsets)
    _read_fields(r, _MAZE_FIELDS, fields, offsets)
    _read_end(r, offsets)
    _check_dims(grid, fields, offsets)
    state = MazeState(fields=fields, entities=tuple(entities), grid=grid, offsets=offsets)
    state.mouse_index  # noqa: B018 - raises when there is no player entity
    return state


def _write(out: bytearray, kind: Kind, value: int | float | str) -> None:
    if kind == "i":
        out += _I32.pack(int(value))
    elif kind == "f":
        out += _F32.pack(float(value))
    else:
        raw = str(value).encode("ascii")
        out += _I32.pack(len(raw)) + raw


def serialize(state: MazeState) -> bytes:
    """Write a :class:`MazeState` back to procgen's byte format (inverse of :func:`parse`)."""
    out = bytearray()
    for name, kind in _GAME_FIELDS:
        _write(out, kind, state.fields[name])
    out += _I32.pack(len(state.entities))
    for ent in state.entities:
        for name, kind in ENTITY_FIELDS:
            _write(out, kind, ent[name])
    for name, kind in _BASIC_FIELDS:
        _write(out, kind, state.fields[name])
    h, w = state.grid.shape
    out += _I32.pack(w) + _I32.pack(h) + _I32.pack(w * h)
    out += np.ascontiguousarray(state.grid, dtype=np.int32).tobytes()
    for name, kind in _MAZE_FIELDS:
        _write(out, kind, state.fields[name])
    out += _U32.pack(END_OF_BUFFER)
    return bytes(out)
