"""maze-claims: interpretability claims about procgen maze policies as statistical tests."""

__version__ = "0.1.0"
