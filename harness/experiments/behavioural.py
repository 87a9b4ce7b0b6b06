"""Behavioural statistics (BH family): which maze features predict getting the cheese.

Data: mazes with a decision square whose cheese is not in the top-right 5 x 5. The outcome
"got cheese" (reached or stood next to the cheese within 256 steps) of one sampled episode
is drawn from its exact probability under the (cell, facing) Markov chain -- the same
distribution as a procgen rollout, at a fraction of the cost -- with a generator seeded by
the level seed. Features are z-scored; the model is an L1-regularized logistic regression
(scikit-learn) on random 80/20 splits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from harness.behavior.chain import p_either, reachable
from harness.behavior.vfield import vector_fields
from harness.experiments.subject import Subject
from harness.maze.grid import distances_from, euclidean
from harness.maze.maze import Cell, Maze
from harness.stats import Result, accuracy_vs_base_rate, all_of
from harness.stats.discordant import accuracy_equivalence
from harness.stats.result import DirectionalResult, decision, interval_level
from harness.stats.sampling import Values

# scikit-learn 1.8 replaced ``penalty="l1"`` by ``l1_ratio=1``; accept both generations.
_L1 = (
    {"l1_ratio": 1.0}
    if tuple(int(v) for v in sklearn.__version__.split(".")[:2]) >= (1, 8)
    else {"penalty": "l1"}
)

#: The three features the post found predictive (BH1, BH2).
KEY_FEATURES = ("steps_ds_to_cheese", "euclid_ds_to_cheese", "euclid_cheese_to_top_right")
#: The feature BH3 calls an artifact.
ARTIFACT = "euclid_ds_to_top_right"
FEATURES = (
    *KEY_FEATURES,
    ARTIFACT,
    "steps_ds_to_top_right",
    "steps_start_to_cheese",
    "euclid_start_to_cheese",
    "steps_cheese_to_top_right",
    "maze_size",
)


def features(maze: Maze) -> dict[str, float]:
    ds, cheese, tr = maze.decision_square, maze.cheese, maze.top_right
    from_ds = distances_from(maze.walls, ds)
    from_cheese = distances_from(maze.walls, cheese)
    return {
        "steps_ds_to_cheese": float(from_ds[cheese]),
        "euclid_ds_to_cheese": euclidean(ds, cheese),
        "euclid_cheese_to_top_right": euclidean(cheese, tr),
        "euclid_ds_to_top_right": euclidean(ds, tr),
        "steps_ds_to_top_right": float(from_ds[tr]),
        "steps_start_to_cheese": float(from_cheese[maze.start]),
        "euclid_start_to_cheese": euclidean(maze.start, cheese),
        "steps_cheese_to_top_right": float(from_cheese[tr]),
        "maze_size": float(maze.size),
    }


def got_cheese_probability(subject: Subject, mazes: Sequence[Maze], horizon: int) -> np.ndarray:
    """Exact P(reach the cheese or a cell next to it within ``horizon`` steps). The vector
    fields are evaluated only where such an episode can go (not behind the cheese)."""
    regions = [next_to_cheese(m) for m in mazes]
    needed = [
        [c for c in reachable(m, {m.cheese, *r}) if c != m.cheese]
        for m, r in zip(mazes, regions, strict=True)
    ]
    runner = subject.runner()
    left = vector_fields(runner, mazes, subject.device, reflected=False, cells=needed)
    right = vector_fields(runner, mazes, subject.device, reflected=True, cells=needed)
    out = []
    for m, region, a, b in zip(mazes, regions, left, right, strict=True):
        start_next_to = m.start in region
        p = p_either(m, {False: a, True: b}, region=region, horizon=horizon)
        out.append(1.0 if start_next_to else p)
    return np.clip(np.array(out), 0.0, 1.0)


def next_to_cheese(maze: Maze) -> list[Cell]:
    """The free cells beside the cheese (standing there counts as getting it)."""
    r, c = maze.cheese
    near = [(r + dr, c + dc) for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    return [x for x in near if maze.is_free(x)]


def cached_got_cheese(subject: Subject, mazes: Sequence[Maze], horizon: int) -> np.ndarray:
    """:func:`got_cheese_probability`, computed once per policy, level seed and horizon (the
    three BH claims share one data set)."""
    cache: dict[int, float] = subject.hooked.memo(("got_cheese", horizon), dict)
    todo = [m for m in mazes if m.seed not in cache]
    if todo:
        for m, p in zip(todo, got_cheese_probability(subject, todo, horizon), strict=True):
            cache[m.seed] = float(p)
    return np.array([cache[m.seed] for m in mazes])


@dataclass(frozen=True, eq=False)
class Dataset:
    """Per maze: the features, P(got cheese) within ``horizon`` steps and one drawn outcome."""

    subject: Subject
    horizon: int

    def __call__(self, mazes: Sequence[Maze]) -> dict[str, np.ndarray]:
        p = cached_got_cheese(self.subject, mazes, self.horizon)
        draws = np.array(
            [
                np.random.default_rng([m.seed, 2023]).random() < pi
                for m, pi in zip(mazes, p, strict=True)
            ]
        )
        per_maze = [features(m) for m in mazes]
        cols = {name: np.array([f[name] for f in per_maze]) for name in FEATURES}
        return {**cols, "p_got_cheese": p, "got_cheese": draws.astype(float)}


def design(values, names: Sequence[str]) -> np.ndarray:
    return np.column_stack([np.asarray(values[n], float) for n in names])


def split(n: int, seed: int, test_share: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    k = max(1, round(n * test_share))
    return perm[k:], perm[:k]


def fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[StandardScaler, LogisticRegression]:
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=c, solver="liblinear", random_state=0, **_L1)
    return scaler, model.fit(scaler.transform(x), y)


def held_out(values, names: Sequence[str], c: float, seed: int = 0) -> dict:
    """One 80/20 split: held-out correctness of the model and the training majority rate."""
    x, y = design(values, names), np.asarray(values["got_cheese"], int)
    train, test = split(len(y), seed)
    scaler, model = fit(x[train], y[train], c)
    pred = model.predict(scaler.transform(x[test]))
    majority = int(np.mean(y[train]) >= 0.5)
    base_rate = float(np.mean(y[train] == majority))
    return {
        "correct": (pred == y[test]).astype(float),
        "base_rate": base_rate,
        "coef": dict(zip(names, model.coef_[0], strict=True)),
    }


def sign_fits(values, c: float, fits: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Coefficient signs of the key features over random splits and random feature subsets
    (the key features plus a random subset of the others)."""
    rng = np.random.default_rng(seed)
    others = [f for f in FEATURES if f not in KEY_FEATURES]
    y = np.asarray(values["got_cheese"], int)
    negative = {f: [] for f in (*KEY_FEATURES, ARTIFACT)}
    for i in range(fits):
        extra = [f for f in others if rng.random() < 0.5]
        names = [*KEY_FEATURES, *extra]
        train, _ = split(len(y), seed * 100_003 + i)
        _, model = fit(design(values, names)[train], y[train], c)
        coef = dict(zip(names, model.coef_[0], strict=True))
        for f in negative:
            if f in coef:
                negative[f].append(float(coef[f] < 0))
    return {f: np.array(v) for f, v in negative.items()}


