"""Numba kernels: the reference kernels as plain compiled loops.

Same names, argument order and in-place outputs as ``_reference.py``.  Every
constant is a float32 so the arithmetic stays in float32 as in the reference
(Numba, like NumPy, would promote ``1 - x`` with a float32 ``x`` to float64).
No ``fastmath`` and no ``parallel``: the outputs are compared across backends.
``nogil=True`` so that a thread pool over images runs the kernels concurrently.
Compiled on first call and cached on disk (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._numba_gabor import gabor_energy
from ._numba_haar import haar_scan, haar_scan_layers
from ._numba_lbp import lbp_histograms

__all__ = ["smooth", "orientation_blocks", "assemble_descriptors", "encode", "encode_soft", "intersection", "chi2",
           "region_sums", "haar_scan", "haar_scan_layers", "lbp_histograms", "gabor_energy"]

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_TWO = np.float32(2.0)
_PI = np.float32(np.pi)
_TWO_PI = np.float32(2 * np.pi)
_TINY = np.float32(1e-12)
#: bytes of one tile of x·c (float32) in ``encode``, and the most codewords in a tile
_BLOCK_BYTES = 262144
_TILE_CODES = 256


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


# atan on [-tan(π/8), tan(π/8)] (Cephes atanf), as in the Cython kernel
_ATAN_C1 = np.float32(8.05374449538e-2)
_ATAN_C2 = np.float32(-1.38776856032e-1)
_ATAN_C3 = np.float32(1.99777106478e-1)
_ATAN_C4 = np.float32(-3.33329491539e-1)
_TAN_PI_8 = np.float32(0.414213562373095)
_PI_4 = np.float32(np.pi / 4)
_PI_2 = np.float32(np.pi / 2)


@njit(cache=True, nogil=True)
def _row_bins(gx, gy, period, scale, nbins, stride, idx, w0, w1):
    # branch-free atan2 in [0, period] (octant reduction and a polynomial), the slot
    # x·stride + b0 and the weights of bins b0 and b0 + 1; see _gradients.pyx
    for x in range(gx.shape[0]):
        dx = gx[x]
        dy = gy[x]
        ax = abs(dx)
        ay = abs(dy)
        mx = ax if ax > ay else ay
        mn = ay if ax > ay else ax
        big = mn > _TAN_PI_8 * mx
        num = mn - mx if big else mn
        den = mn + mx if big else mx
        den = den if den > _ZERO else _ONE
        q = num / den
        z = q * q
        r = (((_ATAN_C1 * z + _ATAN_C2) * z + _ATAN_C3) * z + _ATAN_C4) * z * q + q
        r = r + _PI_4 if big else r
        r = _PI_2 - r if ay > ax else r
        r = _PI - r if dx < _ZERO else r
        r = period - r if dy < _ZERO else r
        f = r * scale
        b = np.int32(f)
        frac = f - np.float32(b)
        b = 0 if b >= nbins else b
        m = np.sqrt(dx * dx + dy * dy)
        idx[x] = x * stride + b
        w0[x] = m * (_ONE - frac)
        w1[x] = m * frac


@njit(cache=True, nogil=True)
def orientation_blocks(img, nbins, signed, block, out):
    """Gradient magnitudes binned by orientation into ``block``x``block`` blocks (Eq. 7-8)."""
    h, w = img.shape
    bh, bw = out.shape[0], out.shape[1]
    period = _TWO_PI if signed else _PI
    scale = np.float32(nbins) / period
    wb = bw * block
    stride = nbins + 1  # per pixel column, bins 0..nbins; slot nbins is bin 0 again
    acc = np.empty(wb * stride, np.float32)
    gx = np.empty(wb, np.float32)
    gy = np.empty(wb, np.float32)
    w0 = np.empty(wb, np.float32)
    w1 = np.empty(wb, np.float32)
    idx = np.empty(wb, np.int64)
    for by in range(bh):
        acc[:] = _ZERO
        for yy in range(block):
            y = by * block + yy
            up = max(y - 1, 0)
            dn = min(y + 1, h - 1)
            for x in range(wb):
                gy[x] = img[dn, x] - img[up, x]
                gx[x] = img[y, min(x + 1, w - 1)] - img[y, max(x - 1, 0)]
            _row_bins(gx, gy, period, scale, nbins, stride, idx, w0, w1)
            for x in range(wb):
                acc[idx[x]] += w0[x]
                acc[idx[x] + 1] += w1[x]
        for x in range(wb):
            acc[x * stride] += acc[x * stride + nbins]
        for bx in range(bw):
            for k in range(nbins):
                s = acc[bx * block * stride + k]
                for xx in range(1, block):
                    s += acc[(bx * block + xx) * stride + k]
                out[by, bx, k] = s


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
    dim = 16 * nbins
    clip32 = np.float32(clip)
    ch = bh - cb + 1
    cw = bw - cb + 1
    cells = np.zeros((ch, cw, nbins), np.float32)
    for a in range(cb):
        for b in range(cb):
            for y in range(ch):
                for x in range(cw):
                    for k in range(nbins):
                        cells[y, x, k] += blocks[y + a, x + b, k]
    # a descriptor's first norm is the sum of its 16 cells' squared norms
    cellsq = np.empty((ch, cw), np.float32)
    for y in range(ch):
        for x in range(cw):
            cellsq[y, x] = _sumsq(cells[y, x])
    buf = np.empty(dim, np.float32)
    sq = np.empty(dim, np.float32)
    n = 0
    for i in range(ny):
        for j in range(nx):
            d = out[n]
            s = _ZERO
            for cy in range(4):
                y = i * sb + cy * cb
                x = j * sb
                s += (cellsq[y, x] + cellsq[y, x + cb]) + (cellsq[y, x + 2 * cb] + cellsq[y, x + 3 * cb])
            norm = np.sqrt(s)
            if norm <= _TINY:
                d[:] = _ZERO
            else:
                inv = _ONE / norm
                for cy in range(4):
                    for cx in range(4):
                        y = i * sb + cy * cb
                        x = j * sb + cx * cb
                        o = (cy * 4 + cx) * nbins
                        for k in range(nbins):
                            v = cells[y, x, k] * inv
                            v = v if v < clip32 else clip32
                            buf[o + k] = v
                            sq[o + k] = v * v
                # pairwise sum of the squares (upper half onto lower half)
                m = dim
                while m > 1:
                    half = m // 2
                    off = m - half
                    for k in range(half):
                        sq[k] += sq[off + k]
                    m = off
                inv = _ONE / np.sqrt(sq[0])
                for k in range(dim):
                    d[k] = buf[k] * inv
            n += 1


@njit(cache=True, nogil=True)
def _tile_shape(n, ncode):
    """(codewords, descriptors) of one tile of ``encode`` and ``encode_soft``: at most
    _TILE_CODES codewords by as many descriptors as fit in _BLOCK_BYTES (at least 1, at most n)."""
    cd = min(ncode, _TILE_CODES)
    return cd, min(max(1, _BLOCK_BYTES // (4 * cd)), n)


@njit(cache=True, nogil=True)
def encode(x, codebook, code_sqnorm, regions, labels_out, hist_out):
    """Nearest codeword of every row of ``x`` into ``labels_out``; counts added to ``hist_out``.

    As the Cython kernel: tiles of at most _TILE_CODES codewords by as many descriptors
    as fit in _BLOCK_BYTES, each tile one BLAS product laid out descriptor-fastest, and
    an element-wise update of every descriptor's running minimum (ties keep the lower
    codeword, visited first).
    """
    n = x.shape[0]
    ncode = codebook.shape[0]
    nlev = regions.shape[1]
    if n == 0 or ncode == 0:
        return
    cd, cn = _tile_shape(n, ncode)
    bestv = np.empty(cn, np.float32)
    best = np.empty(cn, np.int32)
    for s in range(0, n, cn):
        e = min(s + cn, n)
        nc = e - s
        xt = x[s:e].T
        for d0 in range(0, ncode, cd):
            d1 = min(d0 + cd, ncode)
            g = np.dot(codebook[d0:d1], xt)  # (codewords, descriptors)
            j0 = d0
            if d0 == 0:
                c2 = code_sqnorm[0]
                for i in range(nc):
                    bestv[i] = c2 - _TWO * g[0, i]
                    best[i] = 0
                j0 = 1
            for j in range(j0, d1):
                c2 = code_sqnorm[j]
                gj = g[j - d0]
                jj = np.int32(j)
                for i in range(nc):
                    v = c2 - _TWO * gj[i]
                    bv = bestv[i]
                    lt = v < bv
                    bestv[i] = v if lt else bv
                    best[i] = jj if lt else best[i]
        for i in range(nc):
            w = best[i]
            labels_out[s + i] = w
            for lv in range(nlev):
                r = regions[s + i, lv]
                if r >= 0:
                    hist_out[r, w] += _ONE


#: dimensions summed in float32 before the partial sums are added in float64 (as the Cython kernel)


@njit(cache=True, nogil=True)
def intersection(a, b, out):
    # the summation order of _isect.h: each float32 minimum added in float64 to one of
    # eight lanes (lane k adds d = k mod 8, the tail goes to lane 0), lanes combined pairwise
    na, dim = a.shape
    nb = b.shape[0]
    acc = np.zeros(8, np.float64)
    stop = (dim // 8) * 8
    for i in range(na):
        for j in range(nb):
            acc[:] = 0.0
            for d in range(0, stop, 8):
                for k in range(8):
                    acc[k] += np.float64(min(a[i, d + k], b[j, d + k]))
            for d in range(stop, dim):
                acc[0] += np.float64(min(a[i, d], b[j, d]))
            out[i, j] = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))


@njit(cache=True, nogil=True, inline="always")
def _insert_sorted(topv, topi, i, k, v, jj):
    """Put value ``v`` of word ``jj`` into row i's ascending k smallest (a value replaces only
    strictly larger ones: ties keep the lower index, words being visited in increasing order)."""
    if v < topv[i, k - 1]:
        p = k - 1
        while p > 0 and topv[i, p - 1] > v:
            topv[i, p] = topv[i, p - 1]
            topi[i, p] = topi[i, p - 1]
            p -= 1
        topv[i, p] = v
        topi[i, p] = jj


@njit(cache=True, nogil=True)
def _spread(topv, topi, nc, k, beta, unit, regions, s, idx_out, w_out, hist_out):
    """Weights exp(-beta (v_j - v_0) / unit), normalised, of rows [0, nc) of the selected words,
    written for descriptors s.. and added to their regions' rows of ``hist_out``."""
    nlev = regions.shape[1]
    for i in range(nc):
        v0 = np.float64(topv[i, 0])
        tot = 0.0
        for j in range(k):
            tot += np.exp(-beta * ((np.float64(topv[i, j]) - v0) / unit))
        for j in range(k):
            wj = np.float32(np.exp(-beta * ((np.float64(topv[i, j]) - v0) / unit)) / tot)
            idx_out[s + i, j] = topi[i, j]
            w_out[s + i, j] = wj
            for lev in range(nlev):
                r = regions[s + i, lev]
                if r >= 0:
                    hist_out[r, topi[i, j]] += wj


