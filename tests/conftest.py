"""Test-suite configuration: keep the example claim suite out of the default collection.

``tests/example_claims`` deliberately produces refuted and inconclusive claims, so
``pytest tests/`` must not collect it; it runs inside ``pytester`` in the report tests, and
stays runnable on its own when named explicitly:
``pytest tests/example_claims --report-dir DIR``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

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
