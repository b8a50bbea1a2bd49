#!/usr/bin/python3
"""Golden fixtures for tests/spectral (run with Debian's /usr/bin/python3).

ssim_cases.{json,bin}: pairs of small float32 images (1 and 3 channels, non-square, several
seeds) with skimage.metrics.structural_similarity in both window settings:
  gaussian: gaussian_weights=True, sigma=1.5, use_sample_covariance=False (Wang et al.)
  uniform:  win_size=7, use_sample_covariance=True (skimage's default)
K1=0.01, K2=0.03, data_range=1, channel_axis for colour. Computed in float64 on the
float32 pixel values (the values stored are exactly the float32 ones).

profile_cases.{json,bin}: the Durall et al. (cc-hpc-itwm/UpConv) 1-D profile written out in
numpy: grayscale 0.2989/0.5870/0.1140, fftshift(fft2)+1e-8, 20*ln|F|,
radialProfile.azimuthalAverage (integer radius from ((W-1)/2,(H-1)/2), first and last
groups dropped), min-max to [0,1]. Images are in [0,1]; the profile is computed on 255*x.
"""
import json
import os

import numpy as np
import skimage
from skimage.metrics import structural_similarity

HERE = os.path.dirname(os.path.abspath(__file__))


def smooth(rng, c, h, w):
    img = rng.random((c, h, w))
    k = np.array([1, 4, 6, 4, 1], float) / 16
    for _ in range(2):
        img = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 1, img)
        img = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 2, img)
    return img


def ssim_cases():
    cases = []
    shapes = [(1, 16, 13), (3, 12, 17), (1, 23, 11), (3, 14, 14)]
    for seed in range(3):
        for shape in shapes:
            rng = np.random.default_rng(1000 * seed + shape[1] * 7 + shape[2])
            c, h, w = shape
            kind = (seed + c) % 3
            if kind == 0:  # noisy copy
                x = rng.random(shape)
                y = np.clip(x + rng.normal(0, 0.1 + 0.1 * seed, shape), 0, 1)
            elif kind == 1:  # two smooth images
                x = smooth(rng, c, h, w)
                y = smooth(rng, c, h, w)
            else:  # smooth image and a contrast/brightness change of it plus noise
                x = smooth(rng, c, h, w)
                y = np.clip(0.7 * x + 0.2 + rng.normal(0, 0.02, shape), 0, 1)
            x = x.astype(np.float32)
            y = y.astype(np.float32)
            xd, yd = x.astype(np.float64), y.astype(np.float64)
            kw = dict(data_range=1.0, K1=0.01, K2=0.03)
            if c > 1:
                kw["channel_axis"] = 0
            else:
                xd, yd = xd[0], yd[0]
            g = structural_similarity(xd, yd, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, **kw)
            u = structural_similarity(xd, yd, win_size=7, use_sample_covariance=True, **kw)
            cases.append({"c": c, "h": h, "w": w, "x": x, "y": y, "gaussian": float(g), "uniform": float(u)})
    return cases


def azimuthal_average(image):
    y, x = np.indices(image.shape)
    center = np.array([(x.max() - x.min()) / 2.0, (y.max() - y.min()) / 2.0])
    r = np.hypot(x - center[0], y - center[1])
    ind = np.argsort(r.flat, kind="stable")
    r_sorted = r.flat[ind]
    i_sorted = image.flat[ind]
    r_int = r_sorted.astype(int)
    deltar = r_int[1:] - r_int[:-1]
    rind = np.where(deltar)[0]
    nr = rind[1:] - rind[:-1]
    csim = np.cumsum(i_sorted, dtype=float)
    tbin = csim[rind[1:]] - csim[rind[:-1]]
    return tbin / nr


def durall_profile(img):
    gray = img[0] if img.shape[0] == 1 else 0.2989 * img[0] + 0.5870 * img[1] + 0.1140 * img[2]
    f = np.fft.fftshift(np.fft.fft2(255.0 * gray)) + 1e-8
    prof = azimuthal_average(20 * np.log(np.abs(f)))
    return (prof - prof.min()) / (prof.max() - prof.min())


def profile_cases():
    cases = []
    for seed, shape in enumerate([(1, 32, 32), (3, 24, 20), (1, 64, 64)]):
        rng = np.random.default_rng(77 + seed)
        x = (0.6 * smooth(rng, *shape) + 0.4 * rng.random(shape)).astype(np.float32)
        cases.append({"c": shape[0], "h": shape[1], "w": shape[2], "x": x,
                      "profile": [float(v) for v in durall_profile(x.astype(np.float64))]})
    return cases


def write(name, cases, image_keys):
    """Pixels go to <name>.bin (little-endian float32, C×H×W each, concatenated); the JSON
    gives each image's offset in floats into that file."""
    blobs, offset = [], 0
    for case in cases:
        for key in image_keys:
            arr = np.ascontiguousarray(case[key], dtype="<f4")
            case[key] = offset
            offset += arr.size
            blobs.append(arr.ravel())
    np.concatenate(blobs).tofile(os.path.join(HERE, name + ".bin"))
    meta = {"skimage": skimage.__version__, "numpy": np.__version__, "pixels": name + ".bin"}
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump({"meta": meta, "cases": cases}, f, indent=1)


if __name__ == "__main__":
    write("ssim_cases", ssim_cases(), ["x", "y"])
    write("profile_cases", profile_cases(), ["x"])
