"""Root conftest: loads the maze-claims pytest plugin (options, fixtures, report)."""

pytest_plugins = ["fixtures.plugin", "pytester"]
