"""The claim API: a claim is a pytest test with a ``claim`` marker and the ``claim`` fixture.

- :mod:`.spec`      the marker's fields (id, title, source, hypothesis, variant)
- :mod:`.options`   the run's sampling/verdict options and the facts it ran on
- :mod:`.handle`    :class:`Claim`: parameters, sampling, report extras, the verdict
- :mod:`.outcome`   a verdict as a test outcome and a failure message
- :mod:`.examples`, :mod:`.counterexamples`   figures and smallest counterexamples

The pytest side (options, fixtures, the report hooks) is the ``fixtures`` package.
"""

from harness.claim.handle import Claim
from harness.claim.options import INCONCLUSIVE_POLICIES, ClaimOptions, RunFacts
from harness.claim.outcome import assert_verdict, junit_properties, verdict_message
from harness.claim.spec import ClaimSpec, ClaimSpecError

__all__ = [
    "INCONCLUSIVE_POLICIES",
    "Claim",
    "ClaimOptions",
    "ClaimSpec",
    "ClaimSpecError",
    "RunFacts",
    "assert_verdict",
    "junit_properties",
    "verdict_message",
]
