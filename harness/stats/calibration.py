"""Calibration by simulation: false-positive rates and power of every verdict form.

Each simulator draws many synthetic experiments at once and runs the *same* decision code
the claims use (the vectorized p-value functions of each module, :func:`decide`, and for
sequential runs :func:`first_decisive` over the design's nominal levels). The tests in
``tests/test_stats_calibration.py`` assert: under the null (the true effect on the edge of
the claimed region) 'supported' -- and, mirrored, 'refuted' -- happens at most alpha + 3
binomial standard errors of the time; at the design points of :mod:`.design` with the
default sample size, power is at least 0.8. ``python -m harness.stats.calibration`` prints
the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.stats.association import association_pvalues
from harness.stats.conjunction import conjunction_pvalues
from harness.stats.design import DESIGN_POINTS
from harness.stats.equivalence import equivalence_pvalues
from harness.stats.magnitude import magnitude_pvalues
from harness.stats.paired import difference_pvalues
from harness.stats.proportion import binomial_pvalues
from harness.stats.sequential import GroupSequentialDesign, first_decisive, look_sizes
from harness.stats.trend import unit_trends
from harness.stats.verdict import REFUTED_CODE, SUPPORTED_CODE, decide

TREND_LEVELS = (0.0, 1.0, 2.0, 3.0, 5.0)


@dataclass(frozen=True)
class Rates:
    """Share of simulated experiments ending in each verdict."""

    supported: float
    refuted: float
    inconclusive: float
    experiments: int
    mean_n: float | None = None

    @classmethod
    def from_codes(cls, codes: np.ndarray, mean_n: float | None = None) -> Rates:
        codes = np.asarray(codes)
        total = codes.size
        sup = float(np.mean(codes == SUPPORTED_CODE))
        ref = float(np.mean(codes == REFUTED_CODE))
        return cls(sup, ref, 1.0 - sup - ref, total, mean_n)


def error_bound(alpha: float, experiments: int) -> float:
    """alpha plus three binomial standard errors: the tolerated false-positive rate."""
    return alpha + 3.0 * math.sqrt(alpha * (1.0 - alpha) / experiments)


def _noise(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "t3":
        return rng.standard_t(3, shape)
    if kind == "skewed":  # centred gamma(4, 1/2): mean 0, SD 1, skewness 1
        return rng.gamma(4.0, 0.5, shape) - 2.0
    raise ValueError(f"unknown noise {kind!r}")


def simulate_paired(
    rng: np.random.Generator,
    experiments: int,
    n: int,
    effect: float,
    *,
    test: str = "t",
    alpha: float = 0.05,
    threshold: float = 0.0,
    noise: str = "normal",
) -> Rates:
    """Claim 'mean difference > threshold'; true centre = threshold + effect (SD units)."""
    d = threshold + effect + _noise(rng, (experiments, n), noise)
    ps, pr = difference_pvalues(d, threshold, "greater", test)
    return Rates.from_codes(decide(ps, pr, alpha))


def simulate_ratio(
    rng: np.random.Generator,
    experiments: int,
    n: int,
    effect: float,
    *,
    alpha: float = 0.05,
    threshold: float = 1.0,
) -> Rates:
    """Claim 'ratio > threshold' on log-normal ratios; log-scale effect in SD units."""
    log_ratio = math.log(threshold) + effect + rng.standard_normal((experiments, n))
    x = np.exp(log_ratio) * 0.2  # a positive baseline times the ratio, as a metric gives
    y = np.full_like(x, 0.2)
    ps, pr = difference_pvalues(np.log(x) - np.log(y), math.log(threshold), "greater")
    return Rates.from_codes(decide(ps, pr, alpha))


def simulate_equivalence(
    rng: np.random.Generator,
    experiments: int,
    n: int,
    true_effect: float,
    margin: float,
    *,
    alpha: float = 0.05,
) -> Rates:
    """Claim 'mean within +-margin' (SD units); the null edge is true_effect = margin."""
    d = true_effect + rng.standard_normal((experiments, n))
    ps, pr, _, _ = equivalence_pvalues(d, -margin, margin)
    return Rates.from_codes(decide(ps, pr, alpha))


def simulate_magnitude(
    rng: np.random.Generator,
    experiments: int,
    n: int,
    effect: float,
    *,
    margin: float = 1.0,
    alpha: float = 0.05,
) -> Rates:
    """Claim 'mean magnitude < margin' on skewed (half-normal) magnitudes whose mean lies
    ``effect`` of their SDs below the margin (0: the null edge)."""
    mean_unit, sd_unit = math.sqrt(2 / math.pi), math.sqrt(1 - 2 / math.pi)
    scale = margin / (mean_unit + effect * sd_unit)
    mag = scale * np.abs(rng.standard_normal((experiments, n)))
    ps, pr = magnitude_pvalues(mag, margin)
    return Rates.from_codes(decide(ps, pr, alpha))


def simulate_trend(
    rng: np.random.Generator,
    experiments: int,
    n: int,
    effect: float,
    *,
    alpha: float = 0.05,
    per_unit: str = "slope",
    missing: float = 0.0,
) -> Rates:
    """Claim 'value falls with level'; per-unit slopes random, mean = -effect x their SD.

    Units get random intercepts and slopes plus noise; ``missing`` blanks that share of
    measurements (never leaving a unit with fewer than two).
    """
    levels = np.array(TREND_LEVELS)
    slope_sd, noise_sd = 0.5, 1.0
    sxx = float(np.sum((levels - levels.mean()) ** 2))
    sd_hat = math.sqrt(slope_sd**2 + noise_sd**2 / sxx)
    slopes = -effect * sd_hat + slope_sd * rng.standard_normal((experiments, n, 1))
    intercepts = rng.standard_normal((experiments, n, 1))
    y = intercepts + slopes * levels + noise_sd * rng.standard_normal((experiments, n, levels.size))
    if missing:
        drop = rng.random(y.shape) < missing
        drop[..., :2] = False
        y = np.where(drop, np.nan, y)
    u = unit_trends(y, levels, per_unit)
    ps, pr = difference_pvalues(u, 0.0, "less")
    return Rates.from_codes(decide(ps, pr, alpha))


def simulate_association(
    rng: np.random.Generator,
    experiments: int,
    n: int,
    effect: float,
    *,
    alpha: float = 0.05,
) -> Rates:
    """Claim 'value rises with level' across independent units; standardized slope."""
    sizes = np.arange(3, 26, 2, dtype=float)
    codes = np.empty(experiments, dtype=int)
    for i in range(experiments):
        x = rng.choice(sizes, n)
        xs = (x - sizes.mean()) / sizes.std()
        y = effect * xs + rng.standard_normal(n) * (1.0 + 0.5 * np.abs(xs))  # heteroskedastic
        ps, pr = association_pvalues(x, y, 0.0, "greater")
        codes[i] = int(decide(ps, pr, alpha))
    return Rates.from_codes(codes)


def simulate_ordering(
    rng: np.random.Generator,
    experiments: int,
    n: int,
    effects: tuple[float, float],
    *,
    alpha: float = 0.05,
) -> Rates:
    """Claim 'a > b > c' on the same units; consecutive true differences in SD units."""
    c = rng.standard_normal((experiments, n))
    b = c + effects[1] + rng.standard_normal((experiments, n))
    a = b + effects[0] + rng.standard_normal((experiments, n))
    parts = [difference_pvalues(a - b, 0.0, "greater"), difference_pvalues(b - c, 0.0, "greater")]
    ps = np.stack([p[0] for p in parts], axis=-1)
    pr = np.stack([p[1] for p in parts], axis=-1)
    sup, ref = conjunction_pvalues(ps, pr)
    return Rates.from_codes(decide(sup, ref, alpha))


def simulate_proportion(
    rng: np.random.Generator,
    experiments: int,
    n: int,
    true_p: float,
    threshold: float,
    *,
    alpha: float = 0.05,
) -> Rates:
    """Claim 'success probability > threshold' (BH2 sign stability, BH1 accuracy)."""
    k = rng.binomial(n, true_p, experiments)
    ps, pr = binomial_pvalues(k, n, threshold, "greater")
    return Rates.from_codes(decide(ps, pr, alpha))


def simulate_sequential(
    rng: np.random.Generator,
    experiments: int,
    n_max: int,
    effect: float,
    *,
    rounds: int = 5,
    alpha: float = 0.05,
    form: str = "difference",
    margin: float = 0.4,
    naive: bool = False,
) -> Rates:
    """Sequential runs: evaluate at each look, stop at the first decisive one.

    ``naive=True`` tests every look at the full alpha (what one must not do) to show the
    inflation the spending function prevents. For ``form='equivalence'``, ``effect`` is the
    true mean and the claim is 'within +-margin'.
    """
    sizes = look_sizes(n_max, rounds)
    design = GroupSequentialDesign.for_sizes(alpha, sizes)
    d = rng.standard_normal((experiments, n_max)) + effect
    codes = []
    for k, size in enumerate(sizes):
        level = alpha if naive else design.nominal_alphas[k]
        if form == "equivalence":
            ps, pr, _, _ = equivalence_pvalues(d[:, :size], -margin, margin)
        else:
            ps, pr = difference_pvalues(d[:, :size], 0.0, "greater")
        codes.append(decide(ps, pr, level))
    final, stop = first_decisive(np.stack(codes, axis=-1))
    mean_n = float(np.mean(np.asarray(sizes)[stop]))
    return Rates.from_codes(final, mean_n=mean_n)


def calibration_table(experiments: int = 4000, seed: int = 0, alpha: float = 0.05) -> list[dict]:
    """False-positive rates and power of every form at its design point, at ``alpha``
    (for the docs)."""
    rng = np.random.default_rng(seed)
    dp = DESIGN_POINTS
    rows = []

    def row(name: str, null: Rates, power: Rates, null_refute: Rates | None = None) -> None:
        rows.append(
            {
                "test": name,
                "design": dp[name].description,
                "n": dp[name].n,
                "false_supported": null.supported,
                "false_refuted": (null_refute or null).refuted,
                "power": power.supported,
                "mean_n": power.mean_n,
                "experiments": experiments,
            }
        )

    n = dp["paired_t"].n
    row(
        "paired_t",
        simulate_paired(rng, experiments, n, 0.0, alpha=alpha),
        simulate_paired(rng, experiments, n, dp["paired_t"].effect, alpha=alpha),
    )
    nj = dp["paired_johnson"].n
    row(
        "paired_johnson",
        simulate_paired(rng, experiments, nj, 0.0, test="johnson", noise="skewed", alpha=alpha),
        simulate_paired(
            rng,
            experiments,
            nj,
            dp["paired_johnson"].effect,
            test="johnson",
            noise="skewed",
            alpha=alpha,
        ),
    )
    row(
        "wilcoxon",
        simulate_paired(rng, experiments, n, 0.0, test="wilcoxon", noise="t3", alpha=alpha),
        simulate_paired(
            rng, experiments, n, dp["wilcoxon"].effect, test="wilcoxon", noise="t3", alpha=alpha
        ),
    )
    m = dp["equivalence"].effect
    row(
        "equivalence",
        simulate_equivalence(rng, experiments, n, m, m, alpha=alpha),
        simulate_equivalence(rng, experiments, n, 0.0, m, alpha=alpha),
        simulate_equivalence(rng, experiments, n, m, m, alpha=alpha),
    )
    row(
        "magnitude",
        simulate_magnitude(rng, experiments, n, 0.0, alpha=alpha),
        simulate_magnitude(rng, experiments, n, dp["magnitude"].effect, alpha=alpha),
    )
    row(
        "ratio",
        simulate_ratio(rng, experiments, n, 0.0, alpha=alpha),
        simulate_ratio(rng, experiments, n, dp["ratio"].effect, alpha=alpha),
    )
    row(
        "trend",
        simulate_trend(rng, experiments, n, 0.0, alpha=alpha),
        simulate_trend(rng, experiments, n, dp["trend"].effect, alpha=alpha),
    )
    row(
        "association",
        simulate_association(rng, experiments // 2, n, 0.0, alpha=alpha),
        simulate_association(rng, experiments // 2, n, dp["association"].effect, alpha=alpha),
    )
    e = dp["ordering"].effect
    row(
        "ordering",
        simulate_ordering(rng, experiments, n, (0.0, 1.0), alpha=alpha),
        simulate_ordering(rng, experiments, n, (e, e), alpha=alpha),
    )
    row(
        "proportion",
        simulate_proportion(rng, experiments, n, 0.8, 0.8, alpha=alpha),
        simulate_proportion(rng, experiments, n, 0.9, 0.8, alpha=alpha),
    )
    row(
        "accuracy",
        simulate_proportion(rng, experiments, n, 0.7, 0.7, alpha=alpha),
        simulate_proportion(rng, experiments, n, 0.82, 0.7, alpha=alpha),
    )
    row(
        "sequential",
        simulate_sequential(rng, experiments, n, 0.0, alpha=alpha),
        simulate_sequential(rng, experiments, n, dp["sequential"].effect, alpha=alpha),
    )
    return rows


def main() -> None:  # pragma: no cover - a report printer
    rows = calibration_table()
    print(f"{'test':<12} {'n':>4} {'P(sup|null)':>12} {'P(ref|null)':>12} {'power':>7}  mean n")
    for r in rows:
        mean_n = "" if r["mean_n"] is None else f"{r['mean_n']:.1f}"
        print(
            f"{r['test']:<12} {r['n']:>4} {r['false_supported']:>12.4f} "
            f"{r['false_refuted']:>12.4f} {r['power']:>7.3f}  {mean_n}"
        )


if __name__ == "__main__":  # pragma: no cover
    main()
