"""Synthetic 64x64 faces of stripes and noise, and a small fast model's parameters, for the texture tests."""

from __future__ import annotations

import numpy as np

#: a small, fast model on pre-cropped 64x64 faces
SMALL = dict(detect=False, face_size=64, n_words=3, max_samples=500)


def striped_faces(n: int, seed: int) -> list[np.ndarray]:
    """``n`` (64, 64) uint8 images: products of sines of 3 x 2 periods, plus noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:64, 0:64]
    out = []
    for i in range(n):
        f = 120 + 50 * np.sin(xx / (4 + i % 3)) * np.cos(yy / (5 + i % 2)) + rng.normal(0, 8, (64, 64))
        out.append(np.clip(f, 0, 255).astype(np.uint8))
    return out
