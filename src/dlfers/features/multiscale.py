"""Dense descriptors of one image at one or two scales, on one grid of centres.

The first scale is the paper's: 4-pixel cells (a 16-pixel support) after smoothing with
σ.  A second-scale kind (:data:`dlfers.features.descriptors.KIND_SCALE`, e.g. "tisf2") has cells
and σ scaled by its factor s (8-pixel cells, 2σ for s = 2).  It is computed on the image
reflect-padded by 2·(s − 1)·4 pixels on each side, which puts its grid centres exactly on
the first scale's: both scales share the region ids, and the codebooks, histograms and
SVM fusion treat the second scale as two more descriptor kinds, fused as TISF and TIPM
are (multi-scale dense SIFT as in Bosch et al., ICCV 2007, and vlfeat's PHOW).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .descriptors import DescriptorSpec, compute, smooth

__all__ = ["BASE_CELL", "padding", "source_descriptors"]

#: cell side of the first scale, in pixels
BASE_CELL = 4


def padding(cell: int) -> int:
    """Pixels added on each side so that a ``cell`` grid has the centres of the 4-pixel one.

    Parameters
    ----------
    cell : int
        Cell side in pixels.

    Returns
    -------
    int
        Pixels of padding on each side.
    """
    return 2 * (int(cell) - BASE_CELL)


def source_descriptors(img: np.ndarray, specs: Sequence[DescriptorSpec], k: object,
                       out: dict[str, np.ndarray]) -> None:
    """Descriptors of every kind in ``specs`` on one validated (H, W) float32 image.

    ``out[kind]``: the C-contiguous (N, dim) float32 rows to fill, N the number of grid
    points of the first scale.  Kinds at one scale share one smoothing.

    Parameters
    ----------
    img : ndarray of shape (H, W), dtype float32
        A validated image.
    specs : sequence of DescriptorSpec
        One spec per kind (the first at the first scale).
    k : kernel namespace
        A kernel backend's functions (:func:`dlfers._kernels.get`).
    out : dict of str to ndarray
        Kind -> C-contiguous (N, dim) float32 rows to fill; N is the first scale's grid size.
    """
    import cv2

    smoothed: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = {}
    for d in specs:
        key = (d.cell, d.sigma)
        if key not in smoothed:
            p = padding(d.cell)
            src = img if p == 0 else cv2.copyMakeBorder(img, p, p, p, p, cv2.BORDER_REFLECT_101)
            smoothed[key] = (src, smooth(src, d.sigma, k))
        src, sm = smoothed[key]
        compute(src, d, k, sm, out=out[d.kind])
