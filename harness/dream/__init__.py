"""Dreaming mazes: gradient ascent on a differentiable relaxation of procgen's render."""

from harness.dream.ascent import Dream, DreamSettings, ascend, dream, objective_on_mazes
from harness.dream.discretize import cheapest_path, discretize
from harness.dream.objective import Heading, policy_logits
from harness.dream.relax import Relaxation, relax

__all__ = [
    "Dream",
    "DreamSettings",
    "Heading",
    "Relaxation",
    "ascend",
    "cheapest_path",
    "discretize",
    "dream",
    "objective_on_mazes",
    "policy_logits",
    "relax",
]
