"""Numba kernel ``gabor_energy``: mean Gabor magnitude per cell of responses sampled on a sparse grid.

Same arguments and overwritten output as ``_reference_gabor.gabor_energy``, in float32 and in the
Cython kernel's two passes (``_gabor.pyx``): the x taps at the sampled columns of every row, read
from the transposed image so that the loop over rows is contiguous, then the y taps at the sampled
rows, along the rows of the first pass's output; the reflected borders come from an index table.
Each sum adds the same float32 terms in the same order as the Cython kernel (in other loops): the
x taps of symmetric filters by pairs (the pixels' sum and difference, then the centre tap), the
complex product of the y pass as four real sums; the two backends give the same floats."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["gabor_energy"]


@njit(cache=True, nogil=True)
def gabor_energy(img, taps, stride, cell, out):
    """See ``_reference_gabor.gabor_energy``."""
    n = img.shape[0]
    nf, _, k = taps.shape
    r = k // 2
    m = n // stride
    g = n // cell
    s = cell // stride
    if nf == 0 or m == 0:
        return
    imgt = np.ascontiguousarray(img.T)
    src = np.empty((m, k), np.int64)  # reflected source row / column of tap a at sample j
    for j in range(m):
        for a in range(k):
            c = j * stride + stride // 2 + a - r
            if c < 0:
                c = -c
            if c > n - 1:
                c = 2 * (n - 1) - c
            src[j, a] = c
    tre = np.empty((n, m), np.float32)
    tim = np.empty((n, m), np.float32)
    col_re = np.empty(n, np.float32)
    col_im = np.empty(n, np.float32)
    sa = np.empty(m, np.float32)
    sb = np.empty(m, np.float32)
    sc = np.empty(m, np.float32)
    sd = np.empty(m, np.float32)
    mag = np.empty((m, m), np.float32)
    inv = np.float32(1.0) / np.float32(s * s)
    for f in range(nf):
        yr, yi, xr, xi = taps[f, 0], taps[f, 1], taps[f, 2], taps[f, 3]
        symmetric = _symmetric(xr, xi)
        for j in range(m):  # along x: every row, sampled columns
            col_re[:] = 0
            col_im[:] = 0
            if symmetric:  # tap pairs b, k-1-b: their pixels' sum and difference, then the centre tap
                for b in range(r):
                    ra = imgt[src[j, b]]
                    rb = imgt[src[j, k - 1 - b]]
                    wr = xr[b]
                    wi = xi[b]
                    for y in range(n):
                        col_re[y] += wr * (ra[y] + rb[y])
                        col_im[y] += wi * (ra[y] - rb[y])
                row = imgt[src[j, r]]
                for y in range(n):
                    col_re[y] += xr[r] * row[y]
                    col_im[y] += xi[r] * row[y]
            else:
                for b in range(k):
                    row = imgt[src[j, b]]
                    wr = xr[b]
                    wi = xi[b]
                    for y in range(n):
                        col_re[y] += wr * row[y]
                        col_im[y] += wi * row[y]
            for y in range(n):
                tre[y, j] = col_re[y]
                tim[y, j] = col_im[y]
        for i in range(m):  # along y: sampled rows, the four real sums of the complex product
            sa[:] = 0
            sb[:] = 0
            sc[:] = 0
            sd[:] = 0
            for a in range(k):
                pr = tre[src[i, a]]
                pi = tim[src[i, a]]
                wr = yr[a]
                wi = yi[a]
                for j in range(m):
                    sa[j] += wr * pr[j]
                    sb[j] += wi * pi[j]
                    sc[j] += wr * pi[j]
                    sd[j] += wi * pr[j]
            for j in range(m):
                re = sa[j] - sb[j]
                im = sc[j] + sd[j]
                mag[i, j] = np.sqrt(re * re + im * im)
        for i in range(g):
            for j in range(g):
                acc = np.float32(0.0)
                for a in range(s):
                    for c in range(s):
                        acc += mag[i * s + a, j * s + c]
                out[f, i * g + j] = acc * inv


@njit(cache=True, nogil=True)
def _symmetric(xr, xi):
    """Whether x taps are even (real part) and odd (imaginary part), as a Gabor filter's."""
    k = xr.shape[0]
    for b in range(k // 2 + 1):
        if xr[b] != xr[k - 1 - b] or xi[b] != -xi[k - 1 - b]:
            return False
    return True
