"""Bad input to the maze layer fails at once with an error naming the value and the fix.

Three classes: non-integer cells and seeds are a ``TypeError`` (never truncated to a
different cell or level); filters no level can pass are a ``MazeFilterError`` when built;
searches that cannot succeed, or run out of procgen's seeds, are a ``MazeSearchError``.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.maze import grid as G
from harness.maze import streams
from harness.maze.maze import Maze, MazeError, template_for_seed
from harness.maze.procgen_env import MAX_SEED, check_seed, level_state
from harness.maze.streams import (
    MazeFilter,
    MazeFilterError,
    MazeSearchError,
    maze_stream,
    mazes_with_cheese_at,
    seeds_from,
    shifted,
    take,
)

# seed 0 is a 13 x 13 level: (0, 2) is free, (1, 1) a wall, outer = inner + 6
SEED0_FREE = (0, 2)


@pytest.fixture(scope="module")
def maze() -> Maze:
    m = Maze.from_seed(0)
    assert m.size == 13 and m.is_free(SEED0_FREE) and m.cheese != SEED0_FREE
    return m


# ------------------------------------------------------------------ non-integer cells
BAD_CELLS = [
    (6.9, 4.2),  # used to become (6, 4)
    (0.0, 2.0),  # integral floats are floats too
    (0, 2.0),
    (True, 2),  # a bool is not a row
    (0, False),
    ("0", "2"),
    "a3",  # a two-character string is not a pair of ints
    (None, 2),
    (np.float64(0), 2),
    np.array([0.0, 2.0]),
    np.array([0, 2], dtype=np.float32),
    (np.bool_(False), 2),
    np.zeros((2, 2), dtype=int),  # two rows, not two ints
]


@pytest.mark.parametrize("cell", BAD_CELLS, ids=repr)
@pytest.mark.parametrize(
    "use",
    [
        lambda m, c: m.with_mouse(c),
        lambda m, c: m.with_mouse(c, reflected=True),
        lambda m, c: m.with_cheese(c),
        lambda m, c: m.with_walls([(2, 2), c]),
        lambda m, c: m.with_mice([SEED0_FREE, c]),
        lambda m, c: m.path((0, 0), c),
        lambda m, c: m.path(c, (0, 0)),
        lambda m, c: m.is_free(c),
        lambda m, c: m.contains(c),
        lambda m, c: m.to_outer(c),
        lambda m, c: m.from_outer(c),
        lambda m, c: Maze.from_grid(m.walls, cheese=None, mouse=c),
        lambda m, c: Maze.from_grid(m.walls, cheese=c),
        lambda _, c: Maze.from_codes(np.full((3, 3), 100), mouse=c),
        lambda m, c: G.distances_from(m.walls, c),
        lambda m, c: G.path_between(m.walls, (0, 0), c),
        lambda m, c: G.next_moves_towards(m.walls, c),
        lambda _, c: shifted(c, (0, 1)),
        lambda _, c: mazes_with_cheese_at(c),
    ],
    ids=[
        "with_mouse",
        "with_mouse_reflected",
        "with_cheese",
        "with_walls",
        "with_mice",
        "path_goal",
        "path_start",
        "is_free",
        "contains",
        "to_outer",
        "from_outer",
        "from_grid_mouse",
        "from_grid_cheese",
        "from_codes_mouse",
        "grid_distances",
        "grid_path",
        "grid_next_moves",
        "shifted",
        "mazes_with_cheese_at",
    ],
)
def test_non_integer_cells_are_type_errors_naming_the_cell(maze: Maze, use, cell) -> None:
    with pytest.raises(TypeError, match=r"must be a \(row, col\) pair of ints, got ") as info:
        use(maze, cell)
    assert repr(cell) in str(info.value)
    assert "int()" in str(info.value)  # and says how to convert on purpose


@pytest.mark.parametrize("cell", [(1, 2, 3), (1,), (), 5, None, np.array([1, 2, 3])], ids=repr)
def test_cells_that_are_not_pairs_are_maze_errors(maze: Maze, cell) -> None:
    for use in (maze.with_mouse, maze.with_cheese, maze.is_free, maze.to_outer):
        with pytest.raises(MazeError, match=r"must be a \(row, col\) pair of ints"):
            use(cell)


def test_integer_cells_of_any_integer_type_are_accepted(maze: Maze) -> None:
    want = maze.with_mouse(SEED0_FREE)
    for cell in (
        [0, 2],
        (np.int64(0), np.int32(2)),
        np.array([0, 2]),
        np.array([0, 2], dtype=np.uint8),
    ):
        moved = maze.with_mouse(cell)
        assert moved == want
        assert all(type(v) is int for v in moved.mouse)  # normalized, so equality and hashing agree
        assert maze.is_free(cell) and maze.to_outer(cell) == (6, 8)
    assert maze.with_mice(np.argwhere(~maze.walls)[:3]) == maze.with_mice(maze.free_cells[:3])


# ------------------------------------------------------------------ non-integer seeds
BAD_SEEDS = [1.5, 3.0, True, False, "3", None, np.float64(3), np.bool_(True), 1 + 0j, [3]]


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
@pytest.mark.parametrize(
    ("use", "what"),
    [
        (Maze.from_seed, "level seed"),
        (level_state, "level seed"),
        (template_for_seed, "level seed"),
        (lambda s: Maze.from_grid(np.zeros((3, 3), bool), None, template_seed=s), "level seed"),
        (maze_stream, "base seed"),
        (seeds_from, "base seed"),
        (lambda s: mazes_with_cheese_at((12, 12), base_seed=s), "base seed"),
    ],
    ids=[
        "from_seed",
        "level_state",
        "template",
        "template_seed",
        "stream",
        "seeds_from",
        "cheese_at",
    ],
)
def test_non_integer_seeds_are_type_errors_at_the_call(use, what: str, seed) -> None:
    # at the call: no next() needed, so a stream built with a bad seed fails where it is built
    with pytest.raises(TypeError, match=f"^{what} must be an int, got ") as info:
        use(seed)
    assert repr(seed) in str(info.value)


def test_a_grid_maze_seed_is_an_int_or_none() -> None:
    walls = np.zeros((3, 3), bool)
    assert Maze.from_grid(walls, None, seed=None).seed is None
    assert type(Maze.from_grid(walls, None, seed=np.int64(4)).seed) is int
    for seed in (1.5, 2.0, True, "3"):
        with pytest.raises(TypeError, match=f"^seed must be an int, got {seed!r}"):
            Maze.from_grid(walls, None, seed=seed)


def test_cached_levels_do_not_answer_for_coercible_seeds() -> None:
    # level 1 in every cache first: 1.0 == 1 and True == 1 would find its entries
    assert Maze.from_seed(1) == Maze.from_seed(np.int64(1))
    assert type(Maze.from_seed(np.int64(1)).seed) is int
    for seed in (1.0, True, np.float32(1)):
        with pytest.raises(TypeError):
            Maze.from_seed(seed)
        with pytest.raises(TypeError):
            template_for_seed(seed)
        with pytest.raises(TypeError):
            level_state(seed)


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 2**31, 2**63, np.int64(-5)], ids=repr)
def test_seeds_outside_procgen_range_name_the_range(seed) -> None:
    for use, what in (
        (Maze.from_seed, "level seed"),
        (level_state, "level seed"),
        (maze_stream, "base seed"),
        (lambda s: mazes_with_cheese_at((12, 12), s), "base seed"),
    ):
        with pytest.raises(
            ValueError, match=f"^{what} {seed} is outside procgen's range 0..{MAX_SEED}"
        ):
            use(seed)
    assert check_seed(MAX_SEED) == MAX_SEED and check_seed(np.uint32(0)) == 0


def test_other_stream_arguments_are_checked_at_the_call() -> None:
    with pytest.raises(TypeError, match="where must be a MazeFilter, got"):
        maze_stream(0, {"min_size": 5})
    with pytest.raises(TypeError, match=r"^max_seeds must be an int, got 2\.5"):
        mazes_with_cheese_at((12, 12), max_seeds=2.5)
    with pytest.raises(MazeError, match="max_seeds must be >= 0"):
        mazes_with_cheese_at((12, 12), max_seeds=-1)
    with pytest.raises(TypeError, match=r"^move must be True or False, got 'no'"):
        mazes_with_cheese_at((12, 12), move="no")
    with pytest.raises(TypeError, match=r"^n must be an int, got 2\.0"):
        take(maze_stream(0), 2.0)
    with pytest.raises(ValueError, match="n >= 0, got -1"):
        take(maze_stream(0), -1)


# ------------------------------------------------------------------ impossible filters
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"min_size": 4, "max_size": 4},
            r"size range 4\.\.4 holds no maze size .* use 3\.\.3, 5\.\.5",
        ),
        ({"min_size": 24, "max_size": 24}, r"size range 24\.\.24 holds no maze size"),
        ({"min_size": 9, "max_size": 5}, r"size range 9\.\.5 is empty \(min_size > max_size\)"),
        ({"max_size": 26}, r"size range 3\.\.26 reaches outside .* 3\.\.25"),
        ({"min_size": 27, "max_size": 31}, r"size range 27\.\.31 reaches outside"),
        ({"min_size": 1}, r"size range 1\.\.25 reaches outside"),
        ({"min_size": -3, "max_size": 3}, r"size range -3\.\.3 reaches outside"),
        ({"region": 0}, r"region 0 is not a square .* 1\.\.25"),
        ({"region": -5}, r"region -5 is not a square"),
        ({"region": 26}, r"region 26 is not a square"),
        (
            {"cheese_in_top_right": False, "max_size": 5},
            r"size <= 5 every cheese lies in the top-right 5x5",
        ),
        ({"cheese_in_top_right": False, "max_size": 10, "region": 9}, r"size <= 9 every cheese"),
        ({"cheese_in_top_right": False, "region": 25}, r"size <= 25 every cheese"),
        (
            {"cheese_in_top_right": True, "has_decision_square": True, "region": 1},
            r"levels are trees, so a cheese in the top-right 1x1 .* no decision square",
        ),
        (
            {"cheese_in_top_right": True, "has_decision_square": True, "region": 2},
            r"top-right 2x2 .* use region >= 3",
        ),
    ],
)
def test_impossible_filters_fail_when_built(kwargs: dict, message: str) -> None:
    with pytest.raises(MazeFilterError, match=message) as info:
        MazeFilter(**kwargs)
    assert isinstance(info.value, ValueError)  # the old contract still holds


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [
        ({"min_size": 5.0}, "5.0"),
        ({"max_size": "25"}, "'25'"),
        ({"min_size": True}, "True"),
        ({"max_size": None}, "None"),
        ({"min_size": np.float64(7)}, "7.0"),
        ({"region": 2.5}, "2.5"),
        ({"has_decision_square": "yes"}, "'yes'"),
        ({"has_decision_square": 1}, "1"),
        ({"cheese_in_top_right": 0}, "0"),
    ],
)
def test_filter_fields_of_the_wrong_type_are_type_errors(kwargs: dict, bad: str) -> None:
    with pytest.raises(TypeError, match=f"^MazeFilter {next(iter(kwargs))} must be .*got {bad}"):
        MazeFilter(**kwargs)


def test_possible_edge_filters_are_built_and_yield() -> None:
    assert MazeFilter(min_size=np.int64(5), max_size=np.int64(7)) == MazeFilter(
        min_size=5, max_size=7
    )
    assert MazeFilter(has_decision_square=np.bool_(True)).has_decision_square is True
    cases = [
        MazeFilter(min_size=4, max_size=5),  # one odd size in range
        MazeFilter(min_size=24, max_size=25),
        MazeFilter(cheese_in_top_right=False, max_size=7),  # 7 x 7 mazes have cells outside the 5x5
        MazeFilter(cheese_in_top_right=True, has_decision_square=True, region=3),
        MazeFilter(cheese_in_top_right=True, region=1),
    ]
    for where in cases:
        found = take(maze_stream(0, where), 2)
        assert len(found) == 2 and all(where.accepts(m) for m in found), where.describe()


def test_the_impossible_combinations_are_really_impossible() -> None:
    mazes = take(maze_stream(0, MazeFilter(max_size=5)), 40)
    assert all(m.cheese_in_top_right(5) for m in mazes)  # so cheese_in_top_right=False passes none
    placed = 0
    for m in mazes + take(maze_stream(0), 30):
        n = m.size
        for cell in [(n - 1, n - 1), (n - 2, n - 1), (n - 1, n - 2)]:  # (n-2, n-2) is a wall
            if m.is_free(cell) and cell != m.mouse:
                placed += 1
                assert not m.with_cheese(cell).has_decision_square  # so DS + top-right 2x2 neither
    assert placed > 70


# ------------------------------------------------------------------ bounded searches
RARE = MazeFilter(has_decision_square=True, max_size=3)  # first levels passing: 77, 111, 226


def test_a_rare_filter_gives_up_after_the_bound_naming_where_it_looked(monkeypatch) -> None:
    first, second = (m.seed for m in take(maze_stream(0, RARE), 2))
    assert (first, second) == (77, 111)
    monkeypatch.setattr(streams, "MAX_SEEDS_WITHOUT_MATCH", first)  # seeds 0..76 all fail
    with pytest.raises(MazeSearchError) as info:
        take(maze_stream(0, RARE), 1)
    text = str(info.value)
    assert text.startswith(
        f"no maze passed the filter ({RARE.describe()}) in the 77 consecutive seeds 0..76 "
        "(the stream from base seed 0 had yielded 0)"
    )
    assert "MAX_SEEDS_WITHOUT_MATCH = 77" in text and "loosen the filter" in text
    monkeypatch.setattr(streams, "MAX_SEEDS_WITHOUT_MATCH", first + 1)
    assert [m.seed for m in take(maze_stream(0, RARE), 1)] == [first]
    # the bound counts seeds since the last match, not since the base seed
    monkeypatch.setattr(streams, "MAX_SEEDS_WITHOUT_MATCH", second - first - 1)
    gap = r"seeds 78\.\.110 \(the stream from base seed 77 had yielded 1\)"
    with pytest.raises(MazeSearchError, match=gap):
        take(maze_stream(first, RARE), 2)


def test_the_default_bound_never_triggers_for_the_project_filters() -> None:
    # the longest run without a match, over 1,500 seeds of the default stream's range
    base = 2_000_000
    levels = [Maze.from_seed(s) for s in range(base, base + 1_500)]
    for where in (
        MazeFilter(has_decision_square=True),
        MazeFilter(has_decision_square=False),
        MazeFilter(has_decision_square=True, cheese_in_top_right=False),
        MazeFilter(max_size=23),
        MazeFilter(min_size=15),
        MazeFilter(has_decision_square=True, min_size=15),
        MazeFilter(has_decision_square=True, max_size=15),
        MazeFilter(min_size=7),
    ):
        hits = [i for i, m in enumerate(levels) if where.accepts(m)]
        longest = max(b - a for a, b in zip([-1, *hits], [*hits, len(levels)], strict=True))
        assert longest * 10 < streams.MAX_SEEDS_WITHOUT_MATCH, (where.describe(), longest)


def test_a_stream_reaching_the_last_seed_raises_instead_of_ending_short() -> None:
    base = MAX_SEED - 2
    assert [m.seed for m in take(maze_stream(base), 3)] == [base, base + 1, MAX_SEED]
    with pytest.raises(MazeSearchError) as info:
        take(maze_stream(base), 5)
    assert str(info.value).startswith(
        f"the stream from base seed {base} reached procgen's last seed {MAX_SEED} after "
        "yielding 3 mazes (each passed the filter (all levels))"
    )
    assert "pass a lower base seed" in str(info.value)


def test_cheese_at_an_outer_cell_no_maze_covers_fails_at_the_call() -> None:
    cases = [
        (
            (0, 0),
            MazeFilter(max_size=23),
            r"outer cell \(0, 0\) lies in no maze of size 3\.\.23: .* 1\.\.23",
        ),
        ((3, 12), MazeFilter(max_size=17), r"outer cell \(3, 12\) lies in no maze of size 3\.\.17"),
        (
            (25, 12),
            MazeFilter(),
            r"outer cell \(25, 12\) .* rows and columns 0\.\.24 of the 25 x 25",
        ),
        ((12, -1), MazeFilter(), r"outer cell \(12, -1\)"),
    ]
    for cell, where, message in cases:
        with pytest.raises(MazeFilterError, match=message):
            mazes_with_cheese_at(cell, where=where)
    assert take(mazes_with_cheese_at((4, 12), where=MazeFilter(max_size=17)), 1)  # its edge works


def test_cheese_at_a_cell_never_free_gives_up_after_the_bound(monkeypatch) -> None:
    # outer (1, 1) is a wall in 25 x 25 mazes, the start in 23 x 23 ones, outside the rest
    monkeypatch.setattr(streams, "MAX_SEEDS_WITHOUT_MATCH", 40)
    start = (
        r"^no maze with the cheese moved at outer cell \(1, 1\) passed the filter \(all levels\)"
    )
    with pytest.raises(
        MazeSearchError, match=start + r" in the 40 consecutive seeds 5\.\.44"
    ) as info:
        take(mazes_with_cheese_at((1, 1), base_seed=5), 1)
    assert "pass max_seeds to search further" in str(info.value)
    with pytest.raises(MazeSearchError, match=r"cheese already at outer cell \(0, 4\)"):
        take(mazes_with_cheese_at((0, 4), base_seed=0, move=False), 1)  # first one is level 71
    # a caller's own max_seeds is a deliberate end, not an error
    assert take(mazes_with_cheese_at((1, 1), base_seed=5, max_seeds=60), 1) == []
    assert [m.seed for m in take(mazes_with_cheese_at((0, 4), move=False, max_seeds=80), 1)] == [71]


def test_cheese_at_near_the_last_seed() -> None:
    base = MAX_SEED - 2
    found = list(mazes_with_cheese_at((12, 12), base, max_seeds=3))  # exactly the last 3 seeds
    assert all(m.to_outer(m.cheese) == (12, 12) for m in found)
    with pytest.raises(MazeSearchError, match=f"base seed {base} reached procgen's last seed"):
        list(mazes_with_cheese_at((12, 12), base, max_seeds=10))
    with pytest.raises(MazeSearchError, match=f"base seed {base} reached procgen's last seed"):
        list(mazes_with_cheese_at((12, 12), base))
