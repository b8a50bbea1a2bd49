"""Deterministic feature matrices shared with tests/analysis/features.h (same formulas, same
doubles): a splitmix64 hash of (seed, row, column) gives uniforms, Box-Muller gives normals.

    uniform(seed, i, j) = (splitmix64(seed << 40 ^ i << 20 ^ j) >> 11) * 2^-53
    normal(seed, i, j)  = sqrt(-2 ln(1 - uniform(seed, i, 2j))) * cos(2 pi uniform(seed, i, 2j + 1))
    correlated(seed, rows, cols, shift, scale, mix)[i, j]
        = shift + scale * ((0.5 + uniform(seed + 1, 0, j)) * normal(seed, i, j) + mix * normal(seed, i, LATENT))
    blobs(seed, rows, cols, centers, spread, center_seed = seed + 1)[i, j]
        = 6 * normal(center_seed, i % centers, j) + spread * normal(seed, i, j)
"""
import math

import numpy as np

MASK = (1 << 64) - 1
LATENT = (1 << 19) - 1  # column index of the shared latent factor (columns must stay below it)


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def uniform(seed, i, j):
    return (splitmix64(((seed << 40) ^ (i << 20) ^ j) & MASK) >> 11) * 2.0 ** -53


def normal(seed, i, j):
    u1 = 1.0 - uniform(seed, i, 2 * j)
    u2 = uniform(seed, i, 2 * j + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def correlated(seed, rows, cols, shift=0.0, scale=1.0, mix=0.0):
    col_scale = [0.5 + uniform(seed + 1, 0, j) for j in range(cols)]
    out = np.empty((rows, cols))
    for i in range(rows):
        latent = normal(seed, i, LATENT)
        for j in range(cols):
            out[i, j] = shift + scale * (col_scale[j] * normal(seed, i, j) + mix * latent)
    return out


def blobs(seed, rows, cols, centers, spread, center_seed=None):
    center_seed = seed + 1 if center_seed is None else center_seed
    out = np.empty((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = 6.0 * normal(center_seed, i % centers, j) + spread * normal(seed, i, j)
    return out
