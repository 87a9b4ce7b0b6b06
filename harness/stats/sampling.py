"""Drawing a claim's sample: units from a seeded stream, a batched metric, optional rounds.

Nothing here knows about mazes or torch. A *stream factory* ``(base_seed) -> iterator``
yields units (anything with an int ``.seed``, or plain ints) in a fixed order, so the same
base seed gives the same units in a serial run and under xdist. A *metric* maps a list of
units to per-unit values: a 1-D array, a 2-D array (columns named by ``columns=`` or kept as
one matrix column, e.g. a trend over levels), or a dict of named arrays (paired designs:
``{"unpatched": ..., "patched": ...}``). A :class:`Measurement` draws in batches, shows a
progress bar on a terminal, and tests a verdict form (:mod:`.forms`) on the sample -- when
the plan is sequential, after each round, stopping as soon as the verdict is decisive
(:mod:`.sequential`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from harness.stats.errors import StatsInputError
from harness.stats.result import Result
from harness.stats.sequential import GroupSequentialDesign, look_sizes

if TYPE_CHECKING:
    from harness.stats.forms import Form

StreamFactory = Callable[[int], Iterable[Any]]
Metric = Callable[[list[Any]], Any]

#: Name of the only column when a metric returns a plain array.
VALUE = "value"


class MetricError(ValueError):
    """A metric returned something that is not one finite-shaped value set per unit."""


class ColumnError(KeyError):
    """A verdict form asked for a column the metric did not return."""

    def __str__(self) -> str:
        return str(self.args[0])


def unit_seed(unit: Any) -> int:
    """The seed of a unit: the unit itself if it is an int, else its int ``.seed``."""
    if isinstance(unit, int | np.integer) and not isinstance(unit, bool):
        return int(unit)
    seed = getattr(unit, "seed", None)
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return int(seed)
    raise TypeError(
        f"a sampled unit must be an int or have an int .seed attribute; got "
        f"{type(unit).__name__} with seed={seed!r}"
    )


@dataclass(frozen=True)
class SamplingPlan:
    """How many units, from which base seed, in which batches and rounds, at which alpha."""

    n: int
    base_seed: int = 0
    batch_size: int = 64
    sequential: bool = False
    rounds: int = 5
    alpha: float = 0.05
    progress: bool | None = None
    label: str = "sample"

    def __post_init__(self) -> None:
        if self.n < 3:
            raise ValueError(f"a sample needs n >= 3 units, got {self.n}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")

    def show_progress(self) -> bool:
        if self.progress is not None:
            return self.progress
        return sys.stderr.isatty() and "PYTEST_XDIST_WORKER" not in os.environ


class Values(Mapping[str, np.ndarray]):
    """Per-unit metric values by column, aligned with the units' seeds (and the units
    themselves, when the sampler kept them: figures draw the sample's own mazes)."""

    def __init__(
        self,
        columns: Mapping[str, np.ndarray],
        seeds: Sequence[int],
        units: Sequence[Any] = (),
    ) -> None:
        self._columns = dict(columns)
        self.seeds: tuple[int, ...] = tuple(seeds)
        self.units: tuple[Any, ...] = tuple(units)

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self._columns[key]
        except KeyError:
            raise ColumnError(
                f"no column {key!r}; the metric returned columns {sorted(self._columns)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def value(self) -> np.ndarray:
        """The single column (a metric that returned a plain array)."""
        if len(self._columns) != 1:
            raise ColumnError(f"several columns {sorted(self._columns)}; name the one you want")
        return next(iter(self._columns.values()))

    def head(self, n: int) -> Values:
        return Values({k: v[:n] for k, v in self._columns.items()}, self.seeds[:n], self.units[:n])

    def seeds_at(self, positions: Iterable[int]) -> list[int]:
        return [self.seeds[p] for p in positions if 0 <= p < len(self.seeds)]


@dataclass(frozen=True)
class Sample:
    """What a result was computed from: the seeds, per-unit values, and the looks taken."""

    base_seed: int
    values: Values
    looks: tuple[Mapping[str, Any], ...] = ()
    exhausted: bool = False
    planned_n: int = 0

    @property
    def seeds(self) -> tuple[int, ...]:
        return self.values.seeds

    @property
    def units(self) -> tuple[Any, ...]:
        return self.values.units

    @property
    def n(self) -> int:
        return self.values.n


@dataclass
class _Store:
    seeds: list[int] = field(default_factory=list)
    units: list[Any] = field(default_factory=list)
    chunks: dict[str, list[np.ndarray]] = field(default_factory=dict)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)