@njit(cache=True, nogil=True)
def encode_soft(x, codebook, code_sqnorm, regions, beta, idx_out, w_out, hist_out):
    """Soft assignment to the k nearest codewords (see ``_reference.encode_soft``).

    Tiles as :func:`encode`; each descriptor keeps its k smallest values of
    ‖c‖² − 2 x·c in an insertion-sorted list (codewords visited in increasing order, a
    value replaces only strictly larger ones: ties keep the lower index).
    """
    n = x.shape[0]
    k = idx_out.shape[1]
    ncode = codebook.shape[0]
    if n == 0 or ncode == 0:
        return
    cd, cn = _tile_shape(n, ncode)
    topv = np.empty((cn, k), np.float32)
    topi = np.empty((cn, k), np.int32)
    for s in range(0, n, cn):
        e = min(s + cn, n)
        nc = e - s
        xt = x[s:e].T
        topv[:nc] = np.inf
        topi[:nc] = -1
        for d0 in range(0, ncode, cd):
            d1 = min(d0 + cd, ncode)
            g = np.dot(codebook[d0:d1], xt)  # (codewords, descriptors)
            for j in range(d0, d1):
                c2 = code_sqnorm[j]
                gj = g[j - d0]
                jj = np.int32(j)
                for i in range(nc):
                    _insert_sorted(topv, topi, i, k, c2 - _TWO * gj[i], jj)
        _spread(topv, topi, nc, k, beta, 1.0, regions, s, idx_out, w_out, hist_out)


