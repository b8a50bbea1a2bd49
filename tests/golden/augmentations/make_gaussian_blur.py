#!/usr/bin/python3
"""Golden fixture for augmentations::gaussian_blur (gda_lowpass): scipy.ndimage.gaussian_filter
per channel with mode='mirror' (reflect-101, OpenCV's default border) and a truncation that
gives the same radius as ours, ceil(3*sigma). Run: /usr/bin/python3 make_gaussian_blur.py"""
import json
import math

import numpy as np
from scipy import ndimage

rng = np.random.default_rng(7)
cases = []
for channels, height, width, sigma in [(1, 9, 11, 0.8), (3, 7, 8, 1.5), (1, 4, 5, 2.0)]:
    image = rng.random((channels, height, width), dtype=np.float64).astype(np.float32)
    radius = math.ceil(3 * sigma)
    truncate = (radius + 0.25) / sigma  # scipy: radius = int(truncate * sigma + 0.5)
    assert int(truncate * sigma + 0.5) == radius
    out = np.stack([ndimage.gaussian_filter(image[c].astype(np.float64), sigma, mode="mirror", truncate=truncate)
                    for c in range(channels)])
    cases.append({"shape": [channels, height, width], "sigma": sigma, "input": image.ravel().tolist(),
                  "output": out.ravel().tolist()})
with open("gaussian_blur.json", "w") as f:
    json.dump({"cases": cases}, f)
