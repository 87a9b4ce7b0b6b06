"""Typed errors for loading policies: each names the problem, the file and what was expected.

A checkpoint is untrusted input. Every way it can be wrong gets its own class, so callers
(the claims suite, the CLI) can react precisely and tests can assert the exact failure.
All derive from :class:`CheckpointError`. No message ever suggests turning the safe loader
off: a file that needs code to load is refused, and the fix is to re-save its weights.

Hierarchy::

    CheckpointError
    ├── CheckpointNotFoundError (also FileNotFoundError)
    ├── CheckpointFormatError
    │   ├── NotACheckpointError ── TorchScriptArchiveError
    │   ├── CorruptCheckpointError
    │   └── WeightValueError ── NonTensorValueError, WeightDtypeError, NonFiniteWeightsError
    ├── UnsafeCheckpointError
    ├── StateDictKeysError ── CheckpointLayoutError ── AmbiguousLayoutError
    ├── ShapeMismatchError
    ├── ActionCountError
    └── ChannelScaleError
"""

from __future__ import annotations

from collections.abc import Sequence

#: The fix messages offer for an odd or unsafe checkpoint: keep the weights, nothing else.
RESAVE = "re-save the weights alone with torch.save(model.state_dict(), path)"


class CheckpointError(Exception):
    """A checkpoint could not be turned into a policy."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The path does not exist or is not a regular file."""


class CheckpointFormatError(CheckpointError):
    """The file is empty, truncated, not a torch file, or holds no usable weights."""


class NotACheckpointError(CheckpointFormatError):
    """The file is readable but is no torch checkpoint: empty, text, a plain pickle, a zip."""


class TorchScriptArchiveError(NotACheckpointError):
    """A ``torch.jit.save`` archive: compiled code plus weights, not a state dict."""


class CorruptCheckpointError(CheckpointFormatError):
    """A torch checkpoint that ends early or is damaged (an interrupted download or copy)."""


class WeightValueError(CheckpointFormatError):
    """A state-dict entry is not a usable floating-point tensor."""

    def __init__(self, message: str, keys: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.keys = tuple(keys)


class NonTensorValueError(WeightValueError):
    """A state-dict value is a list, number, array or dict where a tensor belongs."""


class WeightDtypeError(WeightValueError):
    """A weight has an integer, bool, complex or otherwise unsupported dtype."""


class NonFiniteWeightsError(WeightValueError):
    """Weights hold NaN or infinity: the policy would output NaN probabilities silently."""


class UnsafeCheckpointError(CheckpointError):
    """The pickle needs arbitrary code (a global outside torch's tensor types); never run."""

    def __init__(self, message: str, globals_needed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.globals_needed = tuple(globals_needed)


class StateDictKeysError(CheckpointError):
    """Keys are missing from, or unexpected in, the state dict."""

    def __init__(
        self, missing: Sequence[str], unexpected: Sequence[str], source: str, hint: str = ""
    ) -> None:
        self.missing = tuple(missing)
        self.unexpected = tuple(unexpected)
        parts = []
        if self.missing:
            parts.append(f"missing keys {short_list(self.missing)}")
        if self.unexpected:
            parts.append(f"unexpected keys {short_list(self.unexpected)}")
        message = f"{source}: state dict does not match the IMPALA policy: {'; '.join(parts)}"
        super().__init__(message + (f" ({hint})" if hint else ""))


class CheckpointLayoutError(StateDictKeysError):
    """No state dict where one was expected: the top level is neither weights nor a known
    wrapper (``model_state_dict``, ``state_dict``, ``model``) around them."""

    def __init__(self, message: str, keys_found: Sequence[object] = ()) -> None:
        self.missing, self.unexpected = (), ()
        self.keys_found = tuple(keys_found)
        CheckpointError.__init__(self, message)


class AmbiguousLayoutError(CheckpointLayoutError):
    """Two wrapper keys both hold a state dict: which one is the policy is not knowable."""

    def __init__(
        self, message: str, keys_found: Sequence[object], candidates: Sequence[str]
    ) -> None:
        super().__init__(message, keys_found)
        self.candidates = tuple(candidates)


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


def short_list(items: Sequence[object], limit: int = 8, width: int = 60) -> str:
    """``['a', 'b' and 3 more]``: keys for a one-line message, each repr cut to ``width``."""
    shown = ", ".join(_cut(repr(k), width) for k in items[:limit])
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"[{shown}{more}]"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
