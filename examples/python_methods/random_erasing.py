"""Random Erasing (Zhong et al., "Random Erasing Data Augmentation", AAAI 2020) as a
FreRec-Bench method written in Python.

FreRec-Bench calls ``augment`` once per training batch, on a data-loader thread, after the
shared base augmentation (flips, small crop):

  images  float32 numpy array (N, C, H, W), values in [0, 1] (the batch itself: no copy)
  labels  int64 numpy array (N,)
  rng     numpy.random.Generator seeded from the cell seed, the epoch and the batch index:
          draw every random number from it, and the cell is reproducible and resumes exactly
  **params  the mapping ``method.python.params`` of the config

It returns ``(images, labels)``: images of shape (N', C, H, W), float32 in [0, 1], and int
labels (N',) or float soft targets (N', 2). Here: each image, with probability ``p``, gets
one rectangle of random area (``area`` of the image) and aspect ratio (``aspect`` .. 1/aspect)
filled with uniform noise, as in the paper's default (RE-R). Labels are unchanged.

Run it as a Table 2 row next to the paper's methods on the demo benchmark:

  build/release/frerec run examples/python_methods/random_erasing_demo.yaml
"""
import math

import numpy as np


def augment(images, labels, rng, p=0.5, area=(0.02, 0.33), aspect=0.3, attempts=10):
    n, c, h, w = images.shape
    out = images.copy()  # leave the caller's array alone (modifying it in place is allowed too)
    log_aspect = (math.log(aspect), math.log(1.0 / aspect))
    for i in range(n):
        if rng.random() >= p:
            continue
        for _ in range(attempts):
            target_area = rng.uniform(area[0], area[1]) * h * w
            ratio = math.exp(rng.uniform(*log_aspect))
            eh = int(round(math.sqrt(target_area * ratio)))
            ew = int(round(math.sqrt(target_area / ratio)))
            if 0 < eh < h and 0 < ew < w:
                y = int(rng.integers(0, h - eh + 1))
                x = int(rng.integers(0, w - ew + 1))
                out[i, :, y:y + eh, x:x + ew] = rng.random((c, eh, ew), dtype=np.float32)
                break
    return out, labels