class Measurement:
    """A metric measured over a seeded stream of units, drawn on demand.

    The first test drives the drawing: a fixed-size plan draws ``plan.n`` units; a
    sequential plan draws round by round and stops at the first decisive look. Later
    tests reuse the units already drawn (at the plan's alpha, without sequential
    stopping).
    """

    def __init__(
        self,
        stream: StreamFactory,
        metric: Metric,
        plan: SamplingPlan,
        *,
        columns: Sequence[str] | None = None,
    ) -> None:
        if not callable(stream):
            raise TypeError("stream must be a factory: base_seed -> iterator of units")
        if not callable(metric):
            raise TypeError("metric must be callable: list of units -> per-unit values")
        self.plan = plan
        self._stream = stream
        self._metric = metric
        self._columns = tuple(columns) if columns is not None else None
        self._iter: Iterator[Any] | None = None
        self._store = _Store()
        self._exhausted = False
        self._analyzed = False

    # -- drawing ------------------------------------------------------------------------
    @property
    def values(self) -> Values:
        store = self._store
        cols = {
            k: np.concatenate(v) if v else np.empty((0, *store.shapes.get(k, ())))
            for k, v in store.chunks.items()
        }
        return Values(cols, store.seeds, store.units)

    def draw(self, n: int) -> Values:
        """Make sure at least ``n`` units are measured (fewer if the stream ends)."""
        store = self._store
        if len(store.seeds) >= n or self._exhausted:
            return self.values.head(n)
        if self._iter is None:
            self._iter = iter(self._stream(self.plan.base_seed))
        with tqdm(
            total=n,
            initial=len(store.seeds),
            desc=self.plan.label,
            unit="unit",
            leave=False,
            disable=not self.plan.show_progress(),
            file=sys.stderr,
        ) as bar:
            while len(store.seeds) < n:
                want = min(self.plan.batch_size, n - len(store.seeds))
                batch = list(islice(self._iter, want))
                if not batch:
                    self._exhausted = True
                    break
                seeds = [unit_seed(u) for u in batch]
                self._append(seeds, self._normalize(self._metric(batch), seeds))
                store.units.extend(batch)
                bar.update(len(batch))
        return self.values.head(n)

    def _normalize(self, out: Any, seeds: list[int]) -> dict[str, np.ndarray]:
        size = len(seeds)
        if isinstance(out, Mapping):
            cols = {str(k): self._as_column(v, size, f"column {k!r}") for k, v in out.items()}
            if not cols:
                raise MetricError("the metric returned an empty dict")
            return cols
        arr = self._as_column(out, size, "the metric's array")
        if self._columns is None:
            return {VALUE: arr}
        if arr.ndim != 2 or arr.shape[1] != len(self._columns):
            raise MetricError(
                f"columns={list(self._columns)} needs a (units, {len(self._columns)}) array, "
                f"the metric returned shape {arr.shape}"
            )
        return {name: arr[:, i] for i, name in enumerate(self._columns)}

    @staticmethod
    def _as_column(value: Any, size: int, what: str) -> np.ndarray:
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise MetricError(f"{what} is not numeric: {exc}") from None
        if arr.ndim == 0 or arr.shape[0] != size:
            raise MetricError(
                f"{what} has shape {arr.shape} for a batch of {size} units; the first axis "
                "must have one entry per unit"
            )
        return arr

    def _append(self, seeds: list[int], cols: dict[str, np.ndarray]) -> None:
        store = self._store
        if store.chunks and set(cols) != set(store.chunks):
            raise MetricError(
                f"the metric returned columns {sorted(cols)} after {sorted(store.chunks)}"
            )
        for name, arr in cols.items():
            shape = arr.shape[1:]
            if store.shapes.setdefault(name, shape) != shape:
                raise MetricError(
                    f"column {name!r} changed per-unit shape from {store.shapes[name]} to {shape}"
                )
            store.chunks.setdefault(name, []).append(arr)
        store.seeds.extend(seeds)

    # -- analysis -----------------------------------------------------------------------
    def test(self, form: Form) -> Result:
        """Evaluate the verdict form on the sample at the plan's alpha -- round by round with
        group-sequential stopping if the plan says so."""
        plan = self.plan
        if self._analyzed or not plan.sequential or plan.rounds == 1:
            values = self.draw(plan.n)
            result = self._run(form, values, plan.alpha)
            self._analyzed = True
            return self._attach(result, values, ())
        sizes = look_sizes(plan.n, plan.rounds)
        design = GroupSequentialDesign.for_sizes(plan.alpha, sizes)
        looks: list[dict[str, Any]] = []
        result: Result | None = None
        values: Values | None = None
        for k, size in enumerate(sizes):
            values = self.draw(size)
            nominal = design.nominal_alphas[k]
            result = self._run(form, values, nominal)
            if result.alternative == "two-sided":
                raise ValueError(
                    "sequential sampling needs a one-sided or equivalence claim; this "
                    "form is two-sided (use --no-sequential or a one-sided alternative)"
                )
            looks.append(
                {
                    "look": k + 1,
                    "n": values.n,
                    "nominal_alpha": nominal,
                    "verdict": result.kind.value,
                    "estimate": result.estimate,
                    "ci": list(result.ci),
                    "p_value_nominal": result.pvalue,
                }
            )
            if result.verdict.decisive or values.n < size:
                break
        assert result is not None and values is not None
        self._analyzed = True
        look = len(looks) - 1
        result = result.with_(
            pvalue=design.stagewise_pvalue(look, result.pvalue),
            pvalue_nominal=result.pvalue,
            sequential={
                "method": "group-sequential, Lan-DeMets O'Brien-Fleming-type alpha spending",
                "looks_planned": design.looks,
                "looks_requested": plan.rounds,
                "look_sizes": list(sizes),
                "nominal_alphas": list(design.nominal_alphas),
                "stopped_at_look": look + 1,
                "stopped_early": look + 1 < design.looks,
                "looks": looks,
            },
        )
        return self._attach(result, values, tuple(looks))

    def _run(self, form: Form, values: Values, alpha: float) -> Result:
        try:
            result = form.evaluate(values, alpha)
        except StatsInputError as exc:
            if exc.positions:
                seeds = values.seeds_at(exc.positions)
                raise StatsInputError(
                    f"{exc} -- units with seeds {seeds[:10]}{' ...' if len(seeds) > 10 else ''}",
                    exc.positions,
                ) from exc
            raise
        if not isinstance(result, Result):
            raise TypeError(
                f"a verdict form must return a harness.stats Result, got {type(result).__name__}"
            )
        return result

    def _attach(
        self, result: Result, values: Values, looks: tuple[Mapping[str, Any], ...]
    ) -> Result:
        sample = Sample(
            base_seed=self.plan.base_seed,
            values=values,
            looks=looks,
            exhausted=self._exhausted,
            planned_n=self.plan.n,
        )
        return result.with_(sample=sample)
