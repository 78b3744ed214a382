"""SPOF region layouts (paper Sec. 3.2, Table 2): which descriptors pool into which histogram.

A layout is a '+'-joined list of level names (e.g. ``"whole+halves+grid4+fused"``).
Each level is a set of rectangles in fractions of an image; a descriptor belongs to
the rectangle that holds its centre.  Face levels pool descriptors of the face;
fused levels pool descriptors of the *fused image*: the eye block (upper part) stacked
over the mouth block (lower part), resized to the face size.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .descriptors import DescriptorSpec, grid_points, grid_shape

__all__ = ["FACE_LEVELS", "FUSED_LEVELS", "EYE_BLOCK", "MOUTH_BLOCK", "Layout", "parse_layout", "fused_image",
           "region_ids", "grid_cell_ids", "source_rows"]

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in fractions of the image


def _grid(n: int, x0: float = 0.0, y0: float = 0.0, x1: float = 1.0, y1: float = 1.0) -> list[Rect]:
    xs = np.linspace(x0, x1, n + 1)
    ys = np.linspace(y0, y1, n + 1)
    return [(float(xs[j]), float(ys[i]), float(xs[j + 1]), float(ys[i + 1])) for i in range(n) for j in range(n)]


#: eye block (upper part of the face) and mouth block (lower part), fractions of the cropped face
EYE_BLOCK: Rect = (0.0, 0.0, 1.0, 0.45)
MOUTH_BLOCK: Rect = (0.15, 0.6, 0.85, 1.0)

#: levels over the face: "patches 1, 2, 16, 4 (upper part), 4 (lower part)" of Table 2, and more
FACE_LEVELS: dict[str, list[Rect]] = {
    "whole": [(0.0, 0.0, 1.0, 1.0)],
    "halves": [(0.0, 0.0, 1.0, 0.5), (0.0, 0.5, 1.0, 1.0)],
    "grid2": _grid(2),
    "grid3": _grid(3),
    "grid4": _grid(4),
    "upper4": _grid(2, 0.0, 0.0, 1.0, 0.5),
    "lower4": _grid(2, 0.0, 0.5, 1.0, 1.0),
    "eyes": [EYE_BLOCK],
    "mouth": [MOUTH_BLOCK],
}
#: levels over the fused eyes+mouth image (eye block on top, mouth block below)
FUSED_LEVELS: dict[str, list[Rect]] = {
    "fused": [(0.0, 0.0, 1.0, 1.0)],
    "fused2": [(0.0, 0.0, 1.0, 0.5), (0.0, 0.5, 1.0, 1.0)],
    "fused4": _grid(2),
    "fused16": _grid(4),
}


@dataclass(frozen=True)
class Layout:
    """A parsed layout: face levels, fused-image levels, and the region count.

    Parameters
    ----------
    face : tuple of str
        Level names on the face.
    fused : tuple of str
        Level names on the fused eyes+mouth image.
    """

    face: tuple[str, ...]
    fused: tuple[str, ...]

    @property
    def n_regions(self) -> int:
        return sum(len(FACE_LEVELS[n]) for n in self.face) + sum(len(FUSED_LEVELS[n]) for n in self.fused)

    @property
    def name(self) -> str:
        return "+".join(self.face + self.fused)

    @property
    def sources(self) -> tuple[str, ...]:
        """The images the layout pools: "face", then "fused", those it has levels on."""
        return (("face",) if self.face else ()) + (("fused",) if self.fused else ())

    def assign(self, points: np.ndarray, size: tuple[int, int], source: str) -> np.ndarray:
        """Region ids of points (N, 2) (x, y) on an image of ``size`` (H, W) for a source.

        Parameters
        ----------
        points : ndarray of shape (N, 2)
            (x, y) positions.
        size : (int, int)
            (H, W) of the source image.
        source : {'face', 'fused'}
            The source image.

        Returns
        -------
        (N, L) int32: the global region id at each of the source's L levels, or -1.
        Face regions are numbered first, then fused ones.
        """
        levels = self.face if source == "face" else self.fused
        table = FACE_LEVELS if source == "face" else FUSED_LEVELS
        offset = 0 if source == "face" else sum(len(FACE_LEVELS[n]) for n in self.face)
        h, w = size
        fx = points[:, 0] / w
        fy = points[:, 1] / h
        out = np.full((points.shape[0], len(levels)), -1, np.int32)
        for li, name in enumerate(levels):
            for ri, (x0, y0, x1, y1) in enumerate(table[name]):
                inside = (fx >= x0) & (fx < x1) & (fy >= y0) & (fy < y1) & (out[:, li] < 0)
                out[inside, li] = offset + ri
            offset += len(table[name])
        return out


def parse_layout(spec: str | Layout) -> Layout:
    """Parse ``"whole+halves+grid4+fused"`` into a :class:`Layout`.

    Parameters
    ----------
    spec : str or Layout
        '+'-joined level names (a Layout is returned as is).

    Returns
    -------
    Layout
        The parsed layout.

    Raises
    ------
    ValueError
        An empty spec or an unknown level name (the message lists the known ones).
    """
    if isinstance(spec, Layout):
        return spec
    return _parse_layout(str(spec))


@functools.lru_cache(maxsize=64)
def _parse_layout(spec: str) -> Layout:
    names = [s.strip() for s in spec.split("+") if s.strip()]
    if not names:
        raise ValueError("empty layout; name at least one level, e.g. 'whole'")
    face, fused = [], []
    for n in names:
        if n in FACE_LEVELS:
            face.append(n)
        elif n in FUSED_LEVELS:
            fused.append(n)
        else:
            known = sorted(FACE_LEVELS) + sorted(FUSED_LEVELS)
            raise ValueError(f"unknown layout level {n!r}; known levels: {', '.join(known)}")
    if len(set(names)) != len(names):
        raise ValueError(f"layout {spec!r} names a level twice")
    return Layout(tuple(face), tuple(fused))


def region_ids(layout: str | Layout, shape: tuple[int, int], step: int) -> np.ndarray:
    """Region ids of the dense grid points of a face of ``shape`` (H, W) for ``layout``.

    Rows are the face grid's points (row-major, as the descriptors), then the fused
    image's (same shape, same grid), for the sources the layout has levels on.

    Parameters
    ----------
    layout : str or Layout
        A layout string or a parsed :class:`Layout`.
    shape : (int, int)
        (H, W) of the face.
    step : int
        Grid stride in pixels.

    Returns
    -------
    (N, L) int32, read-only: the region id at each level, -1 where a point lies in no
    region of a level; L is the deeper source's level count (the other is padded with -1).
    The ids depend only on the layout, the shape and the step, so one array per
    configuration is shared by every face.
    """
    return _region_ids(parse_layout(layout), (int(shape[0]), int(shape[1])), int(step))


@functools.lru_cache(maxsize=32)
def _region_ids(lay: Layout, shape: tuple[int, int], step: int) -> np.ndarray:

    nlev = max(len(lay.face), len(lay.fused))
    ny, nx = grid_shape(shape[0], shape[1], step)
    pts = grid_points(ny, nx, DescriptorSpec("tisf", step))  # the fused image has the face's shape
    parts = []
    for source in lay.sources:
        r = lay.assign(pts, shape, source)
        if r.shape[1] < nlev:
            r = np.hstack([r, np.full((r.shape[0], nlev - r.shape[1]), -1, np.int32)])
        parts.append(r)
    out = np.ascontiguousarray(np.concatenate(parts), dtype=np.int32)
    out.setflags(write=False)
    return out


def interior_pixel_ids(layout: str | Layout, shape: tuple[int, int], source: str) -> np.ndarray:
    """Region ids ((H-2)·(W-2), L) int32 of the interior pixels (row-major) of one source image of
    ``shape``: the regions each pixel's centre (x + 0.5, y + 0.5) falls in, -1 where none
    (for per-pixel histograms, :mod:`dlfers.features.texture`).

    Parameters
    ----------
    layout : str or Layout
        A layout string or a parsed :class:`Layout`.
    shape : (int, int)
        (H, W) of the source image.
    source : {'face', 'fused'}
        The source image.

    Returns
    -------
    ndarray of shape ((H-2)·(W-2), L), dtype int32
        Region ids, -1 where none.
    """
    h, w = int(shape[0]), int(shape[1])
    ys, xs = np.mgrid[1 : h - 1, 1 : w - 1]
    points = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
    return parse_layout(layout).assign(points, (h, w), source)


def grid_cell_ids(layout: str | Layout, n: int, source: str = "face") -> np.ndarray:
    """Region ids (n², L) int32 of the cells of an n×n grid over one source image (row-major): the regions
    each cell's centre falls in, -1 where none (for the Gabor channel's cells, :mod:`dlfers.model.evidence`).

    Parameters
    ----------
    layout : str or Layout
        A layout string or a parsed :class:`Layout`.
    n : int
        Cells per side.
    source : str, default='face'
        The source image, "face" or "fused".

    Returns
    -------
    ndarray of shape (n², L), dtype int32
        Region ids, -1 where none.
    """
    c = np.arange(n) + 0.5
    points = np.stack([np.tile(c, n), np.repeat(c, n)], axis=1)  # (x, y), row-major
    return parse_layout(layout).assign(points, (n, n), source)


def source_rows(layout: str | Layout, n_grid: int) -> slice:
    """Rows of face+fused descriptors (face grid first, ``n_grid`` points each) that ``layout`` uses.

    Parameters
    ----------
    layout : str or Layout
        A layout string or a parsed :class:`Layout`.
    n_grid : int
        Grid points per source image.

    Returns
    -------
    slice
        The rows the layout uses.
    """
    lay = parse_layout(layout)
    return slice(0 if lay.face else n_grid, 2 * n_grid if lay.fused else n_grid)


def _block(face: np.ndarray, rect: Rect) -> np.ndarray:
    h, w = face.shape
    x0, y0, x1, y1 = rect
    return face[int(round(y0 * h)) : int(round(y1 * h)), int(round(x0 * w)) : int(round(x1 * w))]


def fused_image(face: np.ndarray) -> np.ndarray:
    """The fused eyes+mouth image: eye block over mouth block, (H, W) like ``face``.

    Parameters
    ----------
    face : (H, W) float32 face.

    Returns
    -------
    (H, W) float32: rows [0, H/2) the eye block, rows [H/2, H) the mouth block,
    each resized (bilinear) to (H/2, W).
    """
    import cv2

    h, w = face.shape
    top = h // 2
    eyes = cv2.resize(_block(face, EYE_BLOCK), (w, top), interpolation=cv2.INTER_LINEAR)
    mouth = cv2.resize(_block(face, MOUTH_BLOCK), (w, h - top), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(np.vstack([eyes, mouth]), dtype=np.float32)
