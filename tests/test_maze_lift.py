"""Lifted mazes: states open outside their inner grid are refused unless lifted to the world.

The states here are made with the codec from real 13 x 13 levels: a corridor from the inner
top-right cell to the world's top-right corner (what the post's TR vector uses), and the
same corridor with the cheese moved into the world's corner cell.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest

from harness.experiments.activations import with_top_right_corridor
from harness.maze.codec import CHEESE, EMPTY, WALL, MazeState, parse, serialize
from harness.maze.maze import Maze, MazeError
from harness.maze.procgen_env import default_pool
from harness.maze.render import observe_uint8

WORLD = 25
CORNER = (WORLD - 1, WORLD - 1)


def _seeds_of_size(n: int, k: int) -> list[int]:
    found = list(itertools.islice((s for s in range(200) if Maze.from_seed(s).size == n), k))
    assert len(found) == k, f"fewer than {k} {n} x {n} levels in seeds 0..199"
    return found


SEEDS_13 = _seeds_of_size(13, 2)
MARGIN_13 = (WORLD - 13) // 2  # 6
INNER_TR = MARGIN_13 + 12  # outer row/col of the 13 x 13 grid's top-right cell: 18


def edit_state(
    raw: bytes,
    *,
    open_cells=(),
    codes: dict[tuple[int, int], int] | None = None,
    move_cheese_to: tuple[int, int] | None = None,
    mouse: tuple[int, int] | None = None,
    reflected: bool | None = None,
) -> bytes:
    """``raw`` with outer cells opened / set to codes, the cheese moved (its old cell emptied)
    and the mouse placed on an outer cell's centre or its facing changed."""
    st = parse(raw)
    grid = st.grid.copy()
    for r, c in open_cells:
        grid[r, c] = EMPTY
    if move_cheese_to is not None:
        grid[grid == CHEESE] = EMPTY
        grid[move_cheese_to] = CHEESE
    for cell, code in (codes or {}).items():
        grid[cell] = code
    entities = [dict(e) for e in st.entities]
    ent = entities[st.mouse_index]
    if mouse is not None:
        ent["x"], ent["y"] = mouse[1] + 0.5, mouse[0] + 0.5
    if reflected is not None:
        ent["is_reflected"] = int(reflected)
    edited = MazeState(
        fields=dict(st.fields), entities=tuple(entities), grid=grid, offsets=st.offsets
    )
    return serialize(edited)


def corridor_cells(corner: int = INNER_TR) -> list[tuple[int, int]]:
    """Outer cells of the corridor up from ``(corner, corner)`` and right to the corner."""
    up = [(r, corner) for r in range(corner + 1, WORLD)]
    right = [(WORLD - 1, c) for c in range(corner + 1, WORLD)]
    return up + right


def corridor_state(seed: int) -> bytes:
    return edit_state(Maze.from_seed(seed).state_bytes(), open_cells=corridor_cells())


def corner_cheese_state(seed: int) -> bytes:
    return edit_state(
        Maze.from_seed(seed).state_bytes(), open_cells=corridor_cells(), move_cheese_to=CORNER
    )


def test_the_helpers_really_open_cells_outside() -> None:
    raw = Maze.from_seed(SEEDS_13[0]).state_bytes()
    st = parse(raw)
    outside = st.grid.copy()
    outside[MARGIN_13 : MARGIN_13 + 13, MARGIN_13 : MARGIN_13 + 13] = WALL
    assert (outside == WALL).all()  # an ordinary level is closed outside its inner grid
    edited = parse(corner_cheese_state(SEEDS_13[0]))
    assert edited.grid[CORNER] == CHEESE
    assert (edited.grid == CHEESE).sum() == 1
    assert edited.maze_dim == 13


# ------------------------------------------------------------------ strict refusal
@pytest.mark.parametrize(
    ("make", "count"),
    [
        (corridor_state, 12),
        (corner_cheese_state, 12),
        (lambda s: edit_state(Maze.from_seed(s).state_bytes(), open_cells=[(0, 0)]), 1),
    ],
    ids=["corridor", "cheese-in-world-corner", "one-open-cell"],
)
def test_strict_read_refuses_open_cells_outside(make, count: int) -> None:
    raw = make(SEEDS_13[0])
    with pytest.raises(MazeError, match=f"{count} open cells outside its 13 x 13 inner grid"):
        Maze.from_state(raw)
    with pytest.raises(MazeError, match=r"lift=True"):
        Maze.from_state(raw, lift=False)


