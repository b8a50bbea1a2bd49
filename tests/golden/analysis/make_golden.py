#!/usr/bin/python3
"""Golden fixtures for tests/analysis (framework/analysis): run with /usr/bin/python3 (Debian's
python3-sklearn 1.2, scipy, numpy) from this folder:  /usr/bin/python3 make_golden.py

Inputs are not stored: features.py regenerates them from a few parameters with the same
formulas as tests/analysis/features.h. Writes analysis_golden.json with
  * features:  checksums of the generators (guards the C++/Python twins against drift)
  * frechet:   pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm, np.cov N-1),
               cross-checked here against the nuclear norm of A B^T (an SVD, not sqrtm)
  * precision_recall: brute-force numpy Kynkaanniemi et al. 2019 (k-th neighbour radii, <=)
  * logistic:  sklearn LogisticRegression (newton-cholesky, tol 1e-12) coefficients/intercept,
               checked against newton-cg (tol 1e-12) here (lbfgs stops ~1e-5 short)
  * probe:     sklearn cross_val_score(StandardScaler + LogisticRegression, scoring='roc_auc')
               with a PredefinedSplit whose fold ids are stored in the fixture
  * tsne_p:    sklearn.manifold._t_sne._joint_probabilities on exact squared distances (pdist)
  * tsne_kl:   sklearn TSNE(method='exact', init='pca', learning_rate='auto') KL divergence,
               its embedding and sklearn.manifold.trustworthiness (n_neighbors=5)
  * tsne_steps: a few iterations of sklearn's _gradient_descent over both phases from the
               exact-PCA initialisation, and the KL of the result
"""
import json
import time
import warnings

import numpy as np
import scipy
import sklearn
from scipy import linalg
from scipy.spatial.distance import pdist, squareform
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE, trustworthiness
from sklearn.manifold._t_sne import _gradient_descent, _joint_probabilities, _kl_divergence
from sklearn.model_selection import PredefinedSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import features as F


def make(spec):
    kind = spec["kind"]
    if kind == "correlated":
        return F.correlated(spec["seed"], spec["rows"], spec["cols"], spec.get("shift", 0.0), spec.get("scale", 1.0),
                            spec.get("mix", 0.0))
    if kind == "blobs":
        return F.blobs(spec["seed"], spec["rows"], spec["cols"], spec["centers"], spec["spread"], spec.get("center_seed"))
    raise ValueError(kind)


