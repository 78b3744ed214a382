"""NumPy reference kernel ``lbp_histograms`` (and its pattern definition ``lbp_codes``): the
definition the Cython (``_lbp.pyx``) and Numba (``_numba_lbp.py``) kernels match, bit for bit.
``_reference`` re-exports it with the other reference kernels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LBP_BINS", "LBP_UNIFORM", "LBP_DY", "LBP_DX", "lbp_codes", "lbp_histograms"]

#: uniform LBP (Ojala et al., TPAMI 2002): the 58 8-bit patterns with at most two circular 0/1
#: transitions get bins 0..57 in increasing order, every other pattern bin 58
LBP_BINS = 59
_TRANSITIONS = np.array([bin(p ^ ((p >> 1) | ((p & 1) << 7))).count("1") for p in range(256)])
LBP_UNIFORM = np.where(_TRANSITIONS <= 2, np.cumsum(_TRANSITIONS <= 2) - 1, 58).astype(np.uint8)
#: neighbour k of a pixel (bit k of its pattern) on the unit circle, counter-clockwise from the
#: right: (dy, dx) rounded to 5 decimals, as scikit-image's ``local_binary_pattern(img, 8, 1)``
LBP_DY = np.round(-np.sin(np.pi / 4 * np.arange(8)), 5)
LBP_DX = np.round(np.cos(np.pi / 4 * np.arange(8)), 5)


def lbp_codes(img: np.ndarray) -> np.ndarray:
    """8-bit patterns (H-2, W-2) int32 of the interior pixels of an (H, W) float32 image: bit k is set
    where neighbour k, bilinearly interpolated in float64 exactly as scikit-image does, is >= the pixel."""
    x = img.astype(np.float64)
    h, w = x.shape
    r, c = np.mgrid[1 : h - 1, 1 : w - 1].astype(np.float64)
    centre = x[1:-1, 1:-1]
    code = np.zeros(centre.shape, np.int32)
    for k in range(8):
        rr, cc = r + LBP_DY[k], c + LBP_DX[k]
        r0, c0, r1, c1 = np.floor(rr), np.floor(cc), np.ceil(rr), np.ceil(cc)
        dr, dc = rr - r0, cc - c0
        r0, c0, r1, c1 = (a.astype(np.int64) for a in (r0, c0, r1, c1))
        top = (1 - dc) * x[r0, c0] + dc * x[r0, c1]
        bottom = (1 - dc) * x[r1, c0] + dc * x[r1, c1]
        code |= (((1 - dr) * top + dr * bottom) >= centre).astype(np.int32) << k
    return code


def lbp_histograms(img: np.ndarray, cells: np.ndarray, out: np.ndarray) -> None:
    """Add each cell's uniform-LBP counts of an image's interior pixels to ``out``.

    img : (H, W) float32; patterns as :func:`lbp_codes`, bins as ``LBP_UNIFORM``.
    cells : ((H-2)·(W-2),) int32 cell of each interior pixel (row-major), -1: none.
    out : (C, 59) float32, added to (counts).
    """
    if img.shape[0] < 3 or img.shape[1] < 3:
        return
    b = LBP_UNIFORM[lbp_codes(img)].ravel().astype(np.int64)
    ok = cells >= 0
    np.add.at(out, (cells[ok], b[ok]), np.float32(1))
