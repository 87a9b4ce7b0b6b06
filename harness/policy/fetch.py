"""Download a checkpoint into a cache directory: resumable, checksum-verified, validated.

The original maze policy (``model_rand_region_5.pth``) lives at a public URL this project
cannot always reach. :func:`fetch_checkpoint` downloads it with the standard library only:

1. into ``<cache>/<name>.part``, resuming an earlier partial download with an HTTP
   ``Range`` request (a server that ignores ``Range`` gets a fresh download), retrying a
   dropped connection a few times;
2. verifies the sha256 against the pinned value (or ``sha256=``); a mismatch deletes the
   ``.part`` file (resuming a wrong file cannot fix it) and raises;
3. checks that the file loads as a policy (``weights_only`` loading, key and shape checks);
4. renames it to ``<cache>/<name>``.

No hash is pinned for the original checkpoint yet (it could not be downloaded where this
code was written): then the download is kept as ``.part``, the hash it got is reported, and
the caller must confirm with ``sha256=<hex>`` (verified, no second download) or
``accept_unpinned=True``.
"""

from __future__ import annotations

import http.client
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.policy.checkpoint import checkpoint_sha256, load_policy
from harness.policy.errors import CheckpointError

DEFAULT_URL = "https://nerdsniper.net/mats/model_rand_region_5.pth"
#: sha256 of known checkpoints by file name. None: not pinned yet -- confirm it once with
#: ``--sha256`` after downloading it from a trusted network, then pin it here.
PINNED_SHA256: dict[str, str | None] = {"model_rand_region_5.pth": None}
CACHE_ENV = "MAZE_CLAIMS_CACHE"
_CHUNK = 1 << 16
_USER_AGENT = "maze-claims-fetch/0.1"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

Log = Callable[[str], None]


class FetchError(Exception):
    """A checkpoint could not be fetched."""


class DownloadError(FetchError):
    """Network or HTTP failure; any partial file is kept so a re-run resumes."""


class ChecksumMismatchError(FetchError):
    """The downloaded (or cached) file's sha256 differs from the expected one."""

    def __init__(self, message: str, expected: str, got: str) -> None:
        super().__init__(message)
        self.expected, self.got = expected, got


class UnpinnedChecksumError(FetchError):
    """No pinned hash: the caller must confirm the hash the download got."""

    def __init__(self, message: str, got: str, part: Path) -> None:
        super().__init__(message)
        self.got, self.part = got, part


class InvalidDownloadError(FetchError):
    """The downloaded file is not a loadable policy checkpoint."""


@dataclass(frozen=True)
class FetchResult:
    path: Path
    sha256: str
    pinned: bool  # verified against a known hash (pinned or given)
    from_cache: bool  # no network access was needed
    resumed: bool  # a partial download was continued
    bytes_downloaded: int


