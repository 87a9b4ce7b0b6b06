"""Typed errors for loading policies: each names the problem, the file and what was expected.

A checkpoint is untrusted input. Every way it can be wrong gets its own class, so callers
(the claims suite, the CLI) can react precisely and tests can assert the exact failure.
All derive from :class:`CheckpointError`.
"""

from __future__ import annotations

from collections.abc import Sequence


class CheckpointError(Exception):
    """A checkpoint could not be turned into a policy."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The path does not exist or is not a regular file."""


class CheckpointFormatError(CheckpointError):
    """The file is empty, truncated, not a torch file, or holds no state dict."""


class UnsafeCheckpointError(CheckpointError):
    """The pickle needs arbitrary code (a global outside torch's tensor types); never run."""

    def __init__(self, message: str, globals_needed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.globals_needed = tuple(globals_needed)


class StateDictKeysError(CheckpointError):
    """Keys are missing from, or unexpected in, the state dict."""

    def __init__(self, missing: Sequence[str], unexpected: Sequence[str], source: str) -> None:
        self.missing = tuple(missing)
        self.unexpected = tuple(unexpected)
        parts = []
        if self.missing:
            parts.append(f"missing keys {_short_list(self.missing)}")
        if self.unexpected:
            parts.append(f"unexpected keys {_short_list(self.unexpected)}")
        super().__init__(
            f"{source}: state dict does not match the IMPALA policy: {'; '.join(parts)}"
        )


class ShapeMismatchError(CheckpointError):
    """Some tensors have the wrong shape for the architecture the checkpoint implies."""

    def __init__(
        self, mismatches: Sequence[tuple[str, tuple[int, ...], tuple[int, ...]]], source: str
    ) -> None:
        self.mismatches = tuple(mismatches)
        lines = [f"{k}: expected {list(exp)}, got {list(got)}" for k, exp, got in self.mismatches]
        super().__init__(f"{source}: wrong tensor shapes: " + "; ".join(lines))


class ActionCountError(CheckpointError):
    """The policy head has the wrong number of action logits."""

    def __init__(self, got: int, expected: int, source: str) -> None:
        self.got, self.expected = got, expected
        super().__init__(
            f"{source}: fc_policy has {got} action logits, expected {expected} "
            "(procgen maze policies have 15)"
        )


class ChannelScaleError(CheckpointError):
    """The channel counts of the three IMPALA blocks do not follow one channel scale."""


def _short_list(items: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(repr(k) for k in items[:limit])
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"[{shown}{more}]"
