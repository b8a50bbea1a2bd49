#!/usr/bin/python3
"""Writes N fundus-like RGB PNGs of SIZE x SIZE into OUT (bench input for DR-scale calibrate).

Each image: a bright disc (the fundus) with a smooth random colour field, a few dark
vessel-like arcs and mild pixel noise, outside the disc black; 8-bit PNG. Deterministic in
(seed, index).   /usr/bin/python3 make_folder.py OUT N [--size 224] [--seed 0] [--jobs 2]
"""
import argparse
import os
from multiprocessing import Pool

import numpy as np
from PIL import Image


def make(args):
    out, index, size, seed = args
    rng = np.random.default_rng([seed, index])
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    r = np.hypot(x - 0.5, y - 0.5)
    disc = (r < 0.46).astype(np.float32)
    img = np.zeros((size, size, 3), np.float32)
    base = np.array([0.75, 0.35, 0.15], np.float32) * rng.uniform(0.8, 1.1)
    for c in range(3):
        field = np.zeros((size, size), np.float32)
        for _ in range(4):
            fx, fy, ph = rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), rng.uniform(0, 6.3)
            field += 0.05 * np.sin(2 * np.pi * (fx * x + fy * y) + ph)
        img[..., c] = base[c] * (1.0 - 0.5 * r) + field
    for _ in range(6):  # vessels: dark arcs
        cx, cy, rad = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.5)
        d = np.abs(np.hypot(x - cx, y - cy) - rad)
        img *= (1.0 - 0.35 * np.exp(-(d / 0.004) ** 2))[..., None]
    img += rng.normal(0, 0.01, img.shape).astype(np.float32)
    img = np.clip(img * disc[..., None], 0, 1)
    Image.fromarray((img * 255 + 0.5).astype(np.uint8), "RGB").save(os.path.join(out, f"img_{index:05d}.png"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("n", type=int)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with Pool(a.jobs) as pool:
        pool.map(make, [(a.out, i, a.size, a.seed) for i in range(a.n)], chunksize=64)


if __name__ == "__main__":
    main()
