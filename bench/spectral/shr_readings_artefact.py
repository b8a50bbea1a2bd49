#!/usr/bin/env python3
"""Gives every PNG of IN_DIR (recursively) a generator-like artefact and writes it to OUT_DIR
with the same relative path: a half-resolution copy (2x2 box average) up-sampled 2x by
nearest neighbour, then a 3x3 box smoothing (the checkerboard left by transposed-conv
up-sampling), 8-bit. Used by shr_readings.sh. Usage: shr_readings_artefact.py IN_DIR OUT_DIR"""
import pathlib
import sys

import numpy as np
from PIL import Image

src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for path in sorted(src.rglob("*.png")):
    x = np.asarray(Image.open(path), dtype=np.float64) / 255.0
    h, w = x.shape[:2]
    half = x[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2, *x.shape[2:]).mean(axis=(1, 3))
    up = half.repeat(2, axis=0).repeat(2, axis=1)
    padded = np.pad(up, [(1, 1), (1, 1)] + [(0, 0)] * (up.ndim - 2), mode="edge")
    smooth = sum(padded[dy:dy + up.shape[0], dx:dx + up.shape[1]] for dy in range(3) for dx in range(3)) / 9.0
    out = dst / path.relative_to(src)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(np.rint(smooth * 255), 0, 255).astype(np.uint8)).save(out)
