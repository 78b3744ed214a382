"""Numba kernel ``haar_scan``: OpenCV's Haar cascade (stumps or alt2's trees) on one pyramid layer.

Same arguments and in-place outputs as ``_reference.haar_scan`` (and the C scalar path of ``_haar.h``),
one window at a time: float32 features, float64 stage sums in classifier order, OpenCV's walk along
each row.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["haar_scan", "haar_scan_layers"]


@njit(cache=True, nogil=True)
def _col(c, ystep, stride):
    return (c & 1) * (stride // 2) + (c >> 1) if ystep == 2 else c


@njit(cache=True, nogil=True)
def _integral(img, ystep, sums, squares):
    h, w = img.shape
    stride = sums.shape[1]
    fs = sums.ravel()
    fq = squares.ravel()
    fs[: (h + 1) * stride] = 0
    fq[: (h + 1) * stride] = 0
    for y in range(h):
        rs = np.int32(0)
        rq = np.uint32(0)
        for x in range(w):
            v = np.uint32(img[y, x])
            c = _col(x + 1, ystep, stride)
            rs += np.int32(v)
            rq += v * v
            fs[(y + 1) * stride + c] = fs[y * stride + c] + rs
            fq[(y + 1) * stride + c] = fq[y * stride + c] + rq


@njit(cache=True, nogil=True, inline="always")
def _rect(fs, p, o, k):
    return fs[p + o[k]] - fs[p + o[k + 1]] - fs[p + o[k + 2]] + fs[p + o[k + 3]]


@njit(cache=True, nogil=True)
def _below(fs, p, ofs, weights, thresholds, node, vnf):
    o = ofs[node]
    w = weights[node]
    r = w[0] * np.float32(_rect(fs, p, o, 0)) + w[1] * np.float32(_rect(fs, p, o, 4))
    if w[2] != 0:
        r = r + w[2] * np.float32(_rect(fs, p, o, 8))
    return r * vnf < thresholds[node]


@njit(cache=True, nogil=True)
def _window(fs, fq, p, nofs, area, ofs, weights, thresholds, shapes, leaves, stage_sizes, stage_thresholds):
    vs = _rect(fs, p, nofs, 0)
    vq = np.uint32(fq[p + nofs[0]] - fq[p + nofs[1]] - fq[p + nofs[2]] + fq[p + nofs[3]])
    nf = area * np.float64(vq) - np.float64(vs) * np.float64(vs)
    if not nf > 0.0:
        return -1
    vnf = np.float32(1.0 / np.sqrt(nf))
    if not area * np.float64(vnf) < 0.1:
        return -1
    s = 0
    n = 0
    for t in range(stage_sizes.shape[0]):
        acc = 0.0
        for _ in range(stage_sizes[t]):
            lt = _below(fs, p, ofs, weights, thresholds, n, vnf)
            if shapes[s] == 0:
                leaf = leaves[s, 0] if lt else leaves[s, 1]
                n += 1
            else:
                if lt == (shapes[s] == 1):
                    leaf = leaves[s, 0]
                else:
                    leaf = leaves[s, 1] if _below(fs, p, ofs, weights, thresholds, n + 1, vnf) else leaves[s, 2]
                n += 2
            acc += np.float64(leaf)
            s += 1
        if acc < np.float64(stage_thresholds[t]):
            return 0 if t == 0 else -1
    return 1


@njit(cache=True, nogil=True)
def haar_scan(img, win_w, win_h, ystep, ofs, weights, thresholds, shapes, leaves, stage_sizes, stage_thresholds,
              sums, squares, out):
    """One pyramid layer of the cascade: integral images into sums/squares, accepted windows into out."""
    _integral(img, ystep, sums, squares)
    stride = sums.shape[1]
    ny, nx = out.shape
    fs = sums.ravel().astype(np.int64)
    fq = squares.ravel().astype(np.int64)
    c0 = _col(1, ystep, stride)
    c1 = _col(win_w - 1, ystep, stride)
    nofs = np.array([c0 + stride, c1 + stride, c0 + stride * (win_h - 1), c1 + stride * (win_h - 1)], np.int64)
    area = np.float64((win_w - 2) * (win_h - 2))
    for j in range(ny):
        skip = False
        for i in range(nx):
            out[j, i] = 0
            if skip:
                skip = False
                continue
            v = _window(fs, fq, j * ystep * stride + i, nofs, area, ofs, weights, thresholds, shapes, leaves,
                        stage_sizes, stage_thresholds)
            if v > 0:
                out[j, i] = 1
            skip = v == 0


@njit(cache=True, nogil=True)
def haar_scan_layers(pyramid, layers, win_w, win_h, ofs, weights, thresholds, shapes, leaves, stage_sizes,
                     stage_thresholds, sums, squares, out):
    """``haar_scan`` on every layer of a pyramid (see ``_reference.haar_scan_layers``)."""
    for k in range(layers.shape[0]):
        off, w, h = np.int64(layers[k, 0]), np.int64(layers[k, 1]), np.int64(layers[k, 2])
        ystep, o, ny = np.int64(layers[k, 3]), np.int64(layers[k, 4]), np.int64(layers[k, 5])
        nx = (w + 1 - win_w + ystep - 1) // ystep
        haar_scan(pyramid[off : off + w * h].reshape((h, w)), win_w, win_h, ystep, ofs[ystep - 1], weights,
                  thresholds, shapes, leaves, stage_sizes, stage_thresholds, sums[: h + 1], squares[: h + 1],
                  out[o : o + ny * nx].reshape((ny, nx)))
