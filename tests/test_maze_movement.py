"""Movement facts, checked in procgen itself: they decide whether an episode is a Markov
chain over (cell, facing) that a vector field determines exactly."""

from __future__ import annotations

import numpy as np

from harness.actions import ACTION_TO_MOVE, MOVE_DELTA, NUM_ACTIONS, Move
from harness.maze.codec import parse
from harness.maze.maze import Maze
from harness.maze.procgen_env import default_pool


def mouse_of(state: bytes, maze: Maze) -> tuple[tuple[int, int], bool]:
    st = parse(state)
    ent = st.entities[st.mouse_index]
    assert ent["x"] % 1 == 0.5 and ent["y"] % 1 == 0.5  # always at a cell centre
    return maze.from_outer((int(ent["y"]), int(ent["x"]))), bool(ent["is_reflected"])


def test_each_action_moves_one_cell_in_its_group_direction() -> None:
    maze = Maze.from_grid(np.zeros((5, 5), bool), cheese=(4, 4), mouse=(2, 2))
    states = [maze.state_bytes()] * NUM_ACTIONS
    new, rewards, firsts, _ = default_pool().step(states, list(range(NUM_ACTIONS)))
    assert not firsts.any() and not rewards.any()
    for action, state in enumerate(new):
        cell, _ = mouse_of(state, maze)
        dr, dc = MOVE_DELTA[Move(ACTION_TO_MOVE[action])]
        assert cell == (2 + dr, 2 + dc), f"action {action}"


def test_walls_block_and_the_grid_edge_blocks() -> None:
    maze = Maze.from_seed(0)  # 13 x 13; (0, 0) has walls left (outside) and below
    assert maze.walls[1, 1]
    cases = {1: (0, 0), 3: (0, 0)}  # LEFT and DOWN from the start are blocked
    states = [maze.state_bytes()] * len(cases)
    new, _, _, _ = default_pool().step(states, list(cases))
    for (action, expected), state in zip(cases.items(), new, strict=True):
        assert mouse_of(state, maze)[0] == expected, f"action {action}"
    corner = maze.with_mouse((0, 2))  # (1, 2) is a wall above it? check and test both ways
    up = mouse_of(default_pool().step([corner.state_bytes()], [5])[0][0], maze)[0]
    assert up == ((1, 2) if not maze.walls[1, 2] else (0, 2))


def test_repeated_steps_move_exactly_one_cell_each() -> None:
    maze = Maze.from_grid(np.zeros((9, 9), bool), cheese=(8, 8), mouse=(0, 0))
    state = maze.state_bytes()
    for k in range(1, 8):
        state = default_pool().step([state], [7])[0][0]
        assert mouse_of(state, maze)[0] == (0, k)


def test_facing_follows_the_last_horizontal_move() -> None:
    maze = Maze.from_grid(np.zeros((5, 5), bool), cheese=(4, 4), mouse=(2, 2))
    assert not maze.mouse_reflected
    seq = [(7, True), (5, True), (3, True), (4, True), (1, False), (5, False), (7, True)]
    state = maze.state_bytes()
    for action, reflected in seq:
        state = default_pool().step([state], [action])[0][0]
        assert mouse_of(state, maze)[1] is reflected, f"after action {action}"


def test_reaching_the_cheese_pays_ten_and_ends_the_episode() -> None:
    maze = Maze.from_grid(np.zeros((3, 3), bool), cheese=(0, 1), mouse=(0, 0))
    _, rewards, firsts, _ = default_pool().step([maze.state_bytes()], [7])
    assert rewards[0] == 10.0 and firsts[0]