def test_strict_refusal_names_the_first_open_outer_cell() -> None:
    raw = edit_state(Maze.from_seed(SEEDS_13[0]).state_bytes(), open_cells=[(3, 20)])
    with pytest.raises(MazeError, match=r"first at outer cell \(3, 20\)"):
        Maze.from_state(raw)


# ------------------------------------------------------------------ lifting
@pytest.mark.parametrize("seed", SEEDS_13)
def test_lifting_a_corridor_maze(seed: int) -> None:
    orig = Maze.from_seed(seed)
    raw = corridor_state(seed)
    lifted = Maze.from_state(raw, lift=True)
    assert lifted.lifted
    assert lifted.size == lifted.world_dim == WORLD
    assert lifted.margin == 0
    assert lifted.inner_size == lifted.declared_size == 13
    assert lifted.start == (MARGIN_13, MARGIN_13)
    assert lifted.top_right == CORNER
    assert lifted.mouse == orig.to_outer(orig.mouse) == lifted.start
    assert lifted.cheese == orig.to_outer(orig.cheese)
    assert lifted.seed == orig.seed == seed
    assert lifted.mouse_reflected is False
    assert lifted.content_hash == hashlib.sha256(raw).hexdigest()
    # the inner grid sits in the world unchanged, and only the corridor is open outside
    m = MARGIN_13
    np.testing.assert_array_equal(lifted.walls[m : m + 13, m : m + 13], orig.walls)
    outside_open = {tuple(int(v) for v in rc) for rc in np.argwhere(~lifted.walls)}
    inner_open = {orig.to_outer(c) for c in orig.free_cells}
    assert outside_open - inner_open == set(corridor_cells())


@pytest.mark.parametrize("seed", SEEDS_13)
def test_the_codec_corridor_is_what_with_top_right_corridor_builds(seed: int) -> None:
    orig = Maze.from_seed(seed)
    built = with_top_right_corridor(orig)
    assert built.lifted and built.inner_size == 13 and built.start == (MARGIN_13, MARGIN_13)
    assert built.state_bytes() == corridor_state(seed)
    assert Maze.from_state(corridor_state(seed), lift=True) == built


@pytest.mark.parametrize("seed", SEEDS_13)
def test_lifting_a_state_with_the_cheese_in_the_worlds_corner(seed: int) -> None:
    orig = Maze.from_seed(seed)
    lifted = Maze.from_state(corner_cheese_state(seed), lift=True)
    assert lifted.lifted and lifted.inner_size == 13
    assert lifted.cheese == CORNER == lifted.top_right
    assert lifted.mouse == orig.to_outer(orig.mouse)
    assert lifted.seed == seed
    assert lifted.is_free(orig.to_outer(orig.cheese))  # the old cheese cell is now empty
    assert lifted.path_to_cheese is not None
    assert lifted.path_to_cheese[0] == lifted.start
    assert lifted.path_to_cheese[-1] == CORNER
    # the cheese is the top-right: one path contains the other, so they never diverge
    assert lifted.path_to_cheese == lifted.path_to_top_right
    assert lifted.decision_square is None


def test_lifting_keeps_a_moved_and_reflected_mouse() -> None:
    seed = SEEDS_13[0]
    raw = edit_state(
        Maze.from_seed(seed).state_bytes(),
        open_cells=corridor_cells(),
        mouse=(WORLD - 1, 20),
        reflected=True,
    )
    lifted = Maze.from_state(raw, lift=True)
    assert lifted.mouse == (WORLD - 1, 20)  # outer coordinates: on the corridor
    assert lifted.mouse_reflected is True
    assert lifted.start == (MARGIN_13, MARGIN_13)  # the start is the grid's, not the mouse's
    assert lifted.state_bytes() == raw
    st = parse(lifted.state_bytes())
    assert st.entities[st.mouse_index]["is_reflected"] == 1
    unreflected = lifted.with_mouse(lifted.mouse, reflected=False)
    assert unreflected != lifted
    assert unreflected.state_bytes() != raw


def test_lifting_keeps_the_level_seed_of_the_state() -> None:
    raws = [corridor_state(s) for s in SEEDS_13]
    seeds = [Maze.from_state(r, lift=True).seed for r in raws]
    assert seeds == SEEDS_13
    assert seeds == [parse(r).level_seed for r in raws]


# ------------------------------------------------------------------ round trips
def _lifted_states() -> list[bytes]:
    s = SEEDS_13[0]
    raw = Maze.from_seed(s).state_bytes()
    return [
        corridor_state(s),
        corner_cheese_state(s),
        edit_state(raw, open_cells=corridor_cells(), mouse=(WORLD - 1, 21), reflected=True),
        edit_state(raw, open_cells=[(0, 0), (0, 1), (24, 0)]),
        corridor_state(SEEDS_13[1]),
    ]


