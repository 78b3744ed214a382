"""The Gabor texture channel on one 128x128 face: dlfers' energies vs OpenCV and scikit-image.

Group "gabor texture": ``test_gabor_energies`` (every backend) gives the (40, 64) Gabor energies of
the face (:func:`dlfers.features.gabor.gabor_energies`: resampled to 64x64, 8 orientations x 5 wavelengths,
magnitudes averaged over 8x8-pixel cells).  What a user would write instead, on the same 64x64
normalised face with the same bank: ``test_opencv_gabor`` (``cv2.getGaborKernel`` real and imaginary
kernels, ``cv2.filter2D`` each, ``np.hypot``, cell means) and ``test_skimage_gabor``
(``skimage.filters.gabor``, which also returns both parts).  ``python benchmarks/report.py`` prints
the ratios.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dlfers import _kernels
from dlfers.features import gabor as G


@pytest.fixture
def face64(face):
    x = cv2.resize(face.astype(np.float32), (G.SIZE, G.SIZE), interpolation=cv2.INTER_AREA).astype(np.float64)
    return (x - x.mean()) / x.std()


def _cells(mag: np.ndarray) -> np.ndarray:
    g = G.SIZE // G.CELL
    return mag.reshape(g, G.CELL, g, G.CELL).mean(axis=(1, 3)).ravel()


def test_gabor_energies(benchmark, face, backend):
    benchmark.group = "gabor texture"
    k = _kernels.get(backend)
    f = face.astype(np.float32)
    e = benchmark(G.gabor_energies, f, k)
    assert e.shape == (40, 64) and (e > 0).all()


def test_opencv_gabor(benchmark, face64):
    benchmark.group = "gabor texture"
    bank = []
    for w in G.WAVELENGTHS:
        sigma = G.SIGMA_RATIO * w
        ks = 2 * int(np.ceil(G.REACH * sigma)) + 1
        for o in range(G.ORIENTATIONS):
            theta = np.pi * o / G.ORIENTATIONS
            bank.append(tuple(cv2.getGaborKernel((ks, ks), sigma, theta, w, 1.0, psi, cv2.CV_32F)
                              for psi in (0, np.pi / 2)))
    img = face64.astype(np.float32)

    def run() -> np.ndarray:
        return np.stack([_cells(np.hypot(cv2.filter2D(img, -1, re), cv2.filter2D(img, -1, im))) for re, im in bank])

    e = benchmark(run)
    assert e.shape == (40, 64)


def test_skimage_gabor(benchmark, face64):
    filters = pytest.importorskip("skimage.filters")
    benchmark.group = "gabor texture"

    def run() -> np.ndarray:
        out = []
        for w in G.WAVELENGTHS:
            sigma = G.SIGMA_RATIO * w
            for o in range(G.ORIENTATIONS):
                re, im = filters.gabor(face64, 1 / w, theta=np.pi * o / G.ORIENTATIONS, sigma_x=sigma, sigma_y=sigma,
                                       n_stds=G.REACH, mode="reflect")
                out.append(_cells(np.hypot(re, im)))
        return np.stack(out)

    e = benchmark.pedantic(run, rounds=5, iterations=1)
    assert e.shape == (40, 64)
