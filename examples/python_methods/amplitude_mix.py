"""Amplitude-spectrum mixing, a frequency-domain augmentation (the "amplitude mix" of
Xu et al., "A Fourier-based Framework for Domain Generalization", CVPR 2021), as a
FreRec-Bench method written in Python.

Each training image keeps the phase of its 2-D Fourier spectrum (which carries the
structure: edges, the anatomy) and gets an amplitude spectrum mixed with that of another
real training image:

    A' = (1 - lam) * A(x) + lam * A(x_partner),   lam ~ U(0, alpha)
    x' = clip(IFFT(A' * exp(i * phase(x))), 0, 1)

so the method perturbs the frequency statistics — what FreRec recalibrates for synthetic
images — while keeping the label. Partners come from the whole real training split, which
``setup`` receives once per cell (and which is why this example defines it); the batch
itself is used when ``partners: batch``.

The interface (see random_erasing.py): ``augment(images, labels, rng, **params)`` per batch
returns ``(images, labels)``; the optional ``setup(train_images, train_labels,
synthetic_images, synthetic_labels, **params)`` runs once per cell before training. The
module is loaded afresh for every cell, so state kept in module globals by ``setup`` never
leaks from one cell into the next.

  build/release/frerec run examples/python_methods/amplitude_mix_demo.yaml
"""
import numpy as np

_train_amplitude = None  # (N, C, H, W) amplitude spectra of the real training images


def setup(train_images, train_labels, synthetic_images, synthetic_labels, alpha=0.5, p=1.0, partners="train"):
    global _train_amplitude
    if partners not in ("train", "batch"):
        raise ValueError(f"partners must be 'train' or 'batch', got {partners!r}")
    if partners == "train":
        _train_amplitude = np.abs(np.fft.fft2(train_images, axes=(-2, -1)))


def augment(images, labels, rng, alpha=0.5, p=1.0, partners="train"):
    n = images.shape[0]
    spectrum = np.fft.fft2(images, axes=(-2, -1))
    amplitude, phase = np.abs(spectrum), np.angle(spectrum)
    if partners == "train":
        partner_amplitude = _train_amplitude[rng.integers(0, _train_amplitude.shape[0], size=n)]
    else:
        partner_amplitude = amplitude[rng.permutation(n)]
    lam = rng.uniform(0.0, alpha, size=(n, 1, 1, 1))
    lam[rng.random(n) >= p] = 0.0
    mixed = (1.0 - lam) * amplitude + lam * partner_amplitude
    out = np.fft.ifft2(mixed * np.exp(1j * phase), axes=(-2, -1)).real
    return np.clip(out, 0.0, 1.0).astype(np.float32), labels