# ------------------------------------------------------------------ verdict forms (BH1-BH3)
@dataclass(frozen=True)
class HeldOutAccuracy:
    """BH1: an L1 logistic regression on ``features`` predicts held-out outcomes better than
    the training split's majority rate, by more than ``threshold``. The fitted coefficients
    (z-scored features) are reported among the result's effects."""

    features: tuple[str, ...]
    c: float
    threshold: float = 0.0

    def evaluate(self, values: Values, alpha: float) -> Result:
        out = held_out(values, self.features, self.c)
        result = accuracy_vs_base_rate(
            out["correct"], base_rate=out["base_rate"], threshold=self.threshold, alpha=alpha
        )
        return result.with_(effects={**result.effects, "coefficients": out["coef"]})


def sign_shares(values, c: float, fits: int, seed: int = 0) -> dict[str, float]:
    """Share of :func:`sign_fits`' fits in which each key coefficient is negative."""
    signs = sign_fits(values, c, fits, seed)
    return {f: float(np.mean(signs[f])) for f in KEY_FEATURES}


def bootstrap_sign_shares(
    values, c: float, fits: int, resamples: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Per key feature, its sign share on each of ``resamples`` bootstrap resamples of the
    *mazes* (drawn with replacement, refitted ``fits`` times each): the sampling
    distribution of the share, which overlapping refits of one data set cannot give."""
    n = len(values["got_cheese"])
    rng = np.random.default_rng([seed, 2])
    columns = (*FEATURES, "got_cheese")
    out: dict[str, list[float]] = {f: [] for f in KEY_FEATURES}
    for r in range(resamples):
        idx = rng.integers(0, n, n)
        resampled = {k: np.asarray(values[k])[idx] for k in columns}
        for f, share in sign_shares(resampled, c, fits, seed=r + 1).items():
            out[f].append(share)
    return {f: np.array(v) for f, v in out.items()}


@dataclass(frozen=True, kw_only=True)
class BootstrapShareResult(DirectionalResult):
    """A share (of refits with a negative coefficient) above a threshold, judged on its
    bootstrap distribution over mazes."""

    form: ClassVar[str] = "bootstrap share"


def share_above(
    estimate: float, shares: np.ndarray, threshold: float, alpha: float, name: str, fits: int
) -> BootstrapShareResult:
    """Percentile-bootstrap test of 'share > threshold': p = (1 + #resamples <= threshold) /
    (B + 1), never 0; refuted when the resamples lie at or below it as clearly."""
    b = shares.size
    p_support = (1 + int(np.sum(shares <= threshold))) / (b + 1)
    p_refute = (1 + int(np.sum(shares >= threshold))) / (b + 1)
    level = interval_level(alpha, "greater")
    return BootstrapShareResult(
        test=f"percentile bootstrap over mazes ({b} resamples, {fits} refits each)",
        alternative="greater",
        statistic=float(np.mean(shares)),
        estimate=estimate,
        estimate_name=f"share of fits with a negative {name} coefficient",
        n=b,
        threshold=threshold,
        effects={"bootstrap_mean_share": float(np.mean(shares))},
        label=name,
        **decision(p_support, p_refute, alpha, partial(percentile_interval, shares), level),
    )


def percentile_interval(shares: np.ndarray, confidence_level: float) -> tuple[float, float]:
    tail = (1.0 - confidence_level) / 2.0
    low, high = np.quantile(shares, [tail, 1.0 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class SignStability:
    """BH2: each key coefficient is negative in more than ``threshold`` of ``fits`` random
    splits and feature subsets, judged on the bootstrap distribution of that share over
    ``resamples`` resamples of the mazes (``resample_fits`` refits each); all must hold."""

    c: float
    fits: int
    threshold: float
    resamples: int = 200
    resample_fits: int = 20

    def evaluate(self, values: Values, alpha: float) -> Result:
        shares = sign_shares(values, self.c, self.fits)
        boot = bootstrap_sign_shares(values, self.c, self.resample_fits, self.resamples)
        parts = [
            share_above(shares[f], boot[f], self.threshold, alpha, f, self.resample_fits)
            for f in KEY_FEATURES
        ]
        return all_of(*parts).with_(test=f"intersection-union over {len(parts)} {parts[0].test}")


@dataclass(frozen=True)
class AddedAccuracy:
    """BH3: adding the DS-to-top-right distance to the key features changes held-out
    accuracy by less than ``margin`` (exact bounds on the discordant held-out units)."""

    c: float
    margin: float

    def evaluate(self, values: Values, alpha: float) -> Result:
        without = held_out(values, KEY_FEATURES, self.c)
        with_it = held_out(values, (*KEY_FEATURES, ARTIFACT), self.c)
        return accuracy_equivalence(
            with_it["correct"],
            without["correct"],
            margin=self.margin,
            alpha=alpha,
            names=("with it", "without it"),
        )