def test_state_bytes_of_a_lifted_maze_round_trip_exactly() -> None:
    for raw in _lifted_states():
        lifted = Maze.from_state(raw, lift=True)
        assert lifted.lifted
        assert lifted.state_bytes() == raw
        assert parse(lifted.state_bytes()).maze_dim == 13  # the declared size, not 25
        again = Maze.from_state(lifted.state_bytes(), lift=True)
        assert again == lifted
        assert hash(again) == hash(lifted)
        assert again.content_hash == lifted.content_hash == hashlib.sha256(raw).hexdigest()


def test_edits_of_a_lifted_maze_stay_lifted() -> None:
    lifted = Maze.from_state(corridor_state(SEEDS_13[0]), lift=True)
    moved = lifted.with_mouse((WORLD - 1, 22))
    assert moved.lifted and moved.inner_size == 13 and moved.start == lifted.start
    assert parse(moved.state_bytes()).maze_dim == 13
    assert Maze.from_state(moved.state_bytes(), lift=True) == moved
    assert lifted.without_cheese().lifted


def test_a_lifted_maze_renders_exactly_like_its_original_state() -> None:
    raws = _lifted_states()
    mazes = [Maze.from_state(r, lift=True) for r in raws]
    from_mazes = observe_uint8(mazes)
    from_states = default_pool().observe(raws)
    assert from_mazes.shape == (len(raws), 64, 64, 3)
    np.testing.assert_array_equal(from_mazes, from_states)
    # not vacuous: the edited states do look different from the level they were made from
    plain = observe_uint8([Maze.from_seed(SEEDS_13[0])])[0]
    assert (from_states[1] != plain).any()


def test_the_corridor_changes_only_pixels_near_the_corridor() -> None:
    orig = Maze.from_seed(SEEDS_13[0])
    plain, corridor = observe_uint8([orig, with_top_right_corridor(orig)])
    diff = np.argwhere((plain != corridor).any(axis=-1))
    assert len(diff) > 0
    corridor_set = set(corridor_cells())
    for i, j in diff:
        r, c = WORLD - 1 - (i * WORLD) // 64, (j * WORLD) // 64
        near = any(abs(r - a) <= 1 and abs(c - b) <= 1 for a, b in corridor_set)
        assert near, f"pixel {(i, j)} (outer cell {(r, c)}) changed, far from the corridor"


# ------------------------------------------------------------------ ordinary states
@pytest.mark.parametrize("seed", [*range(6), 17])
def test_an_ordinary_state_read_with_lift_stays_ordinary(seed: int) -> None:
    raw = Maze.from_seed(seed).state_bytes()
    n = parse(raw).maze_dim
    lifted = Maze.from_state(raw, lift=True)
    strict = Maze.from_state(raw, lift=False)
    assert lifted == strict == Maze.from_seed(seed)
    assert not lifted.lifted and lifted.inner_size is None
    assert lifted.size == lifted.declared_size == n
    assert lifted.start == (0, 0)
    assert lifted.top_right == (n - 1, n - 1)
    assert lifted.state_bytes() == raw
    assert lifted.decision_square == Maze.from_seed(seed).decision_square


def test_a_lifted_maze_differs_from_its_level() -> None:
    seed = SEEDS_13[0]
    lifted = Maze.from_state(corridor_state(seed), lift=True)
    assert lifted != Maze.from_seed(seed)
    assert (
        len({lifted, Maze.from_seed(seed), Maze.from_state(corridor_state(seed), lift=True)}) == 2
    )


# ------------------------------------------------------------------ decision squares
@pytest.mark.parametrize("seed", SEEDS_13)
def test_decision_square_of_a_lifted_maze_is_computed_from_its_start(seed: int) -> None:
    orig = Maze.from_seed(seed)
    lifted = Maze.from_state(corridor_state(seed), lift=True)
    assert not lifted.is_free((0, 0))  # from the world's (0, 0) there would be no path
    assert lifted.path_to_cheese == [orig.to_outer(c) for c in orig.path_to_cheese]
    pt = lifted.path_to_top_right
    assert pt[0] == lifted.start and pt[-1] == CORNER
    assert pt[: len(orig.path_to_top_right)] == [orig.to_outer(c) for c in orig.path_to_top_right]
    assert pt[len(orig.path_to_top_right) :] == corridor_cells()
    expected = None if orig.decision_square is None else orig.to_outer(orig.decision_square)
    assert lifted.decision_square == expected


