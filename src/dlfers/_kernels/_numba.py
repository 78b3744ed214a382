"""Numba kernels: the reference kernels as plain compiled loops.

Same names, argument order and in-place outputs as ``_reference.py``.  Every
constant is a float32 so the arithmetic stays in float32 as in the reference
(Numba, like NumPy, would promote ``1 - x`` with a float32 ``x`` to float64).
No ``fastmath`` and no ``parallel``: the outputs are compared across backends.
``nogil=True`` so that a thread pool over images runs the kernels concurrently.
Compiled on first call and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["smooth", "orientation_blocks", "assemble_descriptors", "encode"]

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_TWO = np.float32(2.0)
_PI = np.float32(np.pi)
_TWO_PI = np.float32(2 * np.pi)
_TINY = np.float32(1e-12)
#: bytes of the per-chunk distance block (chunk x D float32) in ``encode``
_BLOCK_BYTES = 262144


@njit(cache=True, nogil=True)
def smooth(img, taps, out):
    """Separable Gaussian smoothing with edge replication (Eq. 5-6), into ``out``."""
    h, w = img.shape
    nt = taps.shape[0]
    r = nt // 2
    tmp = np.empty((h, w), np.float32)
    pad = np.empty(w + 2 * r, np.float32)
    for y in range(h):
        for x in range(r):
            pad[x] = img[y, 0]
            pad[r + w + x] = img[y, w - 1]
        for x in range(w):
            pad[r + x] = img[y, x]
        t = taps[0]
        for x in range(w):
            tmp[y, x] = t * pad[x]
        for k in range(1, nt):
            t = taps[k]
            for x in range(w):
                tmp[y, x] += t * pad[x + k]
    for y in range(h):
        t = taps[0]
        yk = max(y - r, 0)
        for x in range(w):
            out[y, x] = t * tmp[yk, x]
        for k in range(1, nt):
            t = taps[k]
            yk = min(max(y + k - r, 0), h - 1)
            for x in range(w):
                out[y, x] += t * tmp[yk, x]


@njit(cache=True, nogil=True)
def orientation_blocks(img, nbins, signed, block, out):
    """Gradient magnitudes binned by orientation into ``block``x``block`` blocks (Eq. 7-8)."""
    h, w = img.shape
    bh, bw = out.shape[0], out.shape[1]
    period = _TWO_PI if signed else _PI
    scale = np.float32(nbins) / period
    acc = np.zeros((bw, nbins), np.float64)
    for by in range(bh):
        acc[:, :] = 0.0
        for yy in range(block):
            y = by * block + yy
            up = max(y - 1, 0)
            dn = min(y + 1, h - 1)
            for bx in range(bw):
                for xx in range(block):
                    x = bx * block + xx
                    dx = img[y, min(x + 1, w - 1)] - img[y, max(x - 1, 0)]
                    dy = img[dn, x] - img[up, x]
                    m = np.sqrt(dx * dx + dy * dy)
                    if m == _ZERO:
                        continue
                    t = math.atan2(dy, dx)
                    if t < _ZERO:
                        t = t + period
                    if not signed and t >= period:
                        t = t - period
                    f = t * scale
                    fb = np.floor(f)
                    frac = f - fb
                    b0 = int(fb)
                    if b0 >= nbins:
                        b0 -= nbins
                    b1 = b0 + 1
                    if b1 >= nbins:
                        b1 -= nbins
                    acc[bx, b0] += m * (_ONE - frac)
                    acc[bx, b1] += m * frac
        for bx in range(bw):
            for k in range(nbins):
                out[by, bx, k] = np.float32(acc[bx, k])


@njit(cache=True, nogil=True)
def _sumsq(d):
    # NumPy's 8-accumulator order for a float32 sum (exact for n <= 128, n % 8 == 0)
    n = d.shape[0]
    n8 = n - n % 8
    if n8 == 0:
        s = _ZERO
        for i in range(n):
            s += d[i] * d[i]
        return s
    r = np.empty(8, np.float32)
    for k in range(8):
        r[k] = d[k] * d[k]
    for i in range(8, n8, 8):
        for k in range(8):
            r[k] += d[i + k] * d[i + k]
    s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for i in range(n8, n):
        s += d[i] * d[i]
    return s


@njit(cache=True, nogil=True)
def assemble_descriptors(blocks, cell_blocks, step_blocks, clip, out):
    """Gather 4x4 cells of ``cell_blocks``² blocks per grid point into ``out``, then normalise."""
    bh, bw, nbins = blocks.shape
    cb = cell_blocks
    sb = step_blocks
    span = 4 * cb
    ny = (bh - span) // sb + 1
    nx = (bw - span) // sb + 1
    clip32 = np.float32(clip)
    cells = np.zeros((bh - cb + 1, bw - cb + 1, nbins), np.float32)
    for a in range(cb):
        for b in range(cb):
            for y in range(cells.shape[0]):
                for x in range(cells.shape[1]):
                    for k in range(nbins):
                        cells[y, x, k] += blocks[y + a, x + b, k]
    n = 0
    for i in range(ny):
        for j in range(nx):
            d = out[n]
            for cy in range(4):
                for cx in range(4):
                    y = i * sb + cy * cb
                    x = j * sb + cx * cb
                    o = (cy * 4 + cx) * nbins
                    for k in range(nbins):
                        d[o + k] = cells[y, x, k]
            norm = np.sqrt(_sumsq(d))
            if norm <= _TINY:
                d[:] = _ZERO
            else:
                inv = _ONE / norm
                for k in range(d.shape[0]):
                    d[k] = min(d[k] * inv, clip32)
                inv = _ONE / np.sqrt(_sumsq(d))
                for k in range(d.shape[0]):
                    d[k] *= inv
            n += 1


@njit(cache=True, nogil=True)
def encode(x, codebook, code_sqnorm, regions, labels_out, hist_out):
    """Nearest codeword of every row of ``x`` into ``labels_out``; counts added to ``hist_out``."""
    n = x.shape[0]
    ncode = codebook.shape[0]
    nlev = regions.shape[1]
    if n == 0 or ncode == 0:
        return
    chunk = min(max(1, _BLOCK_BYTES // (4 * ncode)), n)
    ct = codebook.T
    for s in range(0, n, chunk):
        e = min(s + chunk, n)
        g = np.dot(x[s:e], ct)
        for i in range(e - s):
            best = 0
            bestv = code_sqnorm[0] - _TWO * g[i, 0]
            for j in range(1, ncode):
                v = code_sqnorm[j] - _TWO * g[i, j]
                if v < bestv:
                    bestv = v
                    best = j
            labels_out[s + i] = best
            for lv in range(nlev):
                r = regions[s + i, lv]
                if r >= 0:
                    hist_out[r, best] += _ONE