def frechet_pytorch_fid(x1, x2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance, verbatim apart from the inputs."""
    mu1, mu2 = x1.mean(axis=0), x2.mean(axis=0)
    sigma1, sigma2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("imaginary component")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def frechet_nuclear(x1, x2):
    a = (x1 - x1.mean(axis=0)) / np.sqrt(len(x1) - 1)
    b = (x2 - x2.mean(axis=0)) / np.sqrt(len(x2) - 1)
    diff = x1.mean(axis=0) - x2.mean(axis=0)
    nuclear = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    return float(diff.dot(diff) + (a * a).sum() + (b * b).sum() - 2 * nuclear)


def precision_recall_bruteforce(real, gen, k):
    def sqdist(x, y):
        return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)

    def radii(x):  # k-th neighbour; sorted row includes the point itself at distance 0
        return np.sort(sqdist(x, x), axis=1)[:, k]

    r_real, r_gen = radii(real), radii(gen)
    precision = float((sqdist(gen, real) <= r_real[None, :]).any(axis=1).mean())
    recall = float((sqdist(real, gen) <= r_gen[None, :]).any(axis=1).mean())
    return precision, recall


def fit_sklearn(x, y, c, solver, tol, max_iter):
    with warnings.catch_warnings():  # newton-cg reports non-convergence at 1e-12 once at the rounding floor
        warnings.simplefilter("ignore")
        model = LogisticRegression(C=c, solver=solver, tol=tol, max_iter=max_iter).fit(x, y)
    return model.coef_.ravel(), float(model.intercept_[0])


def main():
    t0 = time.time()
    out = {"generated_by": "make_golden.py", "sklearn": sklearn.__version__, "scipy": scipy.__version__,
           "numpy": np.__version__}

    # ---- generator checksums --------------------------------------------------------------
    specs = [{"kind": "correlated", "seed": 3, "rows": 7, "cols": 5, "shift": 0.5, "scale": 2.0, "mix": 0.7},
             {"kind": "blobs", "seed": 9, "rows": 11, "cols": 4, "centers": 3, "spread": 0.5}]
    out["features"] = [{"spec": s, "sum": float(make(s).sum()), "first": float(make(s)[0, 0]),
                        "last": float(make(s)[-1, -1])} for s in specs]

    # ---- Fréchet distance ------------------------------------------------------------------
    fid_cases = [
        ({"kind": "correlated", "seed": 11, "rows": 400, "cols": 32, "mix": 0.5},
         {"kind": "correlated", "seed": 12, "rows": 300, "cols": 32, "shift": 0.3, "scale": 1.2, "mix": 0.2}),
        # fewer rows than features: the Gram route
        ({"kind": "correlated", "seed": 13, "rows": 60, "cols": 128, "mix": 0.3},
         {"kind": "correlated", "seed": 14, "rows": 90, "cols": 128, "shift": -0.2, "scale": 0.8, "mix": 0.6}),
        # barely more rows than features: ill-conditioned covariances
        ({"kind": "correlated", "seed": 15, "rows": 70, "cols": 64, "mix": 0.9},
         {"kind": "correlated", "seed": 16, "rows": 66, "cols": 64, "shift": 0.1, "scale": 1.5}),
        # large: d = 1024
        ({"kind": "correlated", "seed": 17, "rows": 1200, "cols": 1024, "mix": 0.4},
         {"kind": "correlated", "seed": 18, "rows": 1100, "cols": 1024, "shift": 0.05, "scale": 1.1, "mix": 0.3}),
    ]
    out["frechet"] = []
    for sa, sb in fid_cases:
        xa, xb = make(sa), make(sb)
        reference = frechet_pytorch_fid(xa, xb)
        nuclear = frechet_nuclear(xa, xb)
        agreement = abs(reference - nuclear) / abs(nuclear)
        print(f"frechet d={sa['cols']} na={sa['rows']} nb={sb['rows']}: sqrtm {reference:.10g} "
              f"nuclear {nuclear:.10g} rel diff {agreement:.2e}")
        # sqrtm of the singular product (fewer rows than features) loses ~1e-7; the SVD route does not
        assert agreement < 1e-6, "sqrtm and the SVD route disagree; the case is too ill-conditioned"
        out["frechet"].append({"a": sa, "b": sb, "fid": reference, "fid_nuclear": nuclear})

    # ---- precision / recall ----------------------------------------------------------------
    pr_cases = [
        ({"kind": "correlated", "seed": 21, "rows": 300, "cols": 16, "mix": 0.3},
         {"kind": "correlated", "seed": 22, "rows": 250, "cols": 16, "shift": 0.2, "scale": 0.95, "mix": 0.3}, 3),
        ({"kind": "correlated", "seed": 23, "rows": 200, "cols": 64, "shift": 2.0},
         {"kind": "correlated", "seed": 24, "rows": 220, "cols": 64, "shift": 2.0, "scale": 1.05, "mix": 0.2}, 5),
        ({"kind": "blobs", "seed": 25, "rows": 150, "cols": 8, "centers": 3, "spread": 1.0, "center_seed": 99},
         {"kind": "blobs", "seed": 26, "rows": 140, "cols": 8, "centers": 5, "spread": 0.8, "center_seed": 99}, 3),
    ]
    out["precision_recall"] = []
    for sr, sg, k in pr_cases:
        p, r = precision_recall_bruteforce(make(sr), make(sg), k)
        print(f"precision/recall k={k}: {p:.6f} {r:.6f}")
        out["precision_recall"].append({"real": sr, "generated": sg, "k": k, "precision": p, "recall": r})

    # ---- logistic regression ---------------------------------------------------------------
    logistic_cases = [
        ({"kind": "correlated", "seed": 31, "rows": 120, "cols": 5, "mix": 0.3}, [1.0, -2.0, 0.5, 0.0, 1.5], 0.3, 1.0),
        # d > n
        ({"kind": "correlated", "seed": 32, "rows": 40, "cols": 60, "mix": 0.5}, None, 0.0, 0.5),
        # large offsets, stronger fit: the unpenalised intercept matters
        ({"kind": "correlated", "seed": 33, "rows": 200, "cols": 3, "shift": 5.0, "scale": 2.0}, [0.8, -0.4, 0.3], 0.0,
         10.0),
    ]
    out["logistic"] = []
    for spec, w_true, threshold, c in logistic_cases:
        x = make(spec)
        noise = F.correlated(spec["seed"] + 100, spec["rows"], 1)[:, 0]
        if w_true is None:  # d > n: labels from the first ten features
            score = x[:, :10].sum(axis=1) - x[:, :10].sum(axis=1).mean()
        else:
            score = x @ np.array(w_true) - (x @ np.array(w_true)).mean()
        y = (score + 0.8 * noise > threshold).astype(int)
        w, b = fit_sklearn(x, y, c, "newton-cholesky", 1e-12, 10000)
        w2, b2 = fit_sklearn(x, y, c, "newton-cg", 1e-12, 10000)
        scale = max(np.abs(w).max(), abs(b))
        diff = max(np.abs(w - w2).max(), abs(b - b2)) / scale
        print(f"logistic n={len(y)} d={x.shape[1]} C={c}: |w|max {np.abs(w).max():.4f} b {b:.6f} "
              f"newton-cholesky vs newton-cg rel {diff:.1e} (positives {y.sum()})")
        assert diff < 1e-8
        out["logistic"].append({"x": spec, "y": y.tolist(), "c": c, "weights": w.tolist(), "intercept": b})

    # ---- probe -----------------------------------------------------------------------------
    sa = {"kind": "correlated", "seed": 41, "rows": 60, "cols": 8, "mix": 0.2}
    sb = {"kind": "correlated", "seed": 42, "rows": 50, "cols": 8, "shift": 0.3, "scale": 1.2, "mix": 0.2}
    xa, xb = make(sa), make(sb)
    x = np.vstack([xa, xb])
    y = np.r_[np.zeros(len(xa), int), np.ones(len(xb), int)]
    folds = 5
    fold = np.empty(len(y), int)
    rng = np.random.default_rng(0)
    for label in (0, 1):
        members = rng.permutation(np.flatnonzero(y == label))
        fold[members] = np.arange(len(members)) % folds
    pipe = make_pipeline(StandardScaler(),
                         LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12, max_iter=10000))
    auc = cross_val_score(pipe, x, y, cv=PredefinedSplit(fold), scoring="roc_auc")
    print(f"probe fold AUC {np.round(auc, 4)} mean {auc.mean():.6f} std {auc.std():.6f}")
    out["probe"] = {"a": sa, "b": sb, "folds": folds, "c": 1.0, "fold_of_row": fold.tolist(),
                    "fold_auc": auc.tolist(), "auc": float(auc.mean()), "auc_std": float(auc.std())}

    # ---- t-SNE joint probabilities ---------------------------------------------------------
    out["tsne_p"] = []
    for spec, perplexity in [({"kind": "blobs", "seed": 51, "rows": 60, "cols": 5, "centers": 3, "spread": 1.0}, 10.0),
                             ({"kind": "correlated", "seed": 52, "rows": 50, "cols": 7, "mix": 0.5}, 30.0)]:
        x = make(spec)
        p = _joint_probabilities(squareform(pdist(x, "sqeuclidean")), perplexity, 0)  # condensed output
        out["tsne_p"].append({"x": spec, "perplexity": perplexity, "p_condensed": p.tolist()})

    # ---- t-SNE optimisation ----------------------------------------------------------------
    out["tsne_kl"] = []
    kl_cases = [
        ({"kind": "blobs", "seed": 61, "rows": 150, "cols": 10, "centers": 4, "spread": 1.0},
         dict(perplexity=30.0, n_iter=1000, early_exaggeration=12.0, learning_rate="auto")),
        ({"kind": "correlated", "seed": 62, "rows": 120, "cols": 6, "mix": 0.5},
         dict(perplexity=15.0, n_iter=600, early_exaggeration=8.0, learning_rate=100.0)),
    ]
    for spec, params in kl_cases:
        x = make(spec)
        tsne = TSNE(n_components=2, method="exact", init="pca", random_state=0, **params).fit(x)
        trust = trustworthiness(x, tsne.embedding_, n_neighbors=5)
        print(f"tsne {spec['kind']} n={len(x)}: KL {tsne.kl_divergence_:.6f} n_iter_ {tsne.n_iter_} "
              f"trustworthiness {trust:.6f}")
        out["tsne_kl"].append({"x": spec, "params": params, "kl_divergence": float(tsne.kl_divergence_),
                               "n_iter": int(tsne.n_iter_), "trustworthiness": float(trust),
                               "embedding": tsne.embedding_.astype(float).tolist()})

    # ---- t-SNE optimiser steps -------------------------------------------------------------
    # The optimisation is chaotic: rounding-level differences grow ~10x per 3 iterations in the
    # exaggerated phase, so whole runs only agree statistically (tsne_kl). A few steps of sklearn's
    # own _gradient_descent from the exact-PCA initialisation (our init; sklearn's randomized PCA
    # differs by ~1e-8) pin down the schedule: momentum, gains, exaggeration, the reset of update
    # and gains between the phases, and the learning rate.
    out["tsne_steps"] = []
    for spec, perplexity, exaggeration, learning_rate, phase1, phase2 in [
            ({"kind": "correlated", "seed": 62, "rows": 120, "cols": 6, "mix": 0.5}, 15.0, 8.0, 100.0, 5, 5),
            ({"kind": "blobs", "seed": 61, "rows": 150, "cols": 10, "centers": 4, "spread": 1.0}, 30.0, 12.0, "auto", 6,
             6)]:
        x = make(spec)
        n = len(x)
        lr = max(n / exaggeration / 4, 50) if learning_rate == "auto" else learning_rate
        centred = x - x.mean(axis=0)
        _, vectors = np.linalg.eigh(centred.T @ centred)
        scores = centred @ vectors[:, ::-1][:, :2]
        for k in range(2):  # sklearn's svd_flip (u-based): largest |score| positive
            if scores[np.argmax(np.abs(scores[:, k])), k] < 0:
                scores[:, k] *= -1
        init = scores / np.std(scores[:, 0]) * 1e-4
        p = _joint_probabilities(squareform(pdist(x, "sqeuclidean")), perplexity, 0)
        common = dict(n_iter_check=50, min_grad_norm=1e-7, learning_rate=lr, kwargs={})
        params, _, it = _gradient_descent(_kl_divergence, init.ravel().copy(), 0, phase1, momentum=0.5,
                                          n_iter_without_progress=phase1, args=[p * exaggeration, 1, n, 2], **common)
        params, _, it = _gradient_descent(_kl_divergence, params, it + 1, phase1 + phase2, momentum=0.8,
                                          n_iter_without_progress=300, args=[p, 1, n, 2], **common)
        kl, _ = _kl_divergence(params, p, 1, n, 2)
        out["tsne_steps"].append({"x": spec, "perplexity": perplexity, "early_exaggeration": exaggeration,
                                  "learning_rate": learning_rate, "exaggeration_iterations": phase1,
                                  "iterations": phase1 + phase2, "embedding": params.reshape(n, 2).tolist(),
                                  "kl_divergence": float(kl)})
        print(f"tsne steps {spec['kind']}: {phase1}+{phase2} iterations, KL {kl:.10f}")

    with open("analysis_golden.json", "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote analysis_golden.json in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