def default_cache_dir() -> Path:
    """``$MAZE_CLAIMS_CACHE``, else ``$XDG_CACHE_HOME/maze-claims``, else
    ``~/.cache/maze-claims``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "maze-claims"


def file_name_for(url: str) -> str:
    """The cache file name for ``url`` (the last path component)."""
    name = Path(urllib.parse.urlparse(url).path).name
    if not name or name in (".", ".."):
        raise FetchError(f"cannot derive a file name from URL {url!r}")
    return name


def _normalise_hash(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.strip().lower()
    if not _HEX64.match(v):
        raise FetchError(f"not a sha256 hex digest (64 hex characters): {value!r}")
    return v


def fetch_checkpoint(
    url: str = DEFAULT_URL,
    cache_dir: str | os.PathLike | None = None,
    sha256: str | None = None,
    accept_unpinned: bool = False,
    retries: int = 3,
    timeout: float = 60.0,
    backoff: float = 1.0,
    log: Log | None = None,
) -> FetchResult:
    """Download ``url`` into the cache (see the module docstring for the steps)."""
    log = log or (lambda _msg: None)
    name = file_name_for(url)
    expected = _normalise_hash(sha256) or _normalise_hash(PINNED_SHA256.get(name))
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    final, part = cache / name, cache / f"{name}.part"

    if final.exists():
        got = checkpoint_sha256(final)
        if expected is not None and got != expected:
            raise ChecksumMismatchError(
                f"cached {final} has sha256 {got}, expected {expected}; delete it to download "
                "again, or check the expected hash",
                expected,
                got,
            )
        log(f"using cached {final}")
        return FetchResult(final, got, expected is not None, True, False, 0)

    if part.exists() and expected is not None and checkpoint_sha256(part) == expected:
        log(f"{part} is complete and matches the expected sha256")
        _validate(part)
        return _accept(part, final, expected, pinned=True, from_cache=True, resumed=False, nbytes=0)

    resumed, nbytes = _download(url, part, retries, timeout, backoff, log)
    got = checkpoint_sha256(part)
    if expected is not None and got != expected:
        part.unlink()
        raise ChecksumMismatchError(
            f"downloaded {url} has sha256 {got}, expected {expected}; the file was deleted",
            expected,
            got,
        )
    _validate(part)
    if expected is None and not accept_unpinned:
        raise UnpinnedChecksumError(
            f"downloaded {url} (sha256 {got}) but no hash is pinned for {name}. Check the hash "
            f"against a trusted source, then re-run with --sha256 {got} to keep it "
            "(no second download), or with --accept-unpinned. Kept as "
            f"{part} until then.",
            got,
            part,
        )
    return _accept(part, final, got, expected is not None, False, resumed, nbytes)


def _accept(
    part: Path, final: Path, digest: str, pinned: bool, from_cache: bool, resumed: bool, nbytes: int
) -> FetchResult:
    os.replace(part, final)
    return FetchResult(final, digest, pinned, from_cache, resumed, nbytes)


def _validate(path: Path) -> None:
    try:
        load_policy(path, device="cpu")
    except CheckpointError as e:
        path.unlink(missing_ok=True)
        raise InvalidDownloadError(f"the download is not a usable policy checkpoint: {e}") from e


def _download(
    url: str, part: Path, retries: int, timeout: float, backoff: float, log: Log
) -> tuple[bool, int]:
    """Fill ``part`` with the whole resource; returns (resumed, bytes transferred)."""
    resumed, transferred, failures = False, 0, 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        try:
            done, appended, n = _request(url, part, have, timeout)
            resumed |= appended
            transferred += n
            if done:
                return resumed, transferred
            problem = f"connection closed after {have + n} bytes"
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:
                log(f"server reports {part.name} is already complete")
                return resumed, transferred
            if 400 <= e.code < 500:
                raise DownloadError(f"HTTP {e.code} {e.reason} for {url}") from e
            problem = f"HTTP {e.code} {e.reason}"
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            problem = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
        failures += 1
        if failures > retries:
            kept = part.stat().st_size if part.exists() else 0
            state = f"{kept} bytes kept in {part} -- re-run to resume" if kept else "nothing kept"
            raise DownloadError(
                f"download of {url} failed ({problem}) after {retries} retries; {state}"
            )
        log(f"{problem}; retrying ({failures}/{retries})")
        time.sleep(backoff * failures)


def _request(url: str, part: Path, have: int, timeout: float) -> tuple[bool, bool, int]:
    """One GET (ranged if ``have``); returns (complete, appended to existing bytes, bytes read)."""
    headers = {"User-Agent": _USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        if resp.status == 206 and have:
            start = _content_range_start(resp.headers.get("Content-Range", ""))
            if start != have:
                raise DownloadError(f"server resumed at byte {start}, expected {have}")
            mode, appended = "ab", True
        elif resp.status == 200:
            mode, appended = "wb", False  # no Range support: start over
        else:
            raise DownloadError(f"unexpected HTTP status {resp.status} for {url}")
        length = resp.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        n = 0
        with open(part, mode) as f:
            while chunk := resp.read(_CHUNK):
                f.write(chunk)
                n += len(chunk)
        complete = expected is None or n == expected
        return complete, appended, n


def _content_range_start(header: str) -> int:
    m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", header.strip())
    if not m:
        raise DownloadError(f"malformed Content-Range header {header!r}")
    return int(m.group(1))
