"""Test-suite configuration: keep the example claim suite out of the default collection.

``tests/example_claims`` deliberately produces refuted and inconclusive claims, so
``pytest tests/`` must not collect it; it runs inside ``pytester`` in the report tests, and
stays runnable on its own when named explicitly:
``pytest tests/example_claims --report-dir DIR``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from harness.policy import ImpalaPolicy

EXAMPLE_DIR = Path(__file__).resolve().parent / "example_claims"


def _named_explicitly(config: pytest.Config) -> bool:
    for arg in config.args:
        target = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if target == EXAMPLE_DIR or EXAMPLE_DIR in target.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    path = collection_path.resolve()
    if (path == EXAMPLE_DIR or EXAMPLE_DIR in path.parents) and not _named_explicitly(config):
        return True
    return None


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def claims_pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester directory whose runs load the maze-claims plugin (in-process or not)."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makeconftest('pytest_plugins = ["fixtures.plugin"]\n')
    pytester.makeini(
        "[pytest]\n"
        # Plugins the inner runs do not need; hypothesis' would re-import itself every run.
        "addopts = -p no:hypothesispytest -p no:benchmark -p no:randomly\n"
        "filterwarnings =\n"
        "    ignore::pytest.PytestAssertRewriteWarning\n"
        "    ignore::DeprecationWarning\n"
    )
    return pytester


def random_policy(scale: int = 1, seed: int = 0) -> ImpalaPolicy:
    """A small IMPALA with seeded N(0, 0.05) weights: every layer carries signal."""
    gen = torch.Generator().manual_seed(seed)
    policy = ImpalaPolicy(scale=scale)
    with torch.no_grad():
        for p in policy.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    return policy.eval()


@pytest.fixture(scope="session")
def make_random_policy() -> Callable[..., ImpalaPolicy]:
    """:func:`random_policy` (``make_random_policy(scale=1, seed=0)``)."""
    return random_policy


@pytest.fixture(scope="module")
def policy() -> ImpalaPolicy:
    """A small random policy (scale 1, seed 0) for the hook, intervention and checkpoint
    tests; a module may define its own."""
    return random_policy()


@pytest.fixture(scope="module")
def obs() -> torch.Tensor:
    """Four random observations (float RGB in [0, 1], seeded)."""
    return torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One intra-op thread: small forward passes are 10x slower when threads contend (use
    with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
