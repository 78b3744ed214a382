"""Numba kernel ``lbp_histograms``: uniform-LBP counts per region of an image's interior pixels.

Same arguments and in-place output as ``_reference.lbp_histograms`` (its table of uniform bins).
"""

from __future__ import annotations

from numba import njit

from ._reference import LBP_BINS, LBP_UNIFORM

__all__ = ["lbp_histograms"]


@njit(cache=True, nogil=True)
def _histograms(img, cells, table, nbins, out):
    h, w = img.shape
    i = 0
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            c = img[y, x]
            code = ((img[y - 1, x - 1] >= c) | ((img[y - 1, x] >= c) << 1) | ((img[y - 1, x + 1] >= c) << 2)
                    | ((img[y, x + 1] >= c) << 3) | ((img[y + 1, x + 1] >= c) << 4) | ((img[y + 1, x] >= c) << 5)
                    | ((img[y + 1, x - 1] >= c) << 6) | ((img[y, x - 1] >= c) << 7))
            r = cells[i]
            if r >= 0:
                out[r, table[code]] += 1
            i += 1


def lbp_histograms(img, cells, out):
    """See ``_reference.lbp_histograms``."""
    if img.shape[0] >= 3 and img.shape[1] >= 3:
        _histograms(img, cells, LBP_UNIFORM, LBP_BINS, out)