def test_some_lifted_maze_has_a_decision_square() -> None:
    found = [
        Maze.from_state(corridor_state(s), lift=True).decision_square
        for s in SEEDS_13
        if Maze.from_seed(s).has_decision_square
    ]
    assert found and all(ds is not None for ds in found)


def test_a_lifted_maze_whose_world_corner_is_a_wall_has_no_decision_square() -> None:
    seed = SEEDS_13[0]
    raw = Maze.from_seed(seed).state_bytes()
    short = [c for c in corridor_cells() if c != CORNER]  # stops one cell short
    for state in (edit_state(raw, open_cells=short), edit_state(raw, open_cells=[(0, 0)])):
        lifted = Maze.from_state(state, lift=True)
        assert lifted.lifted
        assert not lifted.is_free(lifted.top_right)
        assert lifted.path_to_top_right is None
        assert lifted.decision_square is None
        assert not lifted.has_decision_square
        assert lifted.path_to_cheese is not None  # the cheese is still reachable
    walled = Maze.from_state(corridor_state(seed), lift=True).with_walls([CORNER])
    assert walled.path_to_top_right is None and walled.decision_square is None


def test_a_lifted_maze_whose_start_is_a_wall_has_no_paths() -> None:
    lifted = Maze.from_state(corridor_state(SEEDS_13[0]), lift=True)
    away = lifted.with_mouse((WORLD - 1, 20))
    walled = away.with_walls([away.start])
    assert walled.lifted and not walled.is_free(walled.start)
    assert walled.path_to_cheese is None
    assert walled.path_to_top_right is None
    assert walled.decision_square is None


# ------------------------------------------------------------------ bad lifted states
def test_lift_refuses_a_second_cheese_outside() -> None:
    raw = edit_state(
        Maze.from_seed(SEEDS_13[0]).state_bytes(),
        open_cells=corridor_cells(),
        codes={CORNER: CHEESE},
    )
    with pytest.raises(MazeError, match="2 cheeses"):
        Maze.from_state(raw, lift=True)


def test_lift_refuses_unknown_codes_outside() -> None:
    raw = edit_state(Maze.from_seed(SEEDS_13[0]).state_bytes(), codes={(0, 0): 7})
    with pytest.raises(MazeError, match=r"unknown grid codes \[7\]"):
        Maze.from_state(raw, lift=True)


def test_lift_refuses_a_mouse_on_a_wall_outside() -> None:
    raw = edit_state(Maze.from_seed(SEEDS_13[0]).state_bytes(), open_cells=[(0, 0)], mouse=(0, 1))
    with pytest.raises(MazeError, match=r"mouse cell \(0, 1\) is a wall"):
        Maze.from_state(raw, lift=True)


# ------------------------------------------------------------------ inner_size validation
def _world_maze_kwargs(walls: np.ndarray) -> dict:
    t = Maze.from_seed(SEEDS_13[0]).template
    return {"walls": walls, "cheese": None, "mouse": (0, 0), "seed": None, "template": t}


def _open(n: int) -> np.ndarray:
    return np.zeros((n, n), dtype=bool)


def test_inner_size_builds_a_lifted_maze() -> None:
    maze = Maze(**_world_maze_kwargs(_open(WORLD)), inner_size=13)
    assert maze.lifted and maze.inner_size == 13 and maze.start == (6, 6)
    assert Maze(**_world_maze_kwargs(_open(WORLD)), inner_size=np.int64(3)).inner_size == 3
    assert not Maze(**_world_maze_kwargs(_open(WORLD))).lifted


@pytest.mark.parametrize("n", [3, 13, 23])
def test_inner_size_needs_a_world_sized_grid(n: int) -> None:
    with pytest.raises(MazeError, match=rf"inner_size is for lifted mazes.*{n} x {n}"):
        Maze(**_world_maze_kwargs(_open(n)), inner_size=n)


@pytest.mark.parametrize("inner", [12, 2, 24, 1, 27, 0, -13])
def test_inner_size_must_be_odd_and_in_range(inner: int) -> None:
    with pytest.raises(MazeError, match=rf"inner_size must be odd and in 3\.\.25, got {inner}"):
        Maze(**_world_maze_kwargs(_open(WORLD)), inner_size=inner)


@pytest.mark.parametrize("inner", [13.0, "13", True])
def test_inner_size_must_be_an_int(inner) -> None:
    with pytest.raises(TypeError, match="inner_size must be an int"):
        Maze(**_world_maze_kwargs(_open(WORLD)), inner_size=inner)
