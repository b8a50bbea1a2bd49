#!/usr/bin/python3
"""How much of SHR's change on a real image can any restorer undo? (docs/decisions.md "RHM on
the demo", the +3 dB question.)

On a real image x, SHR (Eq. 1-3, our default reading: amplitude, masked-spectrum statistics,
MAD spread, AdaIN) keeps the low frequencies and the phase and replaces two numbers per
channel, the high-band amplitude mean and spread, by a draw mu^ = mu_bar + eps Sigma_mu,
sigma^ = sigma_bar + eps Sigma_sigma from the K nearest real images. The pattern of the
high-band amplitudes survives up to that affine map, so a restorer's task is to guess x's own
(mu, sigma) from what SHR(x) still shows: mostly its low-frequency content.

This script measures, on held-out real images, PSNR against x of
  input         SHR(x) as `frerec calibrate --stage shr` wrote it
  regress:<m>   SHR(x) with its high band mapped (the same AdaIN) to the (mu, sigma) that a
                regressor <m> predicts from SHR(x)'s low-frequency content, fitted on the real
                training images (their own statistics as targets)
  oracle        the same map to x's true (mu, sigma) (what no restorer can know; shows the
                map itself loses almost nothing)
The neighbour-mean restorer (eps = 0 SHR applied to SHR(x)) comes from the C++ pipeline in
rhm_bound.sh. A network could also use cues this parameterisation misses, so the regress
rows estimate, not prove, what is recoverable; when the best of them and the neighbour mean
sit below +3 dB, a +3 dB gain needs information that SHR has destroyed.

  /usr/bin/python3 rhm_bound.py TRAIN_DIR HELD_DIR SHR_DIR RATIO   (rhm_bound.sh runs it per demo task)
Needs python3-numpy, python3-pil, python3-sklearn (Debian).
"""
import os
import sys

import numpy as np
from PIL import Image
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.linear_model import RidgeCV
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def load_folder(root):
    names = sorted(os.path.relpath(os.path.join(d, f), root)
                   for d, _, files in os.walk(root) for f in files if f.endswith(".png"))
    images = []
    for n in names:
        a = np.asarray(Image.open(os.path.join(root, n)))
        a = a.astype(np.float64) / (65535.0 if a.dtype == np.uint16 else 255.0)
        images.append(a[None] if a.ndim == 2 else np.moveaxis(a[..., :3], -1, 0))
    return names, np.stack(images)


def low_mask(h, w, ratio):  # framework/spectral/spectrum.cpp low_frequency_mask, square
    ky = (np.arange(h) - h // 2)[:, None]
    kx = (np.arange(w) - w // 2)[None, :]
    return (np.abs(ky) <= ratio * h / 2.0) & (np.abs(kx) <= ratio * w / 2.0)


def spectrum(plane):
    return np.fft.fftshift(np.fft.fft2(plane, norm="ortho"))


def hf_stats(F, low):  # masked-spectrum statistics, MAD spread (shr.cpp stats_of)
    a = np.abs(F[~low])
    n = F.size
    mu = a.sum() / n
    return mu, (np.abs(a - mu).sum() + low.sum() * mu) / n


def remap(image, low, targets):
    out = np.empty_like(image)
    for c in range(image.shape[0]):
        F = spectrum(image[c])
        mu, sigma = hf_stats(F, low)
        mu_t, sigma_t = targets[c]
        v = F[~low]
        amp = np.abs(v)
        new = np.maximum(0.0, sigma_t * (amp - mu) / sigma + mu_t) if sigma > 0 else np.full_like(amp, mu_t)
        F[~low] = new * np.exp(1j * np.angle(v))
        out[c] = np.real(np.fft.ifft2(np.fft.ifftshift(F), norm="ortho"))
    return np.clip(out, 0.0, 1.0)


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return 10 * np.log10(1.0 / mse)


def features(image, low):
    feats = []
    for c in range(image.shape[0]):
        F = spectrum(image[c])
        F[~low] = 0
        lf = np.real(np.fft.ifft2(np.fft.ifftshift(F), norm="ortho"))
        h, w = lf.shape
        blocks = lf.reshape(8, h // 8, 8, w // 8).mean(axis=(1, 3))
        gy, gx = np.gradient(lf)
        feats += list(blocks.ravel()) + [lf.mean(), lf.std(), np.mean(np.hypot(gx, gy)),
                                         np.mean(lf < 0.05), np.mean(lf > 0.95)]
    return np.array(feats)


def main():
    train_dir, held_dir, shr_dir, ratio = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    _, train = load_folder(train_dir)
    held_names, held = load_folder(held_dir)
    shr_names, shr = load_folder(shr_dir)
    assert held_names == shr_names, "held-out and SHR folders must hold the same names"
    low = low_mask(train.shape[2], train.shape[3], ratio)
    channels = train.shape[1]

    def targets_of(images):  # log mu, log sigma per channel
        return np.array([[v for c in range(channels) for v in np.log(np.maximum(hf_stats(spectrum(x[c]), low), 1e-12))]
                         for x in images])

    X_train = np.array([features(x, low) for x in train])
    y_train = targets_of(train)
    X_held = np.array([features(x, low) for x in shr])
    y_true = targets_of(held)

    def restored_psnr(pred_log):
        values = []
        for i in range(len(held)):
            t = np.exp(pred_log[i]).reshape(channels, 2)
            values.append(psnr(remap(shr[i], low, t), held[i]))
        return np.mean(values)

    base = np.mean([psnr(s, h) for s, h in zip(shr, held)])
    print(f"input (SHR(x) vs x): {base:.2f} dB over {len(held)} held-out images, {len(train)} training images")
    models = {
        "ridge": make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13))),
        "knn10": make_pipeline(StandardScaler(), KNeighborsRegressor(10, weights="distance")),
        "extra_trees": ExtraTreesRegressor(n_estimators=300, min_samples_leaf=2, random_state=0, n_jobs=2),
    }
    for name, model in models.items():
        model.fit(X_train, y_train)
        p = restored_psnr(model.predict(X_held))
        print(f"regress:{name}: {p:.2f} dB ({p - base:+.2f})")
    mean_pred = np.tile(y_train.mean(axis=0), (len(held), 1))
    p = restored_psnr(mean_pred)
    print(f"training-set mean statistics: {p:.2f} dB ({p - base:+.2f})")
    p = restored_psnr(y_true)
    print(f"oracle (x's own statistics): {p:.2f} dB ({p - base:+.2f})")


if __name__ == "__main__":
    main()
