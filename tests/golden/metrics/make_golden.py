#!/usr/bin/python3
"""Golden values for framework/metrics, computed by sklearn and skimage (Debian packages).

Run with Debian's interpreter from the repository root:
    /usr/bin/python3 tests/golden/metrics/make_golden.py
Writes tests/golden/metrics/binary_metrics.json and psnr.json.

Hard predictions use score >= 0.5 (the rule framework/metrics documents).
"""
import json
import os

import numpy as np
import sklearn
import skimage
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score
from skimage.metrics import peak_signal_noise_ratio

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240605)


def case(name, labels, scores, threshold=0.5):
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    pred = (scores >= threshold).astype(np.int64)
    tn, fp, fn, tp = confusion_matrix(labels, pred, labels=[0, 1]).ravel()
    return {
        "name": name,
        "threshold": threshold,
        "labels": labels.tolist(),
        "scores": [float(s) for s in scores],
        "auc": float(roc_auc_score(labels, scores)),
        "accuracy": float(accuracy_score(labels, pred)),
        "f1": float(f1_score(labels, pred, pos_label=1, zero_division=0)),
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    }


cases = []
# Continuous random scores, balanced and imbalanced.
for n, p in [(20, 0.5), (57, 0.3), (200, 0.1)]:
    labels = (rng.random(n) < p).astype(int)
    labels[0], labels[1] = 0, 1  # both classes present
    scores = np.clip(0.5 + 0.25 * (labels - 0.5) + 0.3 * rng.standard_normal(n), 0, 1)
    cases.append(case(f"random_n{n}_p{p}", labels, scores))
# Heavily tied scores (a few distinct values), including ties across classes and at 0.5.
for n in [30, 101]:
    labels = (rng.random(n) < 0.4).astype(int)
    labels[0], labels[1] = 0, 1
    scores = rng.choice([0.1, 0.25, 0.5, 0.75, 0.9], size=n)
    cases.append(case(f"tied_n{n}", labels, scores))
# All scores equal -> AUC 0.5.
cases.append(case("all_equal", [0, 1, 0, 1, 1], [0.3] * 5))
# Perfect and inverted rankings.
cases.append(case("perfect", [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]))
cases.append(case("inverted", [0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]))
# No positive prediction at all (F1 zero_division) and a non-default threshold.
cases.append(case("no_positive_prediction", [0, 1, 0, 1], [0.1, 0.4, 0.2, 0.3]))
cases.append(case("threshold_0.3", [0, 1, 0, 1, 1, 0], [0.1, 0.4, 0.3, 0.29, 0.9, 0.6], threshold=0.3))

with open(os.path.join(HERE, "binary_metrics.json"), "w") as f:
    json.dump({"generator": f"sklearn {sklearn.__version__}", "cases": cases}, f, indent=1)

psnr_cases = []
for shape in [(1, 8, 8), (3, 5, 7)]:
    a = rng.random(shape).astype(np.float32)
    b = np.clip(a + 0.05 * rng.standard_normal(shape), 0, 1).astype(np.float32)
    psnr_cases.append({
        "shape": list(shape),
        "reference": [float(v) for v in a.ravel()],
        "test": [float(v) for v in b.ravel()],
        "psnr": float(peak_signal_noise_ratio(a.astype(np.float64), b.astype(np.float64), data_range=1.0)),
    })
with open(os.path.join(HERE, "psnr.json"), "w") as f:
    json.dump({"generator": f"skimage {skimage.__version__}", "cases": psnr_cases}, f, indent=1)
