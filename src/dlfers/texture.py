"""The LBP texture channel: uniform local binary patterns pooled over the SPOF regions.

Each interior pixel of the face (and of the fused eyes+mouth image) gets its pattern of 8
neighbours on the unit circle (scikit-image's LBP_{8,1}, bit for bit), mapped to one of 59
uniform-pattern bins (Ojala et al., TPAMI 2002).  The bins are a fixed codebook: every SPOF
region's histogram of them is normalised like a codebook kind's, and the SVM sees the region
histograms beside TISF's and TIPM's (LBP histograms of face regions for expressions: Shan et
al., Image Vis. Comput. 2009).  The counts depend on nothing learned; the channel's weight
(:func:`fit_scale`) is learned in ``fit`` from the training histograms.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._kernels._reference_lbp import LBP_BINS
from .codebook import normalise_histograms
from .regions import Layout, interior_pixel_ids, parse_layout

__all__ = ["LBP_BINS", "KIND", "TEXTURES", "pixel_cells", "lbp_counts", "lbp_histograms", "texture_counts", "fit_scale"]

#: the channel's name among the SVM inputs (beside the descriptor kinds)
KIND = "lbp"
#: values of the ``texture`` parameter: "lbp" (the channel) or "none"
TEXTURES = ("lbp", "none")


def pixel_cells(layout: str | Layout, shape: tuple[int, int], source: str) -> tuple[np.ndarray, np.ndarray]:
    """The cells of one source image's interior pixels, and the regions each cell belongs to.

    A pixel belongs to the regions its centre (x + 0.5, y + 0.5) falls in, as a descriptor
    belongs to those of its support's centre (:meth:`dlfers.regions.Layout.assign`); a
    cell is one combination of regions, so the kernel counts each pixel once.

    Returns
    -------
    cells : ((H-2)·(W-2),) int32, read-only: each interior pixel's cell (row-major), -1: in no region.
    member : (R, C) float32, read-only: 1 where cell c lies in region r.
    """
    return _pixel_cells(parse_layout(layout), (int(shape[0]), int(shape[1])), source)


@functools.lru_cache(maxsize=32)
def _pixel_cells(lay: Layout, shape: tuple[int, int], source: str) -> tuple[np.ndarray, np.ndarray]:
    ids = interior_pixel_ids(lay, shape, source)  # (N, L)
    combos, cells = np.unique(ids, axis=0, return_inverse=True)
    member = np.zeros((lay.n_regions, len(combos)), np.float32)
    for c, combo in enumerate(combos):
        member[combo[combo >= 0], c] = 1
    cells = np.ascontiguousarray(cells.reshape(-1), dtype=np.int32)
    cells[(ids < 0).all(axis=1)] = -1
    for a in (cells, member):
        a.setflags(write=False)
    return cells, member


def lbp_counts(images: Sequence[np.ndarray], layout: str | Layout, k: Any) -> np.ndarray:
    """Uniform-LBP counts (R, 59) float32 per SPOF region.

    ``images``: the layout's sources in :attr:`~dlfers.regions.Layout.sources` order (the
    validated (H, W) float32 face, then its fused image); ``k``: a kernel backend
    (:func:`dlfers._kernels.get`).
    """
    lay = parse_layout(layout)
    out = np.zeros((lay.n_regions, LBP_BINS), np.float32)
    for source, img in zip(lay.sources, images):
        cells, member = pixel_cells(lay, img.shape, source)
        per_cell = np.zeros((member.shape[1], LBP_BINS), np.float32)
        k.lbp_histograms(img, cells, per_cell)
        out += member @ per_cell
    return out


def lbp_histograms(counts: Sequence[np.ndarray], n_regions: int, power: float, scale: float = 1.0) -> np.ndarray:
    """Normalised region histograms (n, n_regions·59) float32 of :func:`lbp_counts` arrays, times
    ``scale`` (see :func:`dlfers.codebook.normalise_histograms`); no counts give (0, n_regions·59)."""
    if not counts:
        return np.zeros((0, int(n_regions) * LBP_BINS), np.float32)
    h = np.stack([normalise_histograms(c, power) for c in counts])
    if scale != 1.0:
        h *= np.float32(scale)
    return h


def texture_counts(feats: Sequence[Any]) -> list[np.ndarray]:
    """The ``texture`` counts of every :class:`~dlfers.features.Features`.

    Raises
    ------
    ValueError
        Naming the first item without them (features extracted with ``texture="none"``).
    """
    out = []
    for i, f in enumerate(feats):
        if f.texture is None:
            raise ValueError(f"texture='lbp' needs the LBP counts of every face, but item {i} has none; "
                             "extract its features with a model whose texture is 'lbp'")
        out.append(f.texture)
    return out


def fit_scale(texture: np.ndarray, others: Sequence[np.ndarray]) -> float:
    """The channel's weight: the training rows' mean sum over the descriptor channels' mean row
    sum, so that under the (additive) intersection kernel each channel weighs alike.

    texture : (n, R·59) training histograms of :func:`lbp_histograms` (scale 1).
    others : each descriptor kind's (n, F) training histograms.
    """
    mass = float(np.mean([o.sum(axis=1, dtype=np.float64).mean() for o in others])) if others else 1.0
    own = float(texture.sum(axis=1, dtype=np.float64).mean()) if len(texture) else 0.0
    return mass / own if own > 0 else 1.0
