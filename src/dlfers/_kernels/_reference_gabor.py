"""NumPy reference kernel ``gabor_energy``: Gabor magnitudes sampled on a sparse grid and
averaged per cell, the definition the Cython (``_gabor.pyx``) and Numba (``_numba_gabor.py``)
kernels match.  ``_reference`` re-exports it with the other reference kernels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gabor_energy", "reflect101"]


def reflect101(i: np.ndarray, n: int) -> np.ndarray:
    """Indices reflected into [0, n) without repeating the edge (OpenCV's BORDER_REFLECT_101);
    valid for -n < i < 2n - 1."""
    i = np.abs(i)
    return np.where(i > n - 1, 2 * (n - 1) - i, i)


def gabor_energy(img: np.ndarray, taps: np.ndarray, stride: int, cell: int, out: np.ndarray) -> None:
    """Mean magnitude per cell of a bank of separable complex filters.

    Filter f's response at sample (i, j), the pixel (y, x) = (i·stride + stride//2, j·stride + stride//2), is
    ``sum_{a,b} (yr + i·yi)[f, a] · (xr + i·xi)[f, b] · img[y + a - r, x + b - r]`` with the image reflected at
    its borders (BORDER_REFLECT_101), i.e. OpenCV's ``filter2D`` of the outer product of the two taps (up to a
    flip of both axes, which only conjugates a Gaussian-enveloped filter's response) read at that pixel.

    img : (n, n) float32, n a multiple of ``cell``, ``cell`` a multiple of ``stride``.
    taps : (F, 4, 2r+1) float32: each filter's y taps (real, imaginary) then x taps (real, imaginary);
        r < n.
    out : (F, (n/cell)²) float32, written: the mean of |response| over each cell's (cell/stride)² samples,
        cells in row-major order.
    """
    n = img.shape[0]
    k = taps.shape[2]
    r = k // 2
    pos = np.arange(n // stride) * stride + stride // 2  # sampled rows / columns
    win = reflect101(pos[:, None] + np.arange(k)[None, :] - r, n)  # (m, k) source index of each tap
    x = img.astype(np.float64)
    g = n // cell
    s = cell // stride
    for f in range(taps.shape[0]):
        ty = taps[f, 0].astype(np.float64) + 1j * taps[f, 1].astype(np.float64)
        tx = taps[f, 2].astype(np.float64) + 1j * taps[f, 3].astype(np.float64)
        rows = np.einsum("yjb,b->yj", x[:, win], tx)  # (n, m): every row, sampled columns
        resp = np.einsum("iaj,a->ij", rows[win], ty)  # (m, m)
        mag = np.abs(resp).reshape(g, s, g, s).mean(axis=(1, 3))
        out[f] = mag.reshape(-1).astype(np.float32)
