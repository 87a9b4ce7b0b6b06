"""The handle a claim test works through: parameters, sampling, report extras, the verdict.

::

    @pytest.mark.claim(id="CV1", title=..., source=..., hypothesis=...)
    def test_cv1(claim, subject):
        p = claim.params
        experiment = cv.OwnVector(subject, p.require("coefficient"))
        sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
        claim.conclude(
            sample.test(PairedDifference("unpatched", "patched", threshold=p.require("threshold")))
        )

``claim.measure`` draws units reproducibly from ``--base-seed`` (in rounds with
``--sequential``) and records the experiment's conditions; ``sample.test(form)`` evaluates
the verdict form at the run's alpha; ``claim.conclude`` records the result for the report
and turns the verdict into the test outcome (:mod:`harness.claim.outcome`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from harness.claim import counterexamples, remembered
from harness.claim.examples import comparison_figure, example_mazes
from harness.claim.options import ClaimOptions
from harness.claim.outcome import assert_verdict, junit_properties
from harness.claim.spec import ClaimSpec
from harness.experiments.conditions import ConditionExperiment, Conditions
from harness.intervention_errors import InterventionDeviceError
from harness.maze.given import GivenMazes
from harness.maze.maze import Maze
from harness.maze.seed_ranges import SeedRange, refusing_overlap
from harness.maze.streams import FilteredStream, MazeFilter
from harness.policy.fake_device import FakeDeviceError
from harness.profiles import ClaimParams, Profile, TableParams
from harness.report.record import ClaimRecord
from harness.stats.design import sample_size
from harness.stats.format import json_ready
from harness.stats.result import Result
from harness.stats.sampling import Measurement, Metric, SamplingPlan, StreamFactory, unit_seed
from harness.stats.sequential import MIN_PER_LOOK
from harness.stats.verdict import VerdictKind

#: Metric columns with more values per unit than this (e.g. whole vector fields) are not
#: copied into the report; their shape is recorded instead.
MAX_VALUES_PER_UNIT = 64


def per_seed_column(values: np.ndarray) -> Any:
    per_unit = int(np.prod(values.shape[1:], dtype=int)) if values.ndim > 1 else 1
    if per_unit > MAX_VALUES_PER_UNIT:
        return {"omitted": f"{per_unit} values per unit", "shape": list(values.shape)}
    return json_ready(values)


def record_conditions(record: ClaimRecord, arms: Conditions) -> None:
    """Conditions into the record, each name once (the first batch's, by construction)."""
    for condition in arms.values():
        if not record.has_condition(condition.name):
            record.add_condition(condition.to_dict())


@dataclass(frozen=True, eq=False)
class RecordedExperiment:
    """A condition experiment whose conditions go into the claim's record when first built."""

    experiment: ConditionExperiment
    record: ClaimRecord

    def __call__(self, mazes: Sequence[Maze]) -> dict[str, np.ndarray]:
        arms = self.experiment.conditions(mazes)
        record_conditions(self.record, arms)
        return self.experiment.evaluate(mazes, arms)


class Claim:
    """What a claim test works with: its spec, the options, sampling, and its report record."""

    #: What ``measure`` builds (a subclass may record what was measured: harness.claim.replay).
    measurement_factory: Callable[..., Measurement] = Measurement

    def __init__(
        self,
        spec: ClaimSpec,
        record: ClaimRecord,
        options: ClaimOptions,
        profile: Profile,
        property_recorder: Callable[[str, object], None] | None = None,
    ) -> None:
        self.spec = spec
        self.record = record
        self.options = options
        self.profile = profile
        self._record_property = property_recorder
        self._concluded = False
        self._selections: list[SeedRange] = []

    @property
    def id(self) -> str:
        """The record's id: the marker id plus variant or parametrization (``CV4[offset=2]``)."""
        return self.record.id

    @property
    def alpha(self) -> float:
        return self.options.alpha

    # -- parameters -----------------------------------------------------------------------
    @property
    def params(self) -> ClaimParams:
        """This claim's section of the active profile; its published value and the rationale
        of its threshold go to the report."""
        params = self.profile.claim(self.spec.id)
        if params.published is not None and self.record.published is None:
            self.record.published = params.published
        if params.rationale and not self.record.rationale:
            self.record.rationale = params.rationale
        return params

    def shared(self, table: str) -> TableParams:
        """A profile table several claims read (``[shared.<table>]``, e.g. ``retargeting``)."""
        return self.profile.shared(table)

    # -- evidence disjoint from selection -------------------------------------------------
    def selected_on(self, seeds: SeedRange | None, fact: str) -> None:
        """Declare that this claim tests ``fact``, which was chosen on ``seeds`` (e.g. the
        profile's cheese channels, on its ``[discovery]`` mazes). Every later ``measure``
        refuses a unit from that range (:class:`SelectionOverlapError`, naming both ranges),
        so no verdict is ever given on the data that selected what it confirms. ``None``:
        the source of ``fact`` does not say where it was selected; the report says so."""
        if seeds is None:
            self.record.add_note(
                f"{fact}: the profile does not record the seeds it was selected on "
                "(no [discovery] table), so overlap with this claim's mazes is unchecked"
            )
            return
        if seeds not in self._selections:
            self._selections.append(seeds)
            self.record.selection.append({"fact": fact, **seeds.to_dict()})

    # -- sampling -------------------------------------------------------------------------
    def sample_size(self, n: int | Mapping[str, int] | None = None) -> int:
        """Units to draw under the current ``--budget`` / ``--seeds``."""
        return sample_size(self.options.budget, n, self.options.seeds)

    def measure(
        self,
        stream: StreamFactory,
        metric: Metric | ConditionExperiment,
        *,
        n: int | Mapping[str, int] | None = None,
        columns: Sequence[str] | None = None,
        batch_size: int = 64,
        base_seed: int | None = None,
    ) -> Measurement:
        """A metric over units from ``stream(base_seed)``, drawn when first tested.

        ``n`` is the default-budget sample size (scaled for ``--budget quick/paper``) or one
        size per budget; ``--seeds`` overrides it. ``base_seed`` defaults to ``--base-seed``.
        A :class:`ConditionExperiment`'s conditions are recorded for the report.
        """
        if isinstance(metric, ConditionExperiment):
            metric = RecordedExperiment(metric, self.record)
        size = self.sample_size(n)
        if self.options.mazes is None:
            stream = refusing_overlap(stream, tuple(self._selections), self.id, unit_seed)
        else:
            stream = self._given_mazes(stream, size)
        plan = SamplingPlan(
            n=size,
            base_seed=self.options.base_seed if base_seed is None else int(base_seed),
            batch_size=batch_size,
            sequential=self.options.sequential,
            rounds=self.options.rounds,
            alpha=self.options.alpha,
            label=self.id,
        )
        return self.measurement_factory(stream, metric, plan, columns=columns)

    def _given_mazes(self, stream: StreamFactory, size: int) -> GivenMazes:
        """The run's ``--mazes`` that this claim's stream filter admits, in file order; the
        claim is skipped (saying why) when its units are not filtered mazes or fewer than
        three qualify."""
        if not isinstance(stream, FilteredStream):
            pytest.skip(
                f"{self.id} draws its units from {type(stream).__name__}, not from a maze "
                "filter, so --mazes cannot replace them"
            )
        given = self._given(stream.where)
        note = given.describe(size)
        if note not in self.record.notes:
            self.add_note(note)
        if len(given.eligible) < MIN_GIVEN:
            pytest.skip(
                f"{self.id}: too few given mazes for a sample of at least {MIN_GIVEN}: {note}"
            )
        return given

    def _given(self, where: MazeFilter) -> GivenMazes:
        """The ``--mazes`` this filter admits, minus those the claim's selections exclude."""
        assert self.options.mazes is not None
        return GivenMazes(self.options.mazes, where, tuple(self._selections))

    def maze_label(self, maze: Maze) -> str:
        """'seed 17' for a level of the seed stream; under ``--mazes`` also the maze's hash,
        since a given maze may be an edited variant of its level."""
        if self.options.mazes is None:
            return f"seed {maze.seed}"
        return f"seed {maze.seed}, maze {maze.content_hash[:12]}"

    # -- report extras --------------------------------------------------------------------
    def add_figure(self, name: str, fig_or_png: Any, caption: str = "") -> None:
        """Attach a matplotlib figure (rendered to PNG and closed) or PNG bytes."""
        if self.options.diagnostics:
            self.record.add_figure(name, fig_or_png, caption)

    def add_note(self, text: str) -> None:
        self.record.add_note(text)

    def add_counterexample(self, description: str, seed: int | None = None, **details: Any) -> None:
        self.record.add_counterexample(description, seed, **details)

    def record_conditions(self, arms: Conditions) -> None:
        """Record conditions (what was compared, interventions as data) for the report."""
        record_conditions(self.record, arms)

    def attach_example(self, result: Result, experiment: ConditionExperiment, caption: str) -> None:
        """The example figure of the sample's first maze; a figure failure is only a note."""
        mazes = example_mazes(result, 1)
        if mazes and self.options.diagnostics:
            self._attach_comparison(
                "example",
                experiment,
                mazes[0],
                f"{self.spec.id}: {caption}",
                f"{caption} ({self.maze_label(mazes[0])})",
            )

    def _attach_comparison(
        self, name: str, experiment: ConditionExperiment, maze: Maze, title: str, caption: str
    ) -> None:
        """The experiment's example conditions drawn on ``maze``; diagnostics never decide a
        verdict, so a failure is only a note."""
        try:
            example = experiment.example(maze)
            if example is not None:
                figure = comparison_figure(experiment.subject, example, title)
                self.add_figure(name, figure, caption)
        except DEVICE_ERRORS:
            raise  # a tensor on the wrong device is a bug in the code, not bad luck
        except Exception as exc:
            self.add_note(f"{name} figure failed: {type(exc).__name__}: {exc}")

    def search_counterexamples(
        self,
        is_counterexample: Callable[[Maze], bool],
        where: MazeFilter,
        description: str,
        example: ConditionExperiment | None = None,
    ) -> None:
        """Search generated mazes for the smallest one on which the per-maze claim fails
        (``--counterexamples`` mazes, by budget by default) and attach it -- with a figure of
        ``example``'s conditions on it -- or a note that none was found.

        With a counterexample database (``--counterexample-db``), the mazes saved for this
        claim and checkpoint are replayed first: each that ``where`` admits and that still
        breaks the claim is attached with ``replayed=True``, each that no longer does is a
        note; a new counterexample (``replayed=False``) is then saved for the next run."""
        if self.options.counterexamples == 0 or not self.options.diagnostics:
            return
        db, checkpoint = remembered.database(self)
        replayed = remembered.replay(self, db, checkpoint, is_counterexample, where, description)
        if self.options.mazes is None:
            found = counterexamples.search(
                is_counterexample, where, self.options.budget, self.options.counterexamples
            )
        else:
            found = counterexamples.search_given(
                is_counterexample,
                self._given(where).eligible,
                self.options.budget,
                self.options.counterexamples,
            )
            description = f"{description}, among the given mazes"
        shown = found.maze if found is not None else (replayed[0] if replayed else None)
        if found is None:
            self.add_note(f"counterexample search ({description}): none found")
        elif found.maze.content_hash in {m.content_hash for m in replayed}:
            self.add_note(
                f"counterexample search ({description}): found replayed counterexample "
                f"{found.maze.content_hash[:8]} again"
            )
        else:
            self.add_counterexample(
                description,
                found.maze.seed,
                **counterexamples.details(found),
                replayed=False,
                source="search",
            )
            if db is not None and checkpoint is not None:
                remembered.save(self, db, checkpoint, found.maze, description)
        if example is not None and shown is not None:
            self._attach_comparison(
                "counterexample",
                example,
                shown,
                f"{self.spec.id} counterexample",
                f"smallest counterexample: {description}"
                + (" (replayed from the counterexample database)" if found is None else ""),
            )

    # -- the verdict ----------------------------------------------------------------------
    def conclude(
        self,
        result: Result,
        *,
        expect: str = "supported",
        seeds: Sequence[int] | None = None,
    ) -> Result:
        """Record ``result`` and make the verdict the test outcome.

        ``expect='refuted'`` is for ground-truth checks where the claim must fail (planted
        policies). ``seeds`` is needed only for results not computed through ``measure``.
        """
        if self._concluded:
            raise RuntimeError(f"claim {self.id} was already concluded; conclude once per test")
        if not isinstance(result, Result):
            raise TypeError(
                f"a claim concludes with a harness.stats Result, got {type(result).__name__}"
            )
        self._concluded = True
        record_result(self.record, result, seeds, hashes=self.options.mazes is not None)
        self.record.regression_tolerance = self.regression_tolerance()
        self.record.expected = VerdictKind(expect).value
        if self._record_property is not None:
            for key, value in junit_properties(result).items():
                self._record_property(key, value)
        return assert_verdict(
            result,
            expect=expect,
            inconclusive=self.options.inconclusive,
            claim_id=self.id,
            unexpected=self.options.unexpected,
        )

    def regression_tolerance(self) -> dict[str, Any] | None:
        """The effect change a regression check (``--baseline``) tolerates for this claim:
        its own declaration in the profile (by variant), else ``[shared.regression]``'s."""
        own = self.profile.claim(self.spec.id)
        prefix = f"{self.spec.id}["
        variant = self.id[len(prefix) : -1] if self.id.startswith(prefix) else None
        value = own.tolerance_for(variant)
        if value is not None:
            where = f"[claims.{self.spec.id}] regression_tolerance"
            return {"value": float(value), "source": f"{where} (profile {own.profile})"}
        shared = self.shared("regression")
        if shared.get("tolerance") is None:
            return None
        return {
            "value": float(shared.get("tolerance")),
            "source": f"[shared.regression] tolerance (profile {shared.profile}): "
            + str(shared.get("rationale") or ""),
        }

    @property
    def concluded(self) -> bool:
        return self._concluded


#: Fewest given mazes a claim samples (a paired test needs a few units to say anything).
MIN_GIVEN = 3
#: Errors a diagnostic must not turn into a note: they are bugs that would hit the verdicts too.
DEVICE_ERRORS = (FakeDeviceError, InterventionDeviceError)


def record_result(
    record: ClaimRecord,
    result: Result,
    seeds: Sequence[int] | None = None,
    hashes: bool = False,
) -> None:
    """Put a result, its per-unit values and the seeds it used into a claim record; with
    ``hashes``, the content hash of every unit maze too (given mazes: a seed does not name
    an edited maze)."""
    record.result = result.to_dict()
    record.unit_label = result.unit_label
    if result.unit_values is not None:
        record.unit_effects = json_ready(np.asarray(result.unit_values, dtype=float))
    sample = result.sample
    if sample is not None:
        record.seeds = list(sample.seeds)
        record.base_seed = sample.base_seed
        record.per_seed = {k: per_seed_column(v) for k, v in sample.values.items()}
        if hashes:
            record.mazes = [u.content_hash for u in sample.units if isinstance(u, Maze)]
        for note in adjustment_notes(result):
            record.add_note(note)
    if seeds is not None:
        record.seeds = [int(s) for s in seeds]


def adjustment_notes(result: Result) -> list[str]:
    """What the run did differently from what was asked: fewer units (the stream ended) or
    fewer sequential looks (no look below the minimum size). Never silent."""
    notes = []
    sample = result.sample
    if sample is not None and sample.exhausted and sample.n < sample.planned_n:
        notes.append(
            f"adjusted: the unit stream ended after {sample.n} of the {sample.planned_n} "
            "units asked for; the verdict rests on the smaller sample"
        )
    sequential = result.sequential or {}
    requested, planned = sequential.get("looks_requested"), sequential.get("looks_planned")
    if requested is not None and planned is not None and planned < requested:
        notes.append(
            f"adjusted: --rounds {requested} became {planned} look{'s' * (planned != 1)}: "
            f"no look takes fewer than {MIN_PER_LOOK} units, and this claim's n is "
            f"{sample.planned_n if sample else 'small'}"
        )
    return notes
