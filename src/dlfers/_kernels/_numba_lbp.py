"""Numba kernel ``lbp_histograms``: uniform-LBP counts per cell of an image's interior pixels.

Same arguments and in-place output as ``_reference_lbp.lbp_histograms`` (its table of uniform
bins), the diagonal neighbours interpolated operation for operation as there.
"""

from __future__ import annotations

import math

from numba import njit

from ._reference_lbp import LBP_BINS, LBP_DX, LBP_UNIFORM

__all__ = ["lbp_histograms"]


@njit(cache=True, nogil=True, inline="always")
def _lerp2(a, b, c, d, wc, vc, wr, vr):
    return vr * (vc * a + wc * b) + wr * (vc * c + wc * d)


@njit(cache=True, nogil=True)
def _histograms(img, cells, table, nbins, t, out):
    h, w = img.shape
    i = 0
    for y in range(1, h - 1):
        rm = (y - t) - math.floor(y - t)
        rp = (y + t) - math.floor(y + t)
        vm, vp = 1 - rm, 1 - rp
        for x in range(1, w - 1):
            lw = (x - t) - math.floor(x - t)  # column weights of the neighbours left and right
            rw = (x + t) - math.floor(x + t)
            lv, rv = 1 - lw, 1 - rw
            c = float(img[y, x])
            a0, a1, a2 = float(img[y - 1, x - 1]), float(img[y - 1, x]), float(img[y - 1, x + 1])
            b0, b2 = float(img[y, x - 1]), float(img[y, x + 1])
            d0, d1, d2 = float(img[y + 1, x - 1]), float(img[y + 1, x]), float(img[y + 1, x + 1])
            code = ((b2 >= c) | ((_lerp2(a1, a2, c, b2, rw, rv, rm, vm) >= c) << 1) | ((a1 >= c) << 2)
                    | ((_lerp2(a0, a1, b0, c, lw, lv, rm, vm) >= c) << 3) | ((b0 >= c) << 4)
                    | ((_lerp2(b0, c, d0, d1, lw, lv, rp, vp) >= c) << 5) | ((d1 >= c) << 6)
                    | ((_lerp2(c, b2, d1, d2, rw, rv, rp, vp) >= c) << 7))
            r = cells[i]
            if r >= 0:
                out[r, table[code]] += 1
            i += 1


def lbp_histograms(img, cells, out):
    """See ``_reference_lbp.lbp_histograms``."""
    if img.shape[0] >= 3 and img.shape[1] >= 3:
        _histograms(img, cells, LBP_UNIFORM, LBP_BINS, float(LBP_DX[1]), out)
