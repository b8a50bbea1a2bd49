#!/usr/bin/env python3
"""Golden p-values for framework/report/stats.cpp from SciPy (Debian python3-scipy).

Run: /usr/bin/python3 tests/golden/framework/make_stats_golden.py > tests/golden/framework/stats_golden.json
Wilcoxon: scipy.stats.wilcoxon(a, b) (two-sided, zero_method 'wilcox', exact for small n
without ties, normal approximation with tie correction otherwise: mode 'approx' when ties).
Paired t: scipy.stats.ttest_rel(a, b).
"""
import json

import numpy as np
from scipy import stats

rng = np.random.default_rng(20261122)
cases = []
for n in (5, 6, 8, 12, 30):
    for shift in (0.0, 0.02, 0.1):
        a = rng.normal(0.8, 0.03, n)
        b = a - shift + rng.normal(0, 0.02, n)
        a, b = np.round(a, 6), np.round(b, 6)
        w = stats.wilcoxon(a, b)
        t = stats.ttest_rel(a, b)
        cases.append({"a": a.tolist(), "b": b.tolist(), "wilcoxon": float(w.pvalue), "ttest": float(t.pvalue)})
# A tied case (normal approximation with tie correction).
a = [0.9, 0.8, 0.85, 0.7, 0.75, 0.95, 0.6, 0.65]
b = [0.8, 0.7, 0.75, 0.8, 0.65, 0.85, 0.5, 0.55]
cases.append({"a": a, "b": b, "wilcoxon": float(stats.wilcoxon(a, b, mode="approx", correction=False).pvalue),
              "ttest": float(stats.ttest_rel(a, b).pvalue)})
print(json.dumps({"cases": cases}, indent=1))
