"""``python -m harness fetch-checkpoint``: arguments and exit codes for :mod:`harness.policy.fetch`.

Exit codes: 0 the checkpoint is in the cache (path and sha256 printed); 1 download,
checksum or validation failure (message on stderr); 2 a bad option value (a malformed
``--sha256``, a negative ``--retries``, ...; nothing is downloaded); 3 downloaded but not
pinned -- re-run with ``--sha256 <hash>`` or ``--accept-unpinned`` to keep it.
"""

from __future__ import annotations

import argparse
import sys

from harness import cli_types as T

EXIT_OK, EXIT_FAILED, EXIT_NEEDS_CONFIRMATION = 0, 1, 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harness.policy.fetch import CACHE_ENV, DEFAULT_URL

    parser.add_argument(
        "--url",
        type=T.url,
        default=DEFAULT_URL,
        help="where to download from (default: %(default)s)",
    )
    parser.add_argument(
        "--cache-dir",
        type=T.output_dir,
        default=None,
        help=f"cache directory (default: ${CACHE_ENV}, else ~/.cache/maze-claims)",
    )
    parser.add_argument(
        "--sha256",
        type=T.sha256_hex,
        default=None,
        metavar="HEX",
        help="expected sha256 of the file",
    )
    parser.add_argument(
        "--accept-unpinned",
        action="store_true",
        help="keep the file although no sha256 is pinned or given (prints the hash)",
    )
    parser.add_argument(
        "--retries", type=T.nonnegative_int, default=3, help="retries after a dropped connection"
    )
    parser.add_argument(
        "--timeout", type=T.positive_float, default=60.0, help="socket timeout in seconds"
    )


def run(args: argparse.Namespace) -> int:
    from harness.policy.errors import CheckpointError
    from harness.policy.fetch import FetchError, UnpinnedChecksumError, fetch_checkpoint

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    try:
        result = fetch_checkpoint(
            url=args.url,
            cache_dir=args.cache_dir,
            sha256=args.sha256,
            accept_unpinned=args.accept_unpinned,
            retries=args.retries,
            timeout=args.timeout,
            log=log,
        )
    except UnpinnedChecksumError as e:
        print(f"sha256 {e.got}")
        print(f"error: {e}", file=sys.stderr)
        return EXIT_NEEDS_CONFIRMATION
    except (FetchError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILED
    print(f"path {result.path}")
    print(f"sha256 {result.sha256}")
    if not result.pinned:
        print("warning: the hash was not verified against a pinned value", file=sys.stderr)
    return EXIT_OK
