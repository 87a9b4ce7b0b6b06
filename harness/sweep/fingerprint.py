"""Is a worker's maze-claims the driver's? A fingerprint of the code and the environment.

A Ray worker runs the claims from its own installation. If that checkout or its numerical
libraries differ from the driver's, its report could differ from a local run's without any
error: so each task compares its fingerprint with the driver's before it starts, and a
mismatch is an error for that unit naming what differs. The code part hashes every file the
claims run can read (``harness/``, ``fixtures/``, ``claims/``, the root ``conftest.py`` and
``pyproject.toml``: sources, profiles, the bundled checkpoint); the environment part lists
the versions of Python and the libraries the numbers come from.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from functools import cache
from importlib import metadata

from harness.sweep.plan import repo_root

CODE_DIRS = ("harness", "fixtures", "claims")
CODE_FILES = ("conftest.py", "pyproject.toml")
CODE_SUFFIXES = (".py", ".toml", ".pth")
#: Distributions whose versions can change a number in a report.
NUMERIC_PACKAGES = ("torch", "numpy", "scipy", "statsmodels", "procgen-mirror", "scikit-learn")


@dataclass(frozen=True)
class Fingerprint:
    code: str  # sha256 over the code files, by relative path
    environment: tuple[tuple[str, str], ...]  # (name, version)

    def differences(self, other: Fingerprint) -> list[str]:
        """What differs, in words (empty when nothing does)."""
        out = []
        if self.code != other.code:
            out.append(f"code {self.code[:12]} vs {other.code[:12]}")
        ours, theirs = dict(self.environment), dict(other.environment)
        for name in sorted(ours.keys() | theirs.keys()):
            if ours.get(name) != theirs.get(name):
                out.append(f"{name} {ours.get(name, 'absent')} vs {theirs.get(name, 'absent')}")
        return out


def code_digest() -> str:
    root = repo_root()
    files = [root / name for name in CODE_FILES]
    for directory in CODE_DIRS:
        files += [
            p
            for p in (root / directory).rglob("*")
            if p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts and p.is_file()
        ]
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


@cache
def fingerprint() -> Fingerprint:
    """This process's fingerprint (computed once: about 3 MB of files)."""
    environment = [("python", platform.python_version())]
    environment += [(name, _version(name)) for name in NUMERIC_PACKAGES]
    return Fingerprint(code_digest(), tuple(environment))