_Q8 = np.float32(127.0)
_Q8_MAGIC = np.float32(12582912.0)  # 1.5 * 2^23: (s + M) - M rounds s in [0, 2^22) half to even


@njit(cache=True, nogil=True)
def _quantise_rows_q8(x, out):
    """``_reference.quantise_q8`` of (n, dim) float32 ``x`` into float32 integers ``out``."""
    n, dim = x.shape
    for i in range(n):
        for d in range(dim):
            s = x[i, d] * _Q8
            if not s > np.float32(0.0):
                s = np.float32(0.0)
            if s > _Q8:
                s = _Q8
            out[i, d] = (s + _Q8_MAGIC) - _Q8_MAGIC


@njit(cache=True, nogil=True)
def encode_soft_q8(x, cq, csq, regions, beta, idx_out, w_out, hist_out):
    """Soft assignment with 7-bit integer keys (see ``_reference.encode_soft_q8``).

    The integer products come from float32 products of the quantised values: every partial
    sum is an integer below 2^24 (dim <= 1040), so they are exact in any order.
    """
    n, dim = x.shape
    k = idx_out.shape[1]
    ncode = cq.shape[0]
    if n == 0 or ncode == 0:
        return
    cf = np.empty((ncode, dim), np.float32)
    for j in range(ncode):
        for d in range(dim):
            cf[j, d] = np.float32(cq[j, d])
    cd, cn = _tile_shape(n, ncode)
    topv = np.empty((cn, k), np.int64)
    topi = np.empty((cn, k), np.int32)
    xq = np.empty((cn, dim), np.float32)
    for s in range(0, n, cn):
        e = min(s + cn, n)
        nc = e - s
        _quantise_rows_q8(x[s:e], xq[:nc])
        xt = xq[:nc].T
        topv[:nc] = np.iinfo(np.int64).max
        topi[:nc] = -1
        for d0 in range(0, ncode, cd):
            d1 = min(d0 + cd, ncode)
            g = np.dot(cf[d0:d1], xt)  # (codewords, descriptors), exact integers
            for j in range(d0, d1):
                c2 = np.int64(csq[j])
                gj = g[j - d0]
                jj = np.int32(j)
                for i in range(nc):
                    _insert_sorted(topv, topi, i, k, c2 - 2 * np.int64(gj[i]), jj)
        # a key difference is a squared distance in units of 1/127^2 (exact in float64)
        _spread(topv, topi, nc, k, beta, 16129.0, regions, s, idx_out, w_out, hist_out)


