#!/usr/bin/env python3
"""Golden p-values for framework/report/stats.cpp from SciPy (Debian 12: python3-scipy 1.10.1).

Run: /usr/bin/python3 tests/golden/framework/make_stats_golden.py > tests/golden/framework/stats_golden.json
Every value is SciPy's with its default arguments: scipy.stats.wilcoxon(a, b) (two-sided,
zero_method "wilcox", correction False, method "auto": exact when len(a) <= 50 and no
difference is zero, even with ties, where SciPy truncates the tied rank sum to an integer;
the normal approximation with tie correction otherwise, zeros dropped) and
scipy.stats.ttest_rel(a, b). Where SciPy raises (every difference zero) the expected value is
NaN ("n/a" in the tables); NaN is written as null.

Bootstrap intervals (framework/report/stats.h, bootstrap_mean_ci): the same resampling
reimplemented here (indices SplitMix64(seed) % n, 10,000 resamples), the interval from
numpy.percentile's default (linear) quantiles of the resampled means; bootstrap_ratio_ci the
same with the ratio of the resampled sums of two paired lists.
"""
import json
import math
import warnings

import numpy as np
import scipy
from scipy import stats

warnings.simplefilter("ignore")  # SciPy warns when it switches to the approximation
rng = np.random.default_rng(20261122)


def case(name, a, b):
    a, b = [float(v) for v in a], [float(v) for v in b]
    try:
        w = float(stats.wilcoxon(a, b).pvalue)
    except ValueError:
        w = math.nan
    t = float(stats.ttest_rel(a, b).pvalue)
    clean = lambda v: None if math.isnan(v) else v
    return {"name": name, "a": a, "b": b, "wilcoxon": clean(w), "ttest": clean(t)}


cases = []
for n in (5, 6, 8, 12, 30, 60):
    for shift in (0.0, 0.02, 0.1):
        a = rng.normal(0.8, 0.03, n)
        b = a - shift + rng.normal(0, 0.02, n)
        cases.append(case(f"random n={n} shift={shift}", np.round(a, 6), np.round(b, 6)))
# Ties without zeros: exact, with SciPy's truncated rank sum.
cases.append(case("ties", [0.9, 0.8, 0.85, 0.7, 0.75, 0.95, 0.6, 0.65], [0.8, 0.7, 0.75, 0.8, 0.65, 0.85, 0.5, 0.55]))
cases.append(case("ties, AUC grid", [0.75, 0.5, 0.625, 0.875, 0.5], [0.5, 0.25, 0.5, 0.625, 0.625]))
# Zero differences: the normal approximation on the non-zero ones.
cases.append(case("one zero", [0.91, 0.93, 0.95, 0.90, 0.97], [0.91, 0.92, 0.91, 0.88, 0.92]))
cases.append(case("zeros and ties (saturated AUCs)", [1.0, 1.0, 0.998, 1.0, 0.999], [1.0, 0.997, 0.997, 0.999, 0.999]))
cases.append(case("two zeros, n=12", list(np.round(rng.normal(0.8, 0.05, 10), 4)) + [0.5, 0.6],
                  list(np.round(rng.normal(0.78, 0.05, 10), 4)) + [0.5, 0.6]))
cases.append(case("all zero", [0.8, 0.9, 0.7], [0.8, 0.9, 0.7]))
cases.append(case("n=1", [0.9], [0.8]))
cases.append(case("n=2", [0.9, 0.85], [0.8, 0.86]))
cases.append(case("constant difference", [0.9, 0.8, 0.7, 0.6], [0.8, 0.7, 0.6, 0.5]))


def splitmix64(seed):
    mask = (1 << 64) - 1
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        yield z ^ (z >> 31)


def bootstrap(values, level=0.95, resamples=10000, seed=0):
    draw = splitmix64(seed)
    n = len(values)
    means = [sum(values[next(draw) % n] for _ in range(n)) / n for _ in range(resamples)]
    low, high = np.percentile(means, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(low), float(high)


boot = []
for values, level, seed in [([0.012, -0.004, 0.02, 0.007, 0.001], 0.95, 0), ([0.3], 0.95, 0),
                            ([0.05, 0.05, 0.05], 0.95, 0), (list(np.round(rng.normal(0, 0.02, 12), 5)), 0.9, 7)]:
    low, high = bootstrap(values, level, 10000, seed)
    boot.append({"values": values, "level": level, "seed": seed, "low": low, "high": high})


def bootstrap_ratio(numerator, denominator, level=0.95, resamples=10000, seed=0):
    """bootstrap_ratio_ci: sum(numerator) / sum(denominator) over the same resampled indices."""
    draw = splitmix64(seed)
    n = len(numerator)
    ratios = []
    for _ in range(resamples):
        idx = [next(draw) % n for _ in range(n)]
        ratios.append(sum(numerator[k] for k in idx) / sum(denominator[k] for k in idx))
    low, high = np.percentile(ratios, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(low), float(high)


ratio = []
for numerator, denominator, level, seed in [
        ([0.05, 0.02, 0.04, 0.03, 0.06], [0.10, 0.08, 0.09, 0.12, 0.10], 0.95, 0),
        ([0.03, 0.06, 0.09], [0.1, 0.2, 0.3], 0.95, 3),
        (list(np.round(np.linspace(-0.01, 0.04, 8), 4)), list(np.round(np.linspace(0.05, 0.12, 8), 4)), 0.9, 11)]:
    low, high = bootstrap_ratio(numerator, denominator, level, 10000, seed)
    ratio.append({"numerator": numerator, "denominator": denominator, "level": level, "seed": seed, "low": low,
                  "high": high})
print(json.dumps({"scipy": scipy.__version__, "cases": cases, "bootstrap": boot, "bootstrap_ratio": ratio}, indent=1))
