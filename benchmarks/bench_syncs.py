"""Host synchronizations per claim, counted on the CPU by the device check.

    python benchmarks/bench_syncs.py [-k EXPR] [--checkpoint planted:cheese-seeker]
                                     [--budget quick] [--top 15]

On a GPU every read back to the host (``.item()``, ``float(t)``, ``.cpu()``, ``if t.any():``)
waits for the device to finish the work queued before it; a loop that reads once per maze or
per step turns the GPU's pipeline into a series of round trips. This runs the claims under
``--fake-device`` (:mod:`harness.policy.fake_device`), in this process and serially so each
claim's count is its own, and prints per claim the syncs and the mazes it measured, then the
busiest call sites. The last lines are ``host_syncs_total=<n>`` and
``host_syncs_per_maze_max=<x>`` (the claim with the most syncs per measured maze).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fixtures.policy import FAKE_DEVICE_KEY  # noqa: E402
from harness.policy.fake_device import sync_lines  # noqa: E402


class SyncsPerClaim:
    """A pytest plugin: each test's host syncs (the difference of the check's counters)."""

    def __init__(self) -> None:
        self.per_test: dict[str, int] = {}
        self.mazes: dict[str, int] = {}
        self.sites: Counter[tuple[str, str]] = Counter()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        check = item.config.stash.get(FAKE_DEVICE_KEY, None)
        before = Counter(check.syncs) if check is not None else Counter()
        try:
            return (yield)
        finally:
            check = item.config.stash.get(FAKE_DEVICE_KEY, None)
            if check is not None:
                delta = Counter(check.syncs)
                delta.subtract(before)
                self.per_test[item.nodeid] = sum(delta.values())
                self.sites.update({k: v for k, v in delta.items() if v > 0})

    def pytest_claims_report(self, report, config) -> None:
        del config
        for claim in report["claims"]:
            self.mazes[claim["nodeid"]] = len(claim.get("seeds") or ())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-k", default="", help="pytest -k expression (default: every claim)")
    ap.add_argument("--checkpoint", default="planted:cheese-seeker")
    ap.add_argument("--budget", default="quick")
    ap.add_argument("--top", type=int, default=15, help="call sites to list")
    args = ap.parse_args(argv)
    plugin = SyncsPerClaim()
    with tempfile.TemporaryDirectory() as out:
        options = [
            str(ROOT / "claims"),
            f"--rootdir={ROOT}",
            f"--checkpoint={args.checkpoint}",
            f"--budget={args.budget}",
            "--fake-device",
            f"--report-dir={out}",
            "-q",
            "-p",
            "no:cacheprovider",
            *(["-k", args.k] if args.k else []),
        ]
        status = pytest.main(options, plugins=[plugin])
    if status not in (0, 1) or not plugin.per_test:
        print(f"the claims run failed (pytest exit status {int(status)})", file=sys.stderr)
        return 1
    print(f"\n{'syncs':>7} {'mazes':>6} {'per maze':>9}  claim test")
    ratios = []
    for nodeid, syncs in sorted(plugin.per_test.items(), key=lambda kv: -kv[1]):
        mazes = plugin.mazes.get(nodeid, 0)
        ratio = syncs / mazes if mazes else float("nan")
        if mazes:
            ratios.append(ratio)
        print(f"{syncs:>7} {mazes:>6} {ratio:>9.2f}  {nodeid}")
    print()
    rows = [(site, what, n) for (site, what), n in plugin.sites.items()]
    print("\n".join(sync_lines(rows, args.top)))
    print(f"host_syncs_total={sum(plugin.per_test.values())}")
    print(f"host_syncs_per_maze_max={max(ratios) if ratios else float('nan'):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
