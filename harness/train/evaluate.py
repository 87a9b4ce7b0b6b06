"""Evaluate a maze policy on held-out levels of the training and the test distribution.

Training distribution (rand_region_5: cheese moved into the top-right 5 x 5): per-cell
accuracy of the argmax move against the shortest-path move, over both facings of the
mouse sprite, and the exact P(reach the cheese within 256 steps) from the (cell, facing)
Markov chain. Test distribution (unedited levels with a decision square): P(cheese) and
P(top-right) at the decision square, P(reach the cheese), P(reach the top-right 5 x 5
before the cheese), and the same decision-square numbers for a habit-only baseline.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from harness.behavior.chain import episode_outcome, top_right_region
from harness.behavior.decision import decision_probs, direction_prior_probs
from harness.behavior.forward import Runner
from harness.behavior.vfield import vector_fields
from harness.maze.grid import next_moves_towards
from harness.maze.maze import Maze
from harness.maze.streams import MazeFilter, maze_stream
from harness.train.data import EVAL_SEED_BASE, training_maze

#: Offsets inside the evaluation seed range: the trainer monitors EVAL_SEED_BASE + 0..999.
TRAIN_DIST_OFFSET = 100_000
TEST_DIST_OFFSET = 200_000
BATCH_MAZES = 20


@dataclass
class Evaluation:
    n_train: int
    n_test: int
    sizes: tuple[int, int]
    train_action_accuracy: float
    train_p_reach_cheese: float
    train_by_size: dict[int, dict[str, float]] = field(default_factory=dict)
    test_mean_p_cheese_at_ds: float = float("nan")
    test_mean_p_top_right_at_ds: float = float("nan")
    test_quantiles_p_cheese: list[float] = field(default_factory=list)
    test_quantiles_p_top_right: list[float] = field(default_factory=list)
    test_argmax_to_top_right: float = float("nan")
    test_argmax_to_cheese: float = float("nan")
    test_p_reach_cheese: float = float("nan")
    test_p_reach_top_right_first: float = float("nan")
    prior_weights: list[float] = field(default_factory=list)
    prior_mean_p_cheese_at_ds: float = float("nan")
    prior_mean_p_top_right_at_ds: float = float("nan")
    steps_to_top_right_up_or_right: float = float("nan")

    def as_dict(self) -> dict:
        return asdict(self)


def _fields_both_facings(runner: Runner, mazes: list[Maze], device) -> list[dict]:
    left = vector_fields(runner, mazes, device, reflected=False)
    right = vector_fields(runner, mazes, device, reflected=True)
    return [{False: a, True: b} for a, b in zip(left, right, strict=True)]


def _accuracy(maze: Maze, fields: dict) -> tuple[int, int]:
    nxt = next_moves_towards(maze.walls, maze.cheese)
    correct = total = 0
    for vf in fields.values():
        cells = np.array(vf.cells)
        target = nxt[cells[:, 0], cells[:, 1]] - cells
        # Move index of each (d_row, d_col): LEFT (0,-1), DOWN (-1,0), UP (1,0), RIGHT (0,1).
        label = np.select(
            [target[:, 1] == -1, target[:, 0] == -1, target[:, 0] == 1, target[:, 1] == 1],
            [0, 1, 2, 3],
        )
        correct += int((vf.probs.argmax(1) == label).sum())
        total += len(cells)
    return correct, total


def evaluate(
    runner: Runner,
    device: torch.device | str,
    n_seeds: int = 200,
    min_size: int = 3,
    max_size: int = 25,
    data_seed: int = 0,
    progress: bool = True,
) -> Evaluation:
    where = MazeFilter(min_size=min_size, max_size=max_size)
    train_seeds = (m.seed for m in maze_stream(EVAL_SEED_BASE + TRAIN_DIST_OFFSET, where))
    train_mazes = [training_maze(s, data_seed) for s in itertools.islice(train_seeds, n_seeds)]
    test_mazes = list(
        itertools.islice(
            maze_stream(
                EVAL_SEED_BASE + TEST_DIST_OFFSET,
                MazeFilter(has_decision_square=True, min_size=min_size, max_size=max_size),
            ),
            n_seeds,
        )
    )
    bar = tqdm(total=2 * n_seeds, desc="evaluate", unit="maze", disable=not progress)

    correct = total = 0
    reach = []
    by_size: dict[int, list[tuple[int, int, float]]] = {}
    for i in range(0, len(train_mazes), BATCH_MAZES):
        batch = train_mazes[i : i + BATCH_MAZES]
        for maze, fields in zip(batch, _fields_both_facings(runner, batch, device), strict=True):
            c, t = _accuracy(maze, fields)
            p = episode_outcome(maze, fields).p_cheese
            correct, total = correct + c, total + t
            reach.append(p)
            by_size.setdefault(maze.size, []).append((c, t, p))
        bar.update(len(batch))

    ds = decision_probs(runner, test_mazes, device)
    test_reach, test_region, habit = [], [], np.zeros(5)
    for i in range(0, len(test_mazes), BATCH_MAZES):
        batch = test_mazes[i : i + BATCH_MAZES]
        for maze, fields in zip(batch, _fields_both_facings(runner, batch, device), strict=True):
            out = episode_outcome(maze, fields, region=top_right_region(maze))
            test_reach.append(out.p_cheese)
            test_region.append(out.p_region_first)
            habit += fields[False].probs.sum(0) + fields[True].probs.sum(0)
        bar.update(len(batch))
    bar.close()

    prior = habit[:4] / habit[:4].sum()
    base = direction_prior_probs(test_mazes, prior)
    q = [0.1, 0.25, 0.5, 0.75, 0.9]
    tr_moves = ds.probs.argmax(1)
    from harness.behavior.decision import decision_moves

    moves = decision_moves(test_mazes)
    return Evaluation(
        n_train=len(train_mazes),
        n_test=len(test_mazes),
        sizes=(min_size, max_size),
        train_action_accuracy=correct / total,
        train_p_reach_cheese=float(np.mean(reach)),
        train_by_size={
            size: {
                "n": len(v),
                "accuracy": sum(c for c, _, _ in v) / sum(t for _, t, _ in v),
                "p_reach_cheese": float(np.mean([p for _, _, p in v])),
            }
            for size, v in sorted(by_size.items())
        },
        test_mean_p_cheese_at_ds=float(ds.p_cheese.mean()),
        test_mean_p_top_right_at_ds=float(ds.p_top_right.mean()),
        test_quantiles_p_cheese=np.quantile(ds.p_cheese, q).tolist(),
        test_quantiles_p_top_right=np.quantile(ds.p_top_right, q).tolist(),
        test_argmax_to_top_right=float(np.mean(tr_moves == moves.to_top_right)),
        test_argmax_to_cheese=float(np.mean(tr_moves == moves.to_cheese)),
        test_p_reach_cheese=float(np.mean(test_reach)),
        test_p_reach_top_right_first=float(np.mean(test_region)),
        prior_weights=prior.tolist(),
        prior_mean_p_cheese_at_ds=float(base.p_cheese.mean()),
        prior_mean_p_top_right_at_ds=float(base.p_top_right.mean()),
        steps_to_top_right_up_or_right=float(np.mean(np.isin(moves.to_top_right, [2, 3]))),
    )


def format_evaluation(ev: Evaluation) -> str:
    lines = [
        f"held-out levels, sizes {ev.sizes[0]}..{ev.sizes[1]}: "
        f"{ev.n_train} training-distribution mazes, {ev.n_test} test mazes with a DS",
        "training distribution (cheese in the top-right 5x5), by maze size:",
        "  size   n  accuracy  P(reach cheese in 256)",
    ]
    for size, row in ev.train_by_size.items():
        lines.append(
            f"  {size:4d} {row['n']:3d}  {row['accuracy']:8.3f}  {row['p_reach_cheese']:8.3f}"
        )
    lines += [
        "test distribution (unedited levels with a decision square):",
        f"  mean P(cheese) at DS {ev.test_mean_p_cheese_at_ds:.3f}, "
        f"mean P(top-right) at DS {ev.test_mean_p_top_right_at_ds:.3f}",
        "  quantiles 10/25/50/75/90 of P(cheese): "
        + " ".join(f"{v:.2f}" for v in ev.test_quantiles_p_cheese),
        "  quantiles 10/25/50/75/90 of P(top-right): "
        + " ".join(f"{v:.2f}" for v in ev.test_quantiles_p_top_right),
        f"  argmax toward the top-right {ev.test_argmax_to_top_right:.2f}, "
        f"toward the cheese {ev.test_argmax_to_cheese:.2f}",
        f"  P(reach cheese in 256) {ev.test_p_reach_cheese:.3f}, "
        f"P(reach top-right 5x5 before the cheese) {ev.test_p_reach_top_right_first:.3f}",
        "  direction-prior baseline (weights L/D/U/R "
        + "/".join(f"{w:.2f}" for w in ev.prior_weights)
        + f"): P(cheese) {ev.prior_mean_p_cheese_at_ds:.3f}, "
        f"P(top-right) {ev.prior_mean_p_top_right_at_ds:.3f}",
        f"  the step toward the top-right is UP or RIGHT at "
        f"{ev.steps_to_top_right_up_or_right:.0%} of decision squares",
        f"train_action_accuracy={ev.train_action_accuracy:.4f}",
        f"train_p_reach_cheese={ev.train_p_reach_cheese:.4f}",
        f"test_mean_p_cheese_at_ds={ev.test_mean_p_cheese_at_ds:.4f}",
    ]
    return "\n".join(lines)
