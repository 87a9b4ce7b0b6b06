"""Results shared across claims: keyed by checkpoint and maze content, bounded, counted,
and identical to computing them afresh."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.analysis.kernel_edit import KernelEdit
from harness.experiments.conditions import Condition, decisions, fields, move_probs, unpatched
from harness.experiments.shared_results import SharedResults, shared_results
from harness.experiments.subject import Subject
from harness.interventions import ZeroChannels
from harness.maze.maze import Maze
from harness.maze.streams import maze_stream, take
from harness.policy import ImpalaPolicy


def _counting(seen: list[int]):
    def compute(mazes):
        seen.append(len(mazes))
        return [np.full(3, m.size, float) for m in mazes]

    return compute


def test_lookups_by_checkpoint_and_content() -> None:
    store, seen = SharedResults(), []
    a, b = Maze.from_seed(0), Maze.from_seed(1)
    first = store.per_maze("sha-1", "x", [a, b], _counting(seen))
    again = store.per_maze("sha-1", "x", [b, Maze.from_seed(0)], _counting(seen))
    assert seen == [2]  # the second call found both (a fresh but equal maze included)
    np.testing.assert_array_equal(again[0], first[1])
    store.per_maze("sha-2", "x", [a], _counting(seen))  # another checkpoint
    store.per_maze("sha-1", "y", [a], _counting(seen))  # another quantity
    store.per_maze("sha-1", "x", [a.with_mouse(a.mouse_cells[3])], _counting(seen))
    assert seen == [2, 1, 1, 1]
    assert store.summary()["x"] == {"hits": 2, "misses": 4, "hit_rate": 0.3333}
    with pytest.raises(ValueError, match="read-only"):
        first[0][0] = 5.0


def test_memory_is_bounded_least_recently_used_first() -> None:
    store = SharedResults(max_bytes=3 * 24)  # three 3-float arrays
    mazes = [Maze.from_seed(s) for s in range(4)]
    seen: list[int] = []
    store.per_maze("k", "x", mazes[:3], _counting(seen))
    store.per_maze("k", "x", mazes[:1], _counting(seen))  # touch maze 0
    store.per_maze("k", "x", mazes[3:], _counting(seen))  # evicts maze 1
    assert len(store) == 3 and store.nbytes <= store.max_bytes
    store.per_maze("k", "x", [mazes[0], mazes[2]], _counting(seen))
    assert seen == [3, 1]
    store.per_maze("k", "x", [mazes[1]], _counting(seen))
    assert seen == [3, 1, 1]


@pytest.fixture
def subject() -> Subject:
    torch.manual_seed(0)
    policy = ImpalaPolicy(scale=1).eval()
    return Subject(policy, torch.device("cpu"), checkpoint_sha256="test-" + str(id(policy)))


def test_shared_results_equal_fresh_ones(subject: Subject) -> None:
    shared_results().clear()
    mazes = [m for m in take(maze_stream(5), 12) if m.decision_square is not None][:6]
    fresh = Subject(subject.policy, subject.device)  # no checkpoint key: nothing shared
    for _ in range(2):  # the second round is served from the store
        np.testing.assert_array_equal(
            decisions(subject, unpatched(mazes)).probs, decisions(fresh, unpatched(mazes)).probs
        )
        np.testing.assert_array_equal(
            move_probs(subject, unpatched(mazes)), move_probs(fresh, unpatched(mazes))
        )
        for a, b in zip(
            fields(subject, unpatched(mazes), True),
            fields(fresh, unpatched(mazes), True),
            strict=True,
        ):
            assert a.cells == b.cells and a.reflected and b.reflected
            np.testing.assert_array_equal(a.probs, b.probs)
    summary = shared_results().summary()
    assert summary["vector_field_reflected"]["hits"] == len(mazes)
    assert summary["move_probs"]["hits"] >= len(mazes)


def test_intervened_and_edited_runs_are_never_shared(subject: Subject) -> None:
    shared_results().clear()
    mazes = [m for m in take(maze_stream(6), 10) if m.decision_square is not None][:4]
    plain = decisions(subject, unpatched(mazes)).probs
    zeroed = Condition("zeroed", tuple(mazes), (ZeroChannels(subject.layer, (0, 1, 2)),))
    assert not np.array_equal(decisions(subject, zeroed).probs, plain)
    assert shared_results().summary()["move_probs"]["misses"] == len(mazes)
    edit = KernelEdit(("embedder.block2.res2.resadd_out",), np.ones(32))
    assert subject.edited(edit).checkpoint_sha256 is None  # an edited copy is another network
    edited = Condition("edited", tuple(mazes), kernel_edit=edit)
    assert not np.array_equal(decisions(subject, edited).probs, plain)
    assert shared_results().summary()["move_probs"]["misses"] == len(mazes)
