"""Experiments behind the claims: the subject under test, activations and difference
vectors, and batched measurements under interventions."""

from harness.experiments.subject import DEFAULT_LAYER, ProfileFactMissing, Subject

__all__ = ["DEFAULT_LAYER", "ProfileFactMissing", "Subject"]
