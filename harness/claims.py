"""The claim API: a claim is a pytest test with a ``claim`` marker and the ``claim`` fixture.

::

    @pytest.mark.claim(
        id="CV1",
        title="Subtracting the cheese vector makes the agent ignore cheese",
        source="post 004; cheese-vector notebook",
        hypothesis="P(cheese) at the decision square drops when c = -1",
    )
    def test_cv1(claim, mazes_with_decision_square, p_cheese):
        sample = claim.measure(mazes_with_decision_square, p_cheese)  # {"unpatched", "patched"}
        result = sample.paired_difference(
            "unpatched", "patched", threshold=claim.params.require("threshold")
        )
        claim.conclude(result)

``claim.measure`` draws units reproducibly from ``--base-seed`` (sequentially with
``--sequential``), ``claim.conclude`` records the result for the report and turns the
verdict into the test outcome: supported passes, refuted fails, inconclusive follows
``--inconclusive``. The failure message states estimate, interval, n and the threshold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.report.record import ClaimRecord
from harness.stats.design import sample_size
from harness.stats.format import fmt, fmt_interval, fmt_level, fmt_p
from harness.stats.result import EffectResult
from harness.stats.sampling import Measurement, Metric, SamplingPlan, StreamFactory
from harness.stats.verdict import VerdictKind

if TYPE_CHECKING:
    from harness.profiles import ClaimParams, Profile

CLAIM_ID_PATTERN = re.compile(r"^[A-Z]{2,4}\d+[a-z]?$")
CLAIM_FIELDS = ("id", "title", "source", "hypothesis")
INCONCLUSIVE_POLICIES = ("fail", "xfail", "skip")


class ClaimSpecError(ValueError):
    """A ``claim`` marker that lacks a field or has a malformed id."""


@dataclass(frozen=True)
class ClaimSpec:
    """What a claim marker says: id (CLAIMS.md), title, source and hypothesis in words."""

    id: str
    title: str
    source: str
    hypothesis: str

    @classmethod
    def from_marker(cls, mark: pytest.Mark) -> ClaimSpec:
        """Parse ``@pytest.mark.claim("CV1", title=..., ...)`` or all-keyword form."""
        kwargs = dict(mark.kwargs)
        if mark.args:
            if len(mark.args) > 1 or "id" in kwargs:
                raise ClaimSpecError("claim marker: give the id once, positionally or as id=")
            kwargs["id"] = mark.args[0]
        unknown = sorted(set(kwargs) - set(CLAIM_FIELDS))
        missing = [f for f in CLAIM_FIELDS if not isinstance(kwargs.get(f), str) or not kwargs[f]]
        problems = []
        if missing:
            problems.append(f"missing or empty {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown field(s) {', '.join(unknown)}")
        if not missing and not CLAIM_ID_PATTERN.match(kwargs["id"]):
            problems.append(f"id {kwargs['id']!r} does not look like a CLAIMS.md id (e.g. CV1)")
        if problems:
            raise ClaimSpecError("claim marker: " + "; ".join(problems))
        return cls(**{f: kwargs[f] for f in CLAIM_FIELDS})


@dataclass(frozen=True)
class ClaimOptions:
    """The parsed command-line options of a claims run."""

    checkpoint: str = "default"
    profile: str | None = None
    device: str = "auto"
    seeds: int | None = None
    budget: str = "default"
    base_seed: int = 0
    alpha: float = 0.05
    sequential: bool = False
    rounds: int = 5
    report_dir: Path | None = None
    baseline: Path | None = None
    inconclusive: str = "xfail"
    #: Generated mazes per counterexample search (None: by budget; 0: no search).
    counterexamples: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "profile_option": self.profile,
            "device_option": self.device,
            "seeds_option": self.seeds,
            "budget": self.budget,
            "base_seed": self.base_seed,
            "alpha": self.alpha,
            "sequential": self.sequential,
            "rounds": self.rounds,
            "inconclusive": self.inconclusive,
            "counterexamples": self.counterexamples,
        }


@dataclass
class RunMetadata:
    """Facts about the run that fixtures learn later (checkpoint hash, resolved device,
    profile name); every claim record takes a copy when its test ends."""

    checkpoint: str = "default"
    checkpoint_sha256: str | None = None
    profile: str | None = None
    device: str = "auto"
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "checkpoint_sha256": self.checkpoint_sha256,
            "profile": self.profile,
            "device": self.device,
            **{k: v for k, v in sorted(self.extra.items())},
        }


def claim_requirement(result: EffectResult) -> str:
    """What the claim asserts, in words ('> 0.1', 'inside [-0.05, 0.05]', 'all parts')."""
    if result.form == "equivalence" and result.margin is not None:
        return f"inside [{fmt(result.margin[0])}, {fmt(result.margin[1])}]"
    if result.components:
        return "all parts hold: " + "; ".join(
            f"{c.label or c.estimate_name} {claim_requirement(c)}" for c in result.components
        )
    sign = {"greater": ">", "less": "<", "two-sided": "!="}.get(result.alternative, "?")
    return f"{sign} {fmt(result.threshold)}"


def verdict_message(result: EffectResult, claim_id: str, expect: str = "supported") -> str:
    """The failure text: verdict, estimate, interval, n, threshold, test, p, reason."""
    return (
        f"{claim_id} {result.kind.value} (expected {expect}): {result.estimate_name} = "
        f"{fmt(result.estimate)}, {fmt_level(result.ci_level)} CI {fmt_interval(result.ci)}, "
        f"n = {result.n}; claimed {claim_requirement(result)} ({result.test}, "
        f"p = {fmt_p(result.pvalue)}, alpha = {fmt(result.alpha)}).\nReason: "
        f"{result.verdict.reason}"
    )


def assert_verdict(
    result: EffectResult,
    *,
    expect: str = "supported",
    inconclusive: str = "fail",
    claim_id: str = "claim",
) -> EffectResult:
    """Pass when the verdict is the expected one; otherwise fail, or for an inconclusive
    verdict fail / xfail / skip as ``inconclusive`` says."""
    expected = VerdictKind(expect)
    if inconclusive not in INCONCLUSIVE_POLICIES:
        raise ValueError(f"inconclusive must be one of {INCONCLUSIVE_POLICIES}")
    if result.kind is expected:
        return result
    message = verdict_message(result, claim_id, expected.value)
    if result.kind is VerdictKind.INCONCLUSIVE:
        if inconclusive == "xfail":
            pytest.xfail(message)
        if inconclusive == "skip":
            pytest.skip(message)
    pytest.fail(message, pytrace=False)


class Claim:
    """What a claim test works with: its spec, the options, sampling, and its report record."""

    def __init__(
        self,
        spec: ClaimSpec,
        options: ClaimOptions,
        record: ClaimRecord,
        *,
        property_recorder: Callable[[str, object], None] | None = None,
        profile_loader: Callable[[], Profile] | None = None,
    ) -> None:
        self.spec = spec
        self.options = options
        self.record = record
        self._record_property = property_recorder
        self._profile_loader = profile_loader
        self._concluded = False

    @property
    def id(self) -> str:
        """The record's id: the marker id plus the parametrization, e.g. ``CV4[offset=2]``."""
        return self.record.id

    @property
    def alpha(self) -> float:
        return self.options.alpha

    # -- parameters -----------------------------------------------------------------------
    @property
    def profile(self) -> Profile:
        if self._profile_loader is None:
            raise RuntimeError("no profile is available in this context")
        return self._profile_loader()

    @property
    def params(self) -> ClaimParams:
        """This claim's section of the active profile; its published value goes to the report."""
        params = self.profile.claim(self.spec.id)
        if params.published is not None and self.record.published is None:
            self.record.published = params.published
        return params

    @property
    def published(self) -> Any:
        return self.record.published

    @published.setter
    def published(self, value: Any) -> None:
        self.record.published = value

    # -- sampling -------------------------------------------------------------------------
    def sample_size(self, n: int | Mapping[str, int] | None = None) -> int:
        """Units to draw under the current ``--budget`` / ``--seeds``."""
        return sample_size(self.options.budget, n, self.options.seeds)

    def measure(
        self,
        stream: StreamFactory,
        metric: Metric,
        *,
        n: int | Mapping[str, int] | None = None,
        columns: Sequence[str] | None = None,
        batch_size: int = 64,
        base_seed: int | None = None,
    ) -> Measurement:
        """A metric over units from ``stream(base_seed)``, drawn when first analysed.

        ``n`` is the default-budget sample size (scaled for ``--budget quick/paper``) or one
        size per budget; ``--seeds`` overrides it. ``base_seed`` defaults to ``--base-seed``.
        """
        plan = SamplingPlan(
            n=self.sample_size(n),
            base_seed=self.options.base_seed if base_seed is None else int(base_seed),
            batch_size=batch_size,
            sequential=self.options.sequential,
            rounds=self.options.rounds,
            alpha=self.options.alpha,
            label=self.id,
        )
        return Measurement(stream, metric, plan, columns=columns)

    # -- report extras --------------------------------------------------------------------
    def add_figure(self, name: str, fig_or_png: Any, caption: str = "") -> None:
        """Attach a matplotlib figure (rendered to PNG and closed) or PNG bytes."""
        self.record.add_figure(name, fig_or_png, caption)

    def add_note(self, text: str) -> None:
        self.record.add_note(text)

    def add_counterexample(self, description: str, seed: int | None = None, **details: Any) -> None:
        self.record.add_counterexample(description, seed, **details)

    def add_intervention(self, intervention: Any) -> None:
        """Record an intervention by what it prints as (``str(intervention)``)."""
        self.record.add_intervention(intervention)

    # -- the verdict ----------------------------------------------------------------------
    def conclude(
        self,
        result: EffectResult,
        *,
        expect: str = "supported",
        seeds: Sequence[int] | None = None,
    ) -> EffectResult:
        """Record ``result`` and make the verdict the test outcome (see module docstring).

        ``expect='refuted'`` is for ground-truth checks where the claim must fail (planted
        policies). ``seeds`` is needed only for results not computed through ``measure``.
        """
        if self._concluded:
            raise RuntimeError(f"claim {self.id} was already concluded; conclude once per test")
        self._concluded = True
        self.record.set_result(result, None if seeds is None else list(seeds))
        self.record.expected = VerdictKind(expect).value
        if self._record_property is not None:
            for key, value in junit_properties(result).items():
                self._record_property(key, value)
        return assert_verdict(
            result, expect=expect, inconclusive=self.options.inconclusive, claim_id=self.id
        )

    @property
    def concluded(self) -> bool:
        return self._concluded


def junit_properties(result: EffectResult) -> dict[str, object]:
    """The key numbers as JUnit XML properties (raw p only: Holm needs the whole run)."""
    return {
        "claim_verdict": result.kind.value,
        "claim_estimate": result.estimate,
        "claim_ci_low": result.ci[0],
        "claim_ci_high": result.ci[1],
        "claim_n": result.n,
        "claim_p_value": result.pvalue,
        "claim_alpha": result.alpha,
        "claim_threshold": result.threshold,
    }
