"""The maze as an immutable value.

Coordinates (used everywhere in this package)
---------------------------------------------
A *cell* is ``(row, col)`` in the **inner grid**: the ``n x n`` maze (n odd, 3..25) with
row 0 at the **bottom** and column 0 at the left, so the mouse starts at ``(0, 0)`` and the
top-right cell is ``(n - 1, n - 1)``. procgen's world is ``world_dim x world_dim`` (25 in
hard mode) with the inner grid centred at ``margin = (world_dim - n) // 2``; *outer* cells
are ``(row + margin, col + margin)``, also counted from the bottom. procgen's own
coordinates are ``x = outer col + 0.5``, ``y = outer row + 0.5``. Image row ``i`` of a
64-pixel observation shows outer row ``world_dim - 1 - floor(i * world_dim / 64)``.

A :class:`Maze` holds the inner grid (walls as booleans), the cheese cell (or None), the
mouse cell and the way its sprite faces, the level seed it came from, and the procgen state
it is rendered from. A *lifted* maze comes from a state with open cells outside its inner
grid (the post's corridors out of a 13 x 13 maze, a cheese in the world's corner): it spans
the whole world (``size == world_dim``, margin 0), keeps the inner size the state declares
(``inner_size``, procgen's ``maze_dim``) so its start is that grid's bottom-left cell and its
state bytes round-trip exactly, and its top-right is the world's top-right corner.

Facing matters: procgen mirrors the mouse sprite after a move to the right
(``is_reflected``), which changes two or three pixels of the observation; a level starts
unreflected, and that is what vector fields use unless told otherwise. Edits
return new mazes; illegal ones raise :class:`MazeError` naming the problem. Cells and seeds
must be ints (Python or numpy): anything else is a ``TypeError``, never truncated (see
:mod:`harness.maze.checks`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from harness.maze import grid as G
from harness.maze.checks import Cell, MazeError, as_cell, as_index
from harness.maze.codec import CHEESE, EMPTY, WALL
from harness.maze.procgen_env import check_seed, level_state
from harness.maze.template import StateTemplate

#: Seed whose procgen state provides the background and sprites for mazes built from grids.
DEFAULT_TEMPLATE_SEED = 0
TOP_RIGHT_REGION = 5


_TEMPLATES: dict[int, StateTemplate] = {}
#: Parsed levels kept (about 10 KB each); a long calibration run raises it.
TEMPLATE_CACHE_SIZE = 4096


def template_for_seed(seed: int) -> StateTemplate:
    """The parsed procgen state of level ``seed`` (cached: levels are pure functions of seeds)."""
    seed = check_seed(seed)  # before the cache lookup, where 1.0 and True would find level 1
    if seed not in _TEMPLATES:
        if len(_TEMPLATES) > TEMPLATE_CACHE_SIZE:
            _TEMPLATES.clear()
        _TEMPLATES[seed] = StateTemplate(level_state(seed))
    return _TEMPLATES[seed]


@dataclass(frozen=True, eq=False)
class Maze:
    """An immutable maze: inner walls, cheese, mouse, level seed, render template."""

    walls: np.ndarray
    cheese: Cell | None
    mouse: Cell
    seed: int | None
    template: StateTemplate = field(repr=False)
    mouse_reflected: bool = False
    #: For a lifted (world-sized) maze, the inner grid size its state declares; None otherwise.
    inner_size: int | None = None

    def __post_init__(self) -> None:
        walls = np.array(self.walls, dtype=bool, copy=True)
        if walls.ndim != 2 or walls.shape[0] != walls.shape[1]:
            raise MazeError(f"the inner grid must be square, got shape {walls.shape}")
        n = walls.shape[0]
        world = self.template.world_dim
        if n % 2 == 0 or not 3 <= n <= world:
            raise MazeError(f"the inner grid size must be odd and in 3..{world}, got {n}")
        walls.setflags(write=False)
        object.__setattr__(self, "walls", walls)
        if self.inner_size is not None:
            object.__setattr__(self, "inner_size", self._check_inner_size(self.inner_size))
        if self.seed is not None:
            object.__setattr__(self, "seed", as_index(self.seed, "seed"))
        object.__setattr__(self, "mouse", self._check_free(self.mouse, "mouse"))
        if self.cheese is not None:
            cheese = self._check_free(self.cheese, "cheese")
            if cheese == self.mouse:
                raise MazeError(f"mouse and cheese are both at {cheese}")
            object.__setattr__(self, "cheese", cheese)

    def _check_inner_size(self, inner_size: int) -> int:
        inner, n, world = as_index(inner_size, "inner_size"), self.size, self.world_dim
        if n != world:
            raise MazeError(
                f"inner_size is for lifted mazes, which span the {world} x {world} world; "
                f"this grid is {n} x {n}"
            )
        if inner % 2 == 0 or not 3 <= inner <= world:
            raise MazeError(f"inner_size must be odd and in 3..{world}, got {inner}")
        return inner

    def _check_free(self, cell: Iterable[int], what: str) -> Cell:
        r, c = as_cell(cell, f"{what} cell")
        n = self.size
        if not (0 <= r < n and 0 <= c < n):
            raise MazeError(f"{what} cell {(r, c)} is outside the {n} x {n} inner grid")
        if self.walls[r, c]:
            raise MazeError(f"{what} cell {(r, c)} is a wall")
        return r, c

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_seed(cls, seed: int) -> Maze:
        """The maze procgen generates for level ``seed`` (hard mode), mouse at the start."""
        seed = check_seed(seed)
        return cls._from_parsed(template_for_seed(seed), seed=seed)

    @classmethod
    def from_state(cls, state_bytes: bytes, *, lift: bool = False) -> Maze:
        """A maze read from procgen state bytes (validated; see :mod:`harness.maze.codec`).

        A state with open cells outside its inner grid is refused unless ``lift=True``, which
        reads it as a lifted, world-sized maze (mouse, cheese, level seed and facing kept;
        ``state_bytes()`` gives the same bytes back). Strict is the default because a caller
        that expects an ordinary maze would otherwise get a 25 x 25 one without noticing.
        """
        template = StateTemplate(state_bytes)
        return cls._from_parsed(template, seed=template.state.level_seed, lift=lift)

    @classmethod
    def _from_parsed(cls, template: StateTemplate, seed: int | None, lift: bool = False) -> Maze:
        state = template.state
        n, world = state.maze_dim, state.world_dim
        if n % 2 == 0 or not 3 <= n <= world:
            raise MazeError(f"state has maze_dim {n}, expected an odd size in 3..{world}")
        m = (world - n) // 2
        codes = state.grid
        unknown = set(np.unique(codes).tolist()) - {CHEESE, WALL, EMPTY}
        if unknown:
            raise MazeError(f"state has unknown grid codes {sorted(unknown)}")
        outside = codes.copy()
        outside[m : m + n, m : m + n] = WALL
        open_outside = np.argwhere(outside != WALL)
        inner_size = None
        if len(open_outside):
            if not lift:
                first = tuple(int(v) for v in open_outside[0])
                raise MazeError(
                    f"state has {len(open_outside)} open cells outside its {n} x {n} inner "
                    f"grid (the first at outer cell {first}); read it with "
                    "Maze.from_state(..., lift=True) as a world-sized maze"
                )
            m, n, inner_size = 0, world, state.maze_dim
        inner = codes[m : m + n, m : m + n]
        cheeses = np.argwhere(inner == CHEESE)
        if len(cheeses) > 1:
            raise MazeError(f"state has {len(cheeses)} cheeses at {cheeses.tolist()}")
        ent = state.entities[state.mouse_index]
        mouse = (int(np.floor(ent["y"])) - m, int(np.floor(ent["x"])) - m)
        return cls(
            walls=inner == WALL,
            cheese=tuple(int(v) for v in cheeses[0]) if len(cheeses) else None,
            mouse=mouse,
            seed=seed,
            template=template,
            mouse_reflected=bool(ent["is_reflected"]),
            inner_size=inner_size,
        )

    @classmethod
    def from_grid(
        cls,
        walls: np.ndarray,
        cheese: Cell | None,
        mouse: Cell = (0, 0),
        seed: int | None = None,
        template_seed: int = DEFAULT_TEMPLATE_SEED,
    ) -> Maze:
        """A maze from an inner wall grid (row 0 at the bottom), rendered with the background
        and sprites of level ``template_seed``."""
        return cls(
            walls=np.asarray(walls, dtype=bool),
            cheese=cheese,
            mouse=mouse,
            seed=seed,
            template=template_for_seed(template_seed),
        )

    @classmethod
    def from_codes(cls, codes: np.ndarray, mouse: Cell = (0, 0), **kwargs) -> Maze:
        """A maze from procgen object codes (2 cheese, 51 wall, 100 empty), row 0 at the bottom."""
        codes = np.asarray(codes)
        unknown = set(np.unique(codes).tolist()) - {CHEESE, WALL, EMPTY}
        if unknown:
            raise MazeError(f"unknown grid codes {sorted(unknown)} (use 2, 51, 100)")
        cheeses = np.argwhere(codes == CHEESE)
        if len(cheeses) > 1:
            raise MazeError(f"{len(cheeses)} cheeses at {cheeses.tolist()}; a maze has at most one")
        cheese = tuple(int(v) for v in cheeses[0]) if len(cheeses) else None
        return cls.from_grid(codes == WALL, cheese, mouse, **kwargs)

    # ----------------------------------------------------------------- identity
    @cached_property
    def _key(self) -> tuple:
        return (
            self.walls.shape[0],
            self.walls.tobytes(),
            self.cheese,
            self.mouse,
            self.mouse_reflected,
            self.seed,
            self.inner_size,
        )

    @cached_property
    def content_hash(self) -> str:
        """sha256 (hex) of the procgen state this maze renders from: the identity a report
        gives a maze that is not simply a level seed (``sha256sum`` of an imported ``.bin``)."""
        return hashlib.sha256(self.state_bytes()).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Maze) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    # ----------------------------------------------------------------- geometry
    @property
    def size(self) -> int:
        return int(self.walls.shape[0])

    @property
    def world_dim(self) -> int:
        return self.template.world_dim

    @property
    def margin(self) -> int:
        return (self.world_dim - self.size) // 2

    @property
    def lifted(self) -> bool:
        """Whether this is a world-sized maze read from a state open outside its inner grid."""
        return self.inner_size is not None

    @property
    def start(self) -> Cell:
        """Where a level's mouse starts: the bottom-left cell of the inner grid (of the
        declared one, for a lifted maze)."""
        if self.inner_size is None:
            return (0, 0)
        m = (self.world_dim - self.inner_size) // 2
        return (m, m)

    @property
    def top_right(self) -> Cell:
        return (self.size - 1, self.size - 1)

    def to_outer(self, cell: Cell) -> Cell:
        r, c = as_cell(cell, "cell")
        return (r + self.margin, c + self.margin)

    def from_outer(self, cell: Cell) -> Cell:
        r, c = as_cell(cell, "outer cell")
        return (r - self.margin, c - self.margin)

    def contains(self, cell: Cell) -> bool:
        r, c = as_cell(cell, "cell")
        return 0 <= r < self.size and 0 <= c < self.size

    def is_free(self, cell: Cell) -> bool:
        r, c = as_cell(cell, "cell")
        return 0 <= r < self.size and 0 <= c < self.size and not self.walls[r, c]

    @cached_property
    def free_cells(self) -> tuple[Cell, ...]:
        """Every non-wall cell (the cheese's included), bottom row first."""
        return tuple(G.free_cells(self.walls))

    @cached_property
    def mouse_cells(self) -> tuple[Cell, ...]:
        """Every cell the mouse may stand on: free cells except the cheese's."""
        return tuple(c for c in self.free_cells if c != self.cheese)

    # ----------------------------------------------------------------- paths
    def path(self, start: Cell, goal: Cell) -> list[Cell] | None:
        """A shortest path from ``start`` to ``goal`` inclusive (None if unreachable)."""
        return G.path_between(self.walls, start, goal)  # which checks both cells

    def _path_if_free(self, start: Cell, goal: Cell) -> list[Cell] | None:
        """A shortest path, None when either end is a wall (possible only in lifted mazes,
        whose start or world corner an edit may have walled)."""
        if not (self.is_free(start) and self.is_free(goal)):
            return None
        return self.path(start, goal)

    @cached_property
    def path_to_cheese(self) -> list[Cell] | None:
        """Shortest path from the start to the cheese; None without cheese."""
        return None if self.cheese is None else self._path_if_free(self.start, self.cheese)

    @cached_property
    def path_to_top_right(self) -> list[Cell] | None:
        return self._path_if_free(self.start, self.top_right)

    @cached_property
    def decision_square(self) -> Cell | None:
        """The last cell the paths start->cheese and start->top-right share.

        None when there is no cheese, when either target is unreachable, or when one path
        contains the other (the cheese lies on the way to the top-right, or the top-right on
        the way to the cheese): then the paths never diverge.
        """
        pc, pt = self.path_to_cheese, self.path_to_top_right
        if pc is None or pt is None:
            return None
        k = G.common_prefix_end(pc, pt)
        if k == len(pc) - 1 or k == len(pt) - 1:
            return None
        return pc[k]

    @property
    def has_decision_square(self) -> bool:
        return self.decision_square is not None

    def cheese_in_top_right(self, region: int = TOP_RIGHT_REGION) -> bool:
        """Whether the cheese lies in the top-right ``region x region`` cells of the inner grid."""
        if self.cheese is None:
            return False
        lo = self.size - region
        return self.cheese[0] >= lo and self.cheese[1] >= lo

    # ----------------------------------------------------------------- edits
    def _replace(self, **changes) -> Maze:
        values = {
            "walls": self.walls,
            "cheese": self.cheese,
            "mouse": self.mouse,
            "seed": self.seed,
            "template": self.template,
            "mouse_reflected": self.mouse_reflected,
            "inner_size": self.inner_size,
        }
        values.update(changes)
        return Maze(**values)

    def without_cheese(self) -> Maze:
        return self._replace(cheese=None)

    def with_cheese(self, cell: Cell) -> Maze:
        """The same maze with the cheese moved to ``cell`` (which must be free)."""
        return self._replace(cheese=as_cell(cell, "cheese cell"))

    def with_mouse(self, cell: Cell, reflected: bool | None = None) -> Maze:
        """The mouse moved to ``cell``; ``reflected`` sets its facing (None keeps it)."""
        if reflected is None:
            return self._replace(mouse=as_cell(cell, "mouse cell"))
        return self._replace(mouse=as_cell(cell, "mouse cell"), mouse_reflected=bool(reflected))

    def with_walls(self, cells: Sequence[Cell], wall: bool = True) -> Maze:
        """The same maze with ``cells`` turned into walls (or opened, with ``wall=False``)."""
        walls = self.walls.copy()
        for cell in cells:
            r, c = as_cell(cell, "wall cell")
            if not self.contains((r, c)):
                raise MazeError(f"wall cell {(r, c)} is outside the {self.size} x {self.size} grid")
            walls[r, c] = wall
        return self._replace(walls=walls)

    def with_mice(self, cells: Iterable[Cell]) -> list[Maze]:
        """One maze per cell with the mouse there (what a vector field renders)."""
        return [self.with_mouse(c) for c in cells]

    # ----------------------------------------------------------------- procgen state
    def world_codes(self) -> np.ndarray:
        """procgen's (world_dim, world_dim) object codes for this maze, row 0 at the bottom."""
        out = np.full((self.world_dim, self.world_dim), WALL, dtype=np.int32)
        m, n = self.margin, self.size
        inner = np.where(self.walls, WALL, EMPTY).astype(np.int32)
        if self.cheese is not None:
            inner[self.cheese] = CHEESE
        out[m : m + n, m : m + n] = inner
        return out

    def mouse_xy(self) -> tuple[float, float]:
        """procgen (x, y) of the mouse: outer column + 0.5, outer row + 0.5."""
        m = self.margin  # not to_outer: the mouse is checked already, and this runs per cell
        return (self.mouse[1] + m + 0.5, self.mouse[0] + m + 0.5)

    @property
    def declared_size(self) -> int:
        """The inner grid size the maze's procgen state declares (``maze_dim``)."""
        return self.size if self.inner_size is None else self.inner_size

    def state_bytes(self) -> bytes:
        return state_bytes_many([self])[0]


def state_bytes_many(mazes: Sequence[Maze]) -> list[bytes]:
    """procgen states for many mazes, patched in one numpy pass per shared template."""
    out: list[bytes | None] = [None] * len(mazes)
    groups: dict[int, list[int]] = {}
    for i, mz in enumerate(mazes):
        groups.setdefault(id(mz.template), []).append(i)
    for idx in groups.values():
        template = mazes[idx[0]].template
        grids = np.stack([mazes[i].world_codes() for i in idx])
        xy = np.array([mazes[i].mouse_xy() for i in idx], dtype=np.float32)
        dims = np.array([mazes[i].declared_size for i in idx], dtype=np.int32)
        refl = np.array([mazes[i].mouse_reflected for i in idx], dtype=np.int32)
        for i, s in zip(idx, template.patch(grids, xy, dims, refl), strict=True):
            out[i] = s
    return out  # type: ignore[return-value]
