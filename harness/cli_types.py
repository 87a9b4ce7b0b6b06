"""argparse ``type=`` validators: a bad value is a usage error naming the option (exit 2).

Without them an out-of-range number parses fine and fails much later, deep inside numpy or
procgen, or never fails at all (a maze filter that matches nothing spins forever). The
constants are copied rather than imported so that building the parser stays light;
``tests/test_cli.py`` checks that they agree with their sources.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import urllib.parse
from pathlib import Path

#: procgen's largest level seed (``harness.maze.procgen_env.MAX_SEED``).
MAX_SEED = 2**31 - 1
#: Inner maze sizes procgen generates: odd, 3..25 (``harness.maze.maze``).
MIN_MAZE_SIZE, MAX_MAZE_SIZE = 3, 25
#: ``--checkpoint`` values that are not paths (``harness.policy.sources``).
DEFAULT_SPEC, PLANTED_PREFIX = "default", "planted"

_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
_HEX64 = re.compile(r"[0-9a-f]{64}")

Bad = argparse.ArgumentTypeError


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise Bad(f"expected an integer, got {text!r}") from None


def _finite(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise Bad(f"expected a number, got {text!r}") from None
    if not math.isfinite(x):
        raise Bad(f"expected a finite number, got {text!r}")
    return x


def positive_int(text: str) -> int:
    n = _integer(text)
    if n < 1:
        raise Bad(f"must be a positive integer, got {text!r}")
    return n


def nonnegative_int(text: str) -> int:
    n = _integer(text)
    if n < 0:
        raise Bad(f"must be an integer >= 0, got {text!r}")
    return n


def seed(text: str) -> int:
    """A level (or RNG) seed in procgen's range, so every seed the run derives is valid too."""
    n = _integer(text)
    if not 0 <= n <= MAX_SEED:
        raise Bad(f"must be a seed in 0..{MAX_SEED}, got {text!r}")
    return n


def maze_size(text: str) -> int:
    n = _integer(text)
    if not (MIN_MAZE_SIZE <= n <= MAX_MAZE_SIZE and n % 2 == 1):
        raise Bad(
            f"maze sizes are odd, {MIN_MAZE_SIZE}..{MAX_MAZE_SIZE} ({MIN_MAZE_SIZE}, "
            f"{MIN_MAZE_SIZE + 2}, ..., {MAX_MAZE_SIZE}), got {text!r}"
        )
    return n


def positive_float(text: str) -> float:
    x = _finite(text)
    if x <= 0:
        raise Bad(f"must be a finite number > 0, got {text!r}")
    return x


def nonnegative_float(text: str) -> float:
    x = _finite(text)
    if x < 0:
        raise Bad(f"must be a finite number >= 0, got {text!r}")
    return x


def probability(text: str) -> float:
    """A rate in (0, 1]: 0 would count every channel, above 1 none."""
    x = _finite(text)
    if not 0 < x <= 1:
        raise Bad(f"must lie in (0, 1], got {text!r}")
    return x


def device(text: str) -> str:
    """The spelling only; whether this machine has the device is checked when it is used."""
    if not _DEVICE.fullmatch(text.strip().lower()):
        raise Bad(f"unknown device {text!r}; use auto, cpu, cuda or cuda:<index>")
    return text


def sha256_hex(text: str) -> str:
    v = text.strip().lower()
    if not _HEX64.fullmatch(v):
        raise Bad(f"not a sha256 hex digest (64 hex characters): {text!r}")
    return v


def url(text: str) -> str:
    """An http(s) URL naming a file (urllib would raise a bare ValueError mid-download)."""
    parts = urllib.parse.urlparse(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Bad(f"expected an http:// or https:// URL, got {text!r}")
    if Path(parts.path).name in ("", ".", ".."):
        raise Bad(f"the URL names no file: {text!r}")
    return text


def checkpoint(text: str) -> str:
    """``default``, ``planted[:name]`` (names are checked on loading) or a readable file."""
    if text in (DEFAULT_SPEC, PLANTED_PREFIX) or text.startswith(PLANTED_PREFIX + ":"):
        return text
    path = Path(text)
    if not path.exists():
        raise Bad(f"no such file {text!r} (use default, planted[:name] or a checkpoint path)")
    if not path.is_file():
        raise Bad(f"{text!r} is not a file")
    if not os.access(path, os.R_OK):
        raise Bad(f"{text!r} is not readable")
    return text


def _nearest_existing(path: Path) -> Path:
    return next(p for p in (path, *path.parents) if p.exists())


def output_dir(text: str) -> str:
    """A directory that exists or can be created (not under a regular file)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise Bad(f"{text!r} exists and is not a directory")
    base = _nearest_existing(path.absolute())
    if not base.is_dir():
        raise Bad(f"cannot create {text!r}: {str(base)!r} is a file")
    if not os.access(base, os.W_OK | os.X_OK):
        raise Bad(f"cannot write {text!r}: {str(base)!r} is not writable")
    return text


def output_file(text: str) -> Path:
    """A file that can be written now: its directory exists (so the run's end cannot fail)."""
    path = Path(text)
    if path.is_dir():
        raise Bad(f"{text!r} is a directory")
    parent = path.absolute().parent
    if not parent.is_dir():
        what = "is a file" if parent.exists() else "does not exist"
        raise Bad(f"cannot write {text!r}: {str(parent)!r} {what}")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise Bad(f"cannot write {text!r}: permission denied")
    return path
