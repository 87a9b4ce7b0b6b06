"""Read pickled procgen states without running the pickle.

The reference tooling (procgen-tools) saves mazes with ``pickle.dump(list_of_state_bytes)``.
Unpickling an untrusted file can run any code it names, so this reader lets the pickle
build only what such a file needs -- lists, tuples, bytes, bytearrays -- and refuses every
other object *before* it is built: :meth:`pickle.Unpickler.find_class` is the only way a
pickle reaches a callable (``GLOBAL``, ``STACK_GLOBAL``, ``INST`` and the extension
registry all go through it), and persistent ids have no loader. Older protocols write bytes
and bytearrays as calls (``_codecs.encode(text, "latin1")``, ``bytearray(data)``), so those
few names map to stand-ins that accept exactly those arguments and call nothing else.
"""

from __future__ import annotations

import io
import pickle
from typing import Any, NoReturn


class MazeFileError(ValueError):
    """A file of mazes that cannot be read: wrong format, corrupt, or not state bytes."""


class UnsafePickleError(MazeFileError):
    """A pickle that needs more than lists of bytes (a class, a function): refused unrun."""


def _bytes_argument(args: tuple[object, ...], name: str) -> bytes:
    """The payload of ``kind(*args)`` as protocols 0-4 pickle bytes and bytearrays: no
    arguments, one bytes object, or text with the latin-1 encoding -- never a size, which
    ``bytes(10**12)`` would turn into a memory bomb."""
    if not args:
        return b""
    if len(args) == 1 and isinstance(args[0], bytes):
        return args[0]
    if len(args) == 2 and isinstance(args[0], str) and args[1] in ("latin1", "latin-1"):
        return args[0].encode("latin1")
    shown = ", ".join(type(a).__name__ for a in args)
    raise UnsafePickleError(
        f"calls {name}({shown}); only the forms pickles use for bytes and bytearrays "
        "are allowed (no arguments, bytes, or str with 'latin1')"
    )


def _codecs_encode(*args: object) -> bytes:
    if len(args) != 2:  # protocols 0-2 always pass the text and its encoding
        args = (*args, None, None)
    return _bytes_argument(args, "_codecs.encode")


def _bytes(*args: object) -> bytes:
    return _bytes_argument(args, "bytes")


def _bytearray(*args: object) -> bytearray:
    return bytearray(_bytes_argument(args, "bytearray"))


#: The only globals a pickled list of bytes needs (protocols 0-4 write ``bytes`` and
#: ``bytearray`` objects as calls), each mapped to a stand-in that checks its arguments.
_ALLOWED = {
    ("_codecs", "encode"): _codecs_encode,
    ("builtins", "bytes"): _bytes,
    ("__builtin__", "bytes"): _bytes,
    ("builtins", "bytearray"): _bytearray,
    ("__builtin__", "bytearray"): _bytearray,
}


class _StatesUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED.get((module, name))
        if allowed is not None:
            return allowed
        raise UnsafePickleError(
            f"needs {module}.{name} to load; a file of maze states holds only "
            "lists of bytes, so it was refused and nothing in it was run"
        )

    def persistent_load(self, _pid: Any) -> NoReturn:
        raise UnsafePickleError(
            "refers to an external object (a persistent id); refused, nothing in it was run"
        )


def load_states(data: bytes, what: str = "the pickle") -> list[bytes]:
    """The state bytes in a pickled list or tuple of bytes (or a single pickled bytes).

    Raises :class:`UnsafePickleError` for a pickle that needs code, and
    :class:`MazeFileError` for a malformed pickle or one that holds anything else.
    """
    try:
        obj = _StatesUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{what}: {exc}") from None
    except MazeFileError:
        raise
    except Exception as exc:  # pickle's own errors: truncated, bad opcode, stack underflow
        raise MazeFileError(
            f"{what} is not a readable pickle: {type(exc).__name__}: {exc}"
        ) from None
    if isinstance(obj, bytes | bytearray):
        return [bytes(obj)]
    if not isinstance(obj, list | tuple):
        raise MazeFileError(
            f"{what} holds a {type(obj).__name__}; expected a list of procgen state bytes "
            "(what procgen-tools saves) or a single state"
        )
    wrong = [
        (i, type(v).__name__) for i, v in enumerate(obj) if not isinstance(v, bytes | bytearray)
    ]
    if wrong:
        i, kind = wrong[0]
        raise MazeFileError(
            f"{what} holds a list with {len(wrong)} entries that are not bytes (entry {i} is "
            f"a {kind}); expected procgen state bytes only"
        )
    return [bytes(v) for v in obj]
