"""Run a claim's own test function outside pytest, then re-decide it on many samples.

Calibrating a claim end to end means its verdict on hundreds of independent samples. Each
sample is what the claim draws from some base seed: ``n`` consecutive mazes of its stream
that pass its filter. So the claim runs once, through its real test function (stream,
filter, experiment, profile parameters and verdict form), on ``R x n`` consecutive mazes;
block ``r`` of ``n`` consecutive mazes is then exactly the sample the claim would draw from
base seed = the block's first seed, because an experiment's per-maze values depend on that
maze alone. Each block is re-decided through a fresh :class:`Measurement` of the recorded
values, so fixed-size and sequential sampling take the same code path as in a run
(``tests/test_claims_replay.py`` compares a replayed block with a real run).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.claim.handle import Claim
from harness.claim.options import ClaimOptions
from harness.claim.spec import ClaimSpec
from harness.profiles import Profile
from harness.report.record import ClaimRecord
from harness.stats.result import Result
from harness.stats.sampling import Measurement, SamplingPlan, Values, unit_seed

#: Raised by ``claim.conclude`` for verdicts other than the expected one (and by skips).
_OUTCOMES = (AssertionError, pytest.fail.Exception, pytest.xfail.Exception)


class ClaimNotRun(RuntimeError):
    """The claim function skipped, or ended without measuring and concluding."""


@dataclass(frozen=True)
class ClaimFunction:
    """A claim test function and its parsed marker."""

    function: Callable[..., Any]
    spec: ClaimSpec

    @classmethod
    def load(cls, path: str | Path, name: str) -> ClaimFunction:
        """``name`` from the claim module at ``path`` (claims/ is not a package)."""
        path = Path(path).resolve()
        module_name = f"_maze_claims_replay_{path.stem}"
        module = sys.modules.get(module_name)
        if module is None:
            loader = importlib.util.spec_from_file_location(module_name, path)
            if loader is None or loader.loader is None:
                raise ImportError(f"cannot load claim module {path}")
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
            sys.modules[module_name] = module
        function = getattr(module, name)
        (mark,) = [m for m in getattr(function, "pytestmark", []) if m.name == "claim"]
        return cls(function, ClaimSpec.from_marker(mark.args, mark.kwargs, function.__doc__))


class _RecordingMeasurement(Measurement):
    """A Measurement that remembers each form it was tested with and the values used."""

    def __init__(self, *args: Any, log: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._log = log

    def test(self, form: Any) -> Result:
        result = super().test(form)
        self._log.append((form, result, self.values, self.plan))
        return result


class _RecordingClaim(Claim):
    """A Claim whose measurements record their forms, and whose verdict is returned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log: list = []
        self.result: Result | None = None
        self.measurement_factory = functools.partial(_RecordingMeasurement, log=self.log)

    def conclude(self, result: Result, **kwargs: Any) -> Result:
        self.result = result
        return super().conclude(result, **kwargs)


@dataclass(frozen=True)
class ClaimRun:
    """One run of a claim: its result, the form that gave it and the per-unit values."""

    result: Result
    form: Any
    values: Values
    plan: SamplingPlan
    record: ClaimRecord

    def blocks(self, n: int) -> list[tuple[int, ...]]:
        """The run's units as consecutive blocks of ``n`` (a trailing partial block dropped)."""
        seeds = self.values.seeds
        return [tuple(seeds[i : i + n]) for i in range(0, len(seeds) - n + 1, n)]

    def replay(
        self, units: Sequence[int], *, sequential: bool | None = None, rounds: int | None = None
    ) -> Result:
        """The verdict the claim gives on ``units`` (seeds of this run, in stream order)."""
        position = {s: i for i, s in enumerate(self.values.seeds)}
        missing = [u for u in units if u not in position]
        if missing:
            raise KeyError(f"units not in this run: {missing[:5]}")
        columns = {k: np.asarray(self.values[k]) for k in self.values}

        def recorded(batch: Sequence[Any]) -> dict[str, np.ndarray]:
            rows = [position[unit_seed(u)] for u in batch]
            return {k: v[rows] for k, v in columns.items()}

        plan = replace(
            self.plan,
            n=len(units),
            base_seed=int(units[0]),
            sequential=self.plan.sequential if sequential is None else sequential,
            rounds=self.plan.rounds if rounds is None else rounds,
            progress=False,
        )
        return Measurement(lambda _base: iter(units), recorded, plan).test(self.form)


def run_claim(
    claim: ClaimFunction,
    subject: Any,
    profile: Profile,
    options: ClaimOptions,
    case: str | None = None,
    **arguments: Any,
) -> ClaimRun:
    """Call the claim's test function as pytest would (``arguments``: its other fixtures and
    parametrization) and return what it concluded from."""
    spec = claim.spec
    record = ClaimRecord(
        id=spec.record_id(case),
        claim_id=spec.id,
        nodeid=f"replay::{claim.function.__name__}",
        title=spec.title,
        source=spec.source,
        hypothesis=spec.hypothesis,
    )
    handle = _RecordingClaim(spec, record, options, profile)
    try:
        claim.function(claim=handle, subject=subject, **arguments)
    except _OUTCOMES:
        pass  # the verdict is read from the recorded result, not from the test outcome
    except pytest.skip.Exception as exc:
        raise ClaimNotRun(f"{record.id} skipped: {exc}") from None
    if handle.result is None:
        raise ClaimNotRun(f"{record.id} ended without a verdict")
    for form, result, values, plan in handle.log:
        if result is handle.result:
            return ClaimRun(result, form, values, plan, record)
    raise ClaimNotRun(f"{record.id} concluded with a result that no claim.measure produced")