@njit(nogil=True, cache=True)
def chi2(a, b, out):
    # float32 terms added in float64 in k order, as _reference.chi2 (no fastmath: same bits);
    # the inner loop over the rows of b (transposed: contiguous) has independent sums and vectorises
    na, dim = a.shape
    nb = b.shape[0]
    out[:, :] = 0.0
    bt = np.ascontiguousarray(b.T)
    zero = np.float32(0.0)
    for i in range(na):
        for k in range(dim):
            aik = a[i, k]
            for j in range(nb):
                s = aik + bt[k, j]
                d = aik - bt[k, j]
                out[i, j] += np.float64(d * d / s) if s > zero else 0.0


@njit(cache=True, nogil=True)
def region_sums(a, b, bounds, op, out):
    """Per-region sums of an additive kernel's terms (see ``_reference.region_sums``)."""
    na = a.shape[0]
    nb = b.shape[0]
    ng = bounds.shape[0] - 1
    for i in range(na):
        for j in range(nb):
            for g in range(ng):
                acc = 0.0
                for k in range(bounds[g], bounds[g + 1]):
                    u = a[i, k]
                    v = b[j, k]
                    if op == 0:
                        acc += np.float64(min(u, v))
                    elif op == 1:
                        s = u + v
                        if s > _ZERO:
                            d = u - v
                            acc += np.float64(d * d / s)
                    else:
                        acc += np.float64(u) * np.float64(v)
                out[i, j, g] = acc
