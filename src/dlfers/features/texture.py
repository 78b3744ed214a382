"""Texture channels beside the descriptors: LBP histograms of the SPOF regions, and Gabor energies.

``texture`` names them, '+'-joined ("lbp", "gabor", "lbp+gabor"; "none": the paper's descriptors only);
:mod:`dlfers.features.gabor` holds the Gabor channel, this module the LBP channel and what both share: the raw
values of a face (:func:`texture_raws`), the SVM inputs (:func:`texture_encodings`) and each channel's
weight, learned in ``fit`` (:func:`fit_scales`).

The LBP channel: uniform local binary patterns pooled over the SPOF regions.

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

from .._kernels._reference_lbp import LBP_BINS
from . import gabor
from .base import normalise_histograms
from .regions import Layout, interior_pixel_ids, parse_layout

__all__ = ["LBP_BINS", "KIND", "TEXTURE_KINDS", "DEFAULT_WEIGHTS", "parse_textures", "raw_shape", "input_width",
           "pixel_cells", "lbp_counts", "lbp_histograms", "texture_raws", "texture_counts", "texture_encodings",
           "fit_scale", "fit_scales"]

#: the LBP channel's name among the SVM inputs (beside the descriptor kinds)
KIND = "lbp"
#: the texture channels, in the order the SVM sees them after the descriptor kinds
TEXTURE_KINDS = (KIND, gabor.KIND)
#: each channel's weight relative to one descriptor kind (``texture_weight=None``): LBP weighs
#: alike; the Gabor energies carry the kernel (see the README's "Beyond the paper")
DEFAULT_WEIGHTS = {KIND: 1.0, gabor.KIND: 8.0}


def parse_textures(texture: Any) -> tuple[str, ...]:
    """``"lbp+gabor"`` -> ("lbp", "gabor") in :data:`TEXTURE_KINDS` order; "none" -> ().

    Raises ValueError naming the value and the valid channels.

    Parameters
    ----------
    texture : str
        '+'-joined channels, or "none".

    Returns
    -------
    tuple of str
        Channels in :data:`TEXTURE_KINDS` order.
    """
    names = str(texture).split("+") if isinstance(texture, str) else [repr(texture)]
    if names == ["none"]:
        return ()
    if not names or any(n not in TEXTURE_KINDS for n in names) or len(set(names)) != len(names):
        raise ValueError(f"texture must be 'none' or '+'-joined channels of {TEXTURE_KINDS}, got {texture!r}")
    return tuple(k for k in TEXTURE_KINDS if k in names)


def raw_shape(kind: str, n_regions: int) -> tuple[int, int]:
    """Shape of one face's raw values of channel ``kind``: LBP (R, 59) counts, Gabor (40, 64) energies.

    Parameters
    ----------
    kind : str
        A texture channel.
    n_regions : int
        The layout's region count.

    Returns
    -------
    (int, int)
        The shape.
    """
    return (int(n_regions), LBP_BINS) if kind == KIND else (gabor.N_FILTERS, gabor.N_CELLS)


def input_width(kind: str, n_regions: int) -> int:
    """Width of channel ``kind``'s SVM input.

    Parameters
    ----------
    kind : str
        A texture channel.
    n_regions : int
        The layout's region count.

    Returns
    -------
    int
        The width.
    """
    a, b = raw_shape(kind, n_regions)
    return a * b


def pixel_cells(layout: str | Layout, shape: tuple[int, int], source: str) -> tuple[np.ndarray, np.ndarray]:
    """The cells of one source image's interior pixels, and the regions each cell belongs to.

    A pixel belongs to the regions its centre (x + 0.5, y + 0.5) falls in, as a descriptor
    belongs to those of its support's centre (:meth:`dlfers.features.regions.Layout.assign`); a
    cell is one combination of regions, so the kernel counts each pixel once.

    Parameters
    ----------
    layout : str or Layout
        A layout string or a parsed :class:`~dlfers.features.regions.Layout`.
    shape : (int, int)
        (H, W) of the source image.
    source : {'face', 'fused'}
        The source image.

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

    ``images``: the layout's sources in :attr:`~dlfers.features.regions.Layout.sources` order (the
    validated (H, W) float32 face, then its fused image); ``k``: a kernel backend
    (:func:`dlfers._kernels.get`).

    Parameters
    ----------
    images : sequence of ndarray of shape (H, W), dtype float32
        The layout's sources, face first.
    layout : str or Layout
        A layout string or a parsed :class:`~dlfers.features.regions.Layout`.
    k : kernel namespace
        A kernel backend's functions (:func:`dlfers._kernels.get`).

    Returns
    -------
    ndarray of shape (R, 59), dtype float32
        Counts per region.
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
    ``scale`` (see :func:`dlfers.features.base.normalise_histograms`); no counts give (0, n_regions·59).

    Parameters
    ----------
    counts : sequence of ndarray of shape (R, 59)
        One :func:`lbp_counts` array per face.
    n_regions : int
        Region count R.
    power : float
        Power normalisation exponent.
    scale : float, default=1.0
        The channel's weight.

    Returns
    -------
    ndarray of shape (n, R·59), dtype float32
        SVM inputs.
    """
    if not counts:
        return np.zeros((0, int(n_regions) * LBP_BINS), np.float32)
    h = np.stack([normalise_histograms(c, power) for c in counts])
    if scale != 1.0:
        h *= np.float32(scale)
    return h


def texture_raws(textures: Sequence[str], sources: Sequence[np.ndarray], layout: str | Layout, k: Any
                 ) -> dict[str, np.ndarray]:
    """Raw values of one face per channel: ``sources`` as for :func:`lbp_counts` (the face first).

    Parameters
    ----------
    textures : sequence of str
        The channels.
    sources : sequence of ndarray of shape (H, W), dtype float32
        The face, then its fused image.
    layout : str or Layout
        A layout string or a parsed :class:`~dlfers.features.regions.Layout`.
    k : kernel namespace
        A kernel backend's functions (:func:`dlfers._kernels.get`).

    Returns
    -------
    dict of str to ndarray
        Channel -> raw values (:func:`raw_shape`).
    """
    out = {}
    for kind in textures:
        out[kind] = lbp_counts(sources, layout, k) if kind == KIND else gabor.gabor_energies(sources[0], k)
    return out


def texture_counts(feats: Sequence[Any], kind: str = KIND, n_regions: int | None = None) -> list[np.ndarray]:
    """Channel ``kind``'s raw values of every :class:`~dlfers.features.base.Features`.

    Parameters
    ----------
    feats : sequence of Features
        Extracted features.
    kind : str, default=KIND
        A texture channel.
    n_regions : int or None, default=None
        Expected region count (None: not checked).

    Returns
    -------
    list of ndarray
        One raw array per item.

    Raises
    ------
    ValueError
        Naming the first item without them (features extracted without the channel) or with
        values of another shape (another layout) than ``raw_shape(kind, n_regions)``.
    """
    out = []
    for i, f in enumerate(feats):
        raw = f.texture.get(kind)
        if raw is None:
            raise ValueError(f"texture '{kind}' needs its values of every face, but item {i} has none; "
                             f"extract its features with a model whose texture includes '{kind}'")
        if n_regions is not None and raw.shape != raw_shape(kind, n_regions):
            raise ValueError(f"item {i}'s '{kind}' texture values have shape {raw.shape}, the model needs "
                             f"{raw_shape(kind, n_regions)} (features of another layout?)")
        out.append(raw)
    return out


def texture_encodings(textures: Sequence[str], feats: Sequence[Any], n_regions: int, power: float,
                      scales: dict[str, float]) -> dict[str, np.ndarray]:
    """Channel -> (n, width) float32 SVM inputs of every texture channel, times its learned scale (1: none).

    Parameters
    ----------
    textures : sequence of str
        The channels.
    feats : sequence of Features
        Extracted features.
    n_regions : int
        The layout's region count.
    power : float
        Power normalisation exponent.
    scales : dict of str to float
        Channel -> learned scale (missing: 1).

    Returns
    -------
    dict of str to ndarray of shape (n, width), dtype float32
        SVM inputs.
    """
    out = {}
    for kind in textures:
        raws = texture_counts(feats, kind, n_regions)
        s = float(scales.get(kind, 1.0))
        out[kind] = (lbp_histograms(raws, n_regions, power, s) if kind == KIND
                     else gabor.gabor_histograms(raws, power, s))
    return out


def fit_scale(texture: np.ndarray, others: Sequence[np.ndarray]) -> float:
    """The channel's weight: the training rows' mean sum over the descriptor channels' mean row
    sum, so that under the (additive) intersection kernel each channel weighs alike.

    texture : (n, R·59) training histograms of :func:`lbp_histograms` (scale 1).
    others : each descriptor kind's (n, F) training histograms.

    Parameters
    ----------
    texture : ndarray of shape (n, F_t)
        The channel's training inputs at scale 1.
    others : sequence of ndarray of shape (n, F)
        Each descriptor kind's training histograms.

    Returns
    -------
    float
        The channel's scale.
    """
    mass = float(np.mean([o.sum(axis=1, dtype=np.float64).mean() for o in others])) if others else 1.0
    own = float(texture.sum(axis=1, dtype=np.float64).mean()) if texture.shape[0] else 0.0
    return mass / own if own > 0 else 1.0


def fit_scales(encodings: dict[str, np.ndarray], kinds: Sequence[str], textures: Sequence[str],
               weight: float | None) -> dict[str, float]:
    """Each texture channel's scale: :func:`fit_scale` (alike with one descriptor kind) times ``weight``
    (None: the channel's :data:`DEFAULT_WEIGHTS`), from the training encodings (scale 1).

    Parameters
    ----------
    encodings : dict of str to ndarray
        Channel -> (n, F) training inputs at scale 1.
    kinds : sequence of str
        The descriptor kinds.
    textures : sequence of str
        The texture channels.
    weight : float or None
        Weight against one descriptor kind (None: :data:`DEFAULT_WEIGHTS`).

    Returns
    -------
    dict of str to float
        Texture channel -> scale.
    """
    others = [encodings[k] for k in kinds]
    return {t: fit_scale(encodings[t], others) * float(DEFAULT_WEIGHTS[t] if weight is None else weight)
            for t in textures}
