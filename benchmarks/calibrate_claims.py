"""End-to-end error rates of the claims as they run, on graded planted policies.

    python benchmarks/calibrate_claims.py --quick      # minutes: quick budget, 5 claims
    python benchmarks/calibrate_claims.py --full       # the README table: quick + default, BH1

For each claim a knob of the graded planted family (harness/policy/planted.py) is solved so
that the claim's true effect on a fixed pool of its own mazes lies exactly at its threshold
or margin, at the effect the budget's n was sized to detect (power 0.8), and at zero (the
mechanism absent). The claim's real test function measures the pool once per policy; each
replicate sample of n units is decided by the claim's own form, fixed-size and sequential
(harness/claim/calibrate.py explains the design). Bounds: false "supported" and false
"refuted" <= alpha + 3 SE at the boundary (and false verdicts at zero) at every budget;
power >= 0.8 - 3 SE at the alternative at the default budget, whose n is the profile's
design. The quick budget is 0.3 x that n for smoke runs: its power is reported, with the n
that would reach 0.8 where it falls short, but not bounded. A rate outside its bound makes
the script exit 1.

The last three lines are ``claims_false_supported_max=``, ``claims_false_refuted_max=`` and
``claims_power_min=`` (over the claims, budgets and fixed/sequential modes it ran).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import harness.maze.maze as maze_module  # noqa: E402
from harness.claim.calibrate import (  # noqa: E402
    CalibrationCase,
    CalibrationError,
    PointResult,
    calibrate_case,
)
from harness.claim.replay import ClaimFunction  # noqa: E402
from harness.profiles import resolve_profile  # noqa: E402

CLAIMS = ROOT / "claims"


def claim(module: str, function: str) -> ClaimFunction:
    return ClaimFunction.load(CLAIMS / module, function)


def cases() -> dict[str, CalibrationCase]:
    """The claims calibrated, each with the knob that grades its effect (why, per claim)."""
    return {
        # subtracting the cheese vector hides the cheese; 'stop' sets how much of P(cheese)
        # goes with it (what is left is the habit's share, which stop moves to NOOP)
        "CV1": CalibrationCase(
            "CV1",
            "difference (relative)",
            claim("test_cv.py", "test_cv1_subtracting_the_cheese_vector"),
            knob="stop",
            search=(0.0, 12.0),
        ),
        # adding the cheese vector doubles K; 'cap' limits what downstream sees of it
        # (cap 1 = saturating: nothing changes, which is the claim being true)
        "CV2": CalibrationCase(
            "CV2",
            "magnitude (does nothing)",
            claim("test_cv.py", "test_cv2_adding_the_cheese_vector"),
            knob="cap",
            search=(1.0, 1.5),
            zero={"cap": 1.0},
        ),
        # offset 0: transfer works and is at least half the own drop (a conjunction); the
        # gain sets the drop, the first part is the one placed at its threshold
        "CV4[offset=0]": CalibrationCase(
            "CV4[offset=0]",
            "conjunction (difference + relative difference)",
            claim("test_cv.py", "test_cv4_transfer_at_an_offset"),
            knob="gain",
            search=(0.0, 4.0),
            part=0,
            arguments={"offset": 0},
            case="offset=0",
        ),
        "CV4[trend]": CalibrationCase(
            "CV4[trend]",
            "trend (per-unit slope)",
            claim("test_cv.py", "test_cv4_transfer_degrades_with_offset"),
            knob="gain",
            search=(0.0, 4.0),
        ),
        # clamping K at a target with the cheese removed: with 'stop' the unpatched mouse
        # stands still, the clamp (a seen cheese) makes it walk; gain 0 ignores K entirely
        "CH3": CalibrationCase(
            "CH3[channels=single]",
            "ratio (geometric mean)",
            claim("test_ch.py", "test_ch3_retargeting"),
            knob="stop",
            search=(2.0, 12.0),
            arguments={"channel_set": "single", "cheese_channels": (11,)},
            case="channels=single",
        ),
        # behaviour: without cheese seeking (gain 0) the up/right habit reaches the cheese
        # when it lies on the way, which the features (distance cheese -> top-right) predict;
        # the habit's strength grades that (each maze's outcome is one seeded draw, so the
        # effect moves in steps). The cheese gain alone never lifts BH1 to 5 points here.
        "BH1": CalibrationCase(
            "BH1",
            "held-out accuracy",
            claim("test_bh.py", "test_bh1_features_predict_cheese_getting"),
            knob="bias",
            search=(1.0, 8.0),
            fixed={"gain": 0.0},
            zero={"gain": 0.0},
            budgets=("quick",),
            with_replacement=False,
            max_pool_factor=4,  # 600 mazes, each a full Markov chain over both facings
        ),
    }


QUICK = ("CV1", "CV2", "CV4[offset=0]", "CV4[trend]", "CH3")


def table(points: list[PointResult]) -> list[str]:
    head = (
        f"{'claim':22s} {'budget':7s} {'point':11s} {'n':>4s} {'true':>8s} {'bound':>8s} "
        f"{'sup':>6s} {'ref':>6s} {'seq sup':>7s} {'seq ref':>7s} {'seq n':>6s}"
    )
    lines = [head]
    for p in points:
        lines.append(
            f"{p.case:22s} {p.budget:7s} {p.point:11s} {p.n:4d} {p.true_effect:+8.4f} "
            f"{p.boundary:+8.4f} {p.fixed.supported:6.3f} {p.fixed.refuted:6.3f} "
            f"{p.sequential.supported:7.3f} {p.sequential.refuted:7.3f} "
            f"{p.sequential.mean_n:6.1f}"
            + ("  FAIL " + ", ".join(p.failed) if p.failed else "")
            + (f" (power 0.8 needs n = {p.n_for_power})" if p.n_for_power else "")
        )
    return lines


def summary(points: list[PointResult]) -> dict[str, float]:
    def values(prefix: str) -> list[float]:
        return [v for p in points for k, (v, _, _) in p.checks.items() if k.startswith(prefix)]

    return {
        "claims_false_supported_max": max(values("false_supported"), default=float("nan")),
        "claims_false_refuted_max": max(values("false_refuted"), default=float("nan")),
        "claims_power_min": min(values("power"), default=float("nan")),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="quick budget, 5 claims (default)")
    mode.add_argument("--full", action="store_true", help="quick + default budgets, and BH1")
    ap.add_argument(
        "--claims", default=None, help="comma-separated subset of: " + ", ".join(cases())
    )
    ap.add_argument("--replicates", type=int, default=None, help="samples per point")
    ap.add_argument("--pool-factor", type=int, default=None, help="pool size / largest n")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="write every point here")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    maze_module.TEMPLATE_CACHE_SIZE = 200_000  # every pool maze is regenerated per policy
    full = a.full
    replicates = a.replicates or (1000 if full else 400)
    factor = a.pool_factor or (10 if full else 8)
    budgets = ("quick", "default") if full else ("quick",)
    known = cases()
    chosen = a.claims.split(",") if a.claims else (list(known) if full else list(QUICK))
    unknown = [c for c in chosen if c not in known]
    if unknown:
        ap.error(f"unknown claims {unknown}; known: {', '.join(known)}")
    profile = resolve_profile("planted-graded").with_defaults(resolve_profile("generic"))
    points: list[PointResult] = []
    unplaced: list[str] = []
    started = time.perf_counter()
    for name in chosen:
        t = time.perf_counter()
        print(f"{name}: {known[name].form}, knob {known[name].knob}", flush=True)
        try:
            found = calibrate_case(
                known[name],
                profile,
                budgets=budgets,
                replicates=replicates,
                pool_factor=factor,
                log=lambda s: print(s, flush=True),
            )
        except CalibrationError as exc:  # the family cannot place this claim: a failure
            unplaced.append(f"{name}: {exc}")
            print(f"  CALIBRATION ERROR {exc}", flush=True)
            continue
        points += found
        print("\n".join(table(found)[1:]), flush=True)
        print(f"  {time.perf_counter() - t:.0f} s", flush=True)
    print()
    print(
        f"{replicates} samples per point, pools of {factor} x the largest n, alpha 0.05; "
        f"{time.perf_counter() - started:.0f} s"
    )
    print("\n".join(table(points)))
    if a.json:
        a.json.write_text(json.dumps([point_dict(p) for p in points], indent=1))
    failed = [(p.case, p.budget, p.point, f) for p in points for f in p.failed]
    for case, budget, point, check in failed:
        print(f"OUT OF BOUNDS: {case} {budget} {point}: {check}")
    for problem in unplaced:
        print(f"NOT CALIBRATED: {problem}")
    for key, value in summary(points).items():
        print(f"{key}={value:.3f}")
    return 1 if failed or unplaced else 0


def point_dict(p: PointResult) -> dict:
    return {
        "claim": p.case,
        "budget": p.budget,
        "point": p.point,
        "policy": p.policy,
        "true_effect": p.true_effect,
        "boundary": p.boundary,
        "n": p.n,
        "fixed": p.fixed.to_dict(),
        "sequential": p.sequential.to_dict(),
        "checks": {k: list(v) for k, v in p.checks.items()},
        "n_for_power": p.n_for_power,
    }


if __name__ == "__main__":
    sys.exit(main())
