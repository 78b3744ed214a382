"""TISF and TIPM: dense gradient-orientation descriptors (paper Sec. 3.2, Eq. 5-8).

TISF is a SIFT-like 128-d descriptor: 4x4 cells x 8 signed orientation bins.
TIPM is a 64-d descriptor: 4x4 cells x 4 unsigned orientation bins (orientation
modulo π, so it does not depend on the contrast polarity of an edge).  Both are
computed on a dense grid with a stride (the paper: "for each second pixel").

The computation is one pass over the gradient field into blocks of g x g pixels
(g = gcd(step, cell)), then one gather of 4x4 cells per grid point: gradients are
never recomputed per keypoint.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .. import _kernels

__all__ = ["KINDS", "KIND_SCALE", "PAPER_KINDS", "DescriptorSpec", "dense_descriptors", "grid_shape", "gaussian_taps"]

#: descriptor kinds: name -> (orientation bins, signed orientation).  "tisf2" and "tipm2"
#: are TISF and TIPM at the second scale of a multi-scale model (see :data:`KIND_SCALE`).
KINDS: dict[str, tuple[int, bool]] = {"tisf": (8, True), "tipm": (4, False), "tisf2": (8, True), "tipm2": (4, False)}
#: the paper's kinds (cell 4, the model's σ)
PAPER_KINDS: tuple[str, ...] = ("tisf", "tipm")
#: kind -> scale factor of its cell side (4 pixels) and of σ in a model (1 when absent):
#: the second-scale kinds see 8-pixel cells (a 32-pixel support) smoothed with 2σ, at the
#: same grid centres as the first scale (see :mod:`dlfers.features.multiscale`)
KIND_SCALE: dict[str, int] = {"tisf2": 2, "tipm2": 2}

MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class DescriptorSpec:
    """Geometry of a dense descriptor grid.

    Parameters
    ----------
    kind : str, default='tisf'
        A key of :data:`KINDS`.
    step : int, default=2
        Grid stride in pixels.
    cell : int, default=4
        Cell side in pixels; a descriptor spans 4·cell pixels.
    sigma : float, default=1.0
        σ of the Gaussian smoothing before the gradients (0: none).
    clip : float, default=0.2
        SIFT clipping threshold between the two L2 normalisations.
    """

    kind: str = "tisf"
    step: int = 2
    cell: int = 4
    sigma: float = 1.0
    clip: float = 0.2

    @property
    def nbins(self) -> int:
        return KINDS[self.kind][0]

    @property
    def dim(self) -> int:
        return 16 * self.nbins

    @property
    def support(self) -> int:
        return 4 * self.cell


def gaussian_taps(sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian (Eq. 6) of radius ceil(3σ): (2r+1,) float32.

    Parameters
    ----------
    sigma : float
        σ > 0.

    Returns
    -------
    ndarray of shape (2r+1,), dtype float32
        The taps, summing to 1.
    """
    r = max(1, int(math.ceil(3.0 * sigma)))
    a = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-(a * a) / (2.0 * sigma * sigma))
    taps: np.ndarray = (g / g.sum()).astype(np.float32)
    return taps


@functools.lru_cache(maxsize=16)
def _taps(sigma: float) -> np.ndarray:
    """:func:`gaussian_taps`, computed once per σ (read-only: the cached array is shared)."""
    taps = gaussian_taps(sigma)
    taps.setflags(write=False)
    return taps


def grid_shape(height: int, width: int, step: int = 2, cell: int = 4) -> tuple[int, int]:
    """Number of grid rows and columns (NY, NX) of descriptors on an image.

    Parameters
    ----------
    height : int
        Image height in pixels.
    width : int
        Image width in pixels.
    step : int, default=2
        Grid stride in pixels.
    cell : int, default=4
        Cell side in pixels.

    Returns
    -------
    (int, int)
        (NY, NX); 0 where no descriptor fits.
    """
    span = 4 * cell
    if height < span or width < span:
        return 0, 0
    return (height - span) // step + 1, (width - span) // step + 1


def _check_spec(kind: str, step: int, cell: int, sigma: float, clip: float) -> DescriptorSpec:
    if kind not in KINDS:
        raise ValueError(f"unknown descriptor kind {kind!r}; expected one of {sorted(KINDS)}")
    for name, v in (("step", step), ("cell", cell)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not (isinstance(sigma, (int, float, np.floating)) and math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    if not (isinstance(clip, (int, float, np.floating)) and 0 < clip <= 1):
        raise ValueError(f"clip must be in (0, 1], got {clip!r}")
    return DescriptorSpec(kind, int(step), int(cell), float(sigma), float(clip))


def as_image(face: np.ndarray, min_size: int = 1) -> np.ndarray:
    """Validate a 2-D image and return it as C-contiguous float32.

    Parameters
    ----------
    face : ndarray of shape (H, W)
        uint8, uint16 or float image.
    min_size : int, default=1
        Smallest allowed side in pixels.

    Returns
    -------
    ndarray of shape (H, W), dtype float32
        C-contiguous.

    Raises
    ------
    ValueError
        Not an array, not 2-D, empty, smaller than ``min_size``, too large,
        an unsupported dtype, or non-finite values.
    """
    if not isinstance(face, np.ndarray):
        raise ValueError(f"expected a 2-D numpy array, got {type(face).__name__}")
    if face.ndim != 2:
        raise ValueError(
            f"expected a 2-D (gray) image, got an array of shape {face.shape}; "
            "convert colour images to gray first (e.g. cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))"
        )
    if face.dtype == np.bool_ or face.dtype.kind not in "uif":
        raise ValueError(f"unsupported dtype {face.dtype}; expected uint8, uint16 or float")
    h, w = face.shape
    if h * w > MAX_PIXELS:
        raise ValueError(f"image of {h}x{w} pixels is larger than the limit of {MAX_PIXELS} pixels")
    if h < min_size or w < min_size:
        raise ValueError(f"image of {h}x{w} pixels is too small: need at least {min_size}x{min_size}")
    out = np.require(face, np.float32, "C")
    if face.dtype.kind == "f" and out.size and not (np.isfinite(out.min()) and np.isfinite(out.max())):
        raise ValueError("image contains NaN or infinite values")
    return out


def dense_descriptors(
    face: np.ndarray,
    kind: str = "tisf",
    step: int = 2,
    *,
    cell: int = 4,
    sigma: float = 1.0,
    clip: float = 0.2,
    backend: str | None = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Dense TISF (128-d) or TIPM (64-d) descriptors of a gray face.

    Parameters
    ----------
    face : (H, W) uint8, uint16 or float array, H, W >= 4·cell.
    kind : {'tisf', 'tipm', 'tisf2', 'tipm2'}, default='tisf'
        "tisf" (4x4 cells x 8 signed bins) or "tipm" (4x4 cells x 4 unsigned bins).
    step : int, default=2
        Grid stride in pixels (the paper uses 2).
    cell : int, default=4
        Cell side in pixels; a descriptor spans 4·cell pixels.
    sigma : float, default=1.0
        Σ of the Gaussian smoothing before the gradients (Eq. 5-6); 0 disables it.
    clip : float, default=0.2
        SIFT clipping threshold applied between two L2 normalisations.
    backend : str or None, default='auto'
        "auto", "cython", "numba" or "numpy".

    Returns
    -------
    points : (N, 2) float32, (x, y) centres of the descriptors' support.
    descriptors : (N, 128) or (N, 64) float32, each of unit L2 norm or all zero.

    Raises
    ------
    ValueError
        For an invalid image or parameter, before any kernel runs.
    """
    spec = _check_spec(kind, step, cell, sigma, clip)
    img = as_image(face, min_size=spec.support)
    return compute(img, spec, _kernels.get(backend))


def smooth(img: np.ndarray, sigma: float, k: object) -> np.ndarray:
    """Gaussian smoothing (Eq. 5-6) of a validated (H, W) float32 image; ``img`` itself for σ = 0.

    Parameters
    ----------
    img : ndarray of shape (H, W), dtype float32
        A validated image.
    sigma : float
        σ of the Gaussian (0: none).
    k : kernel namespace
        A kernel backend's functions (:func:`dlfers._kernels.get`).

    Returns
    -------
    ndarray of shape (H, W), dtype float32
        The smoothed image.
    """
    if sigma <= 0:
        return img
    sm = np.empty_like(img)
    k.smooth(img, _taps(sigma), sm)  # type: ignore[attr-defined]
    return sm


def compute(
    img: np.ndarray,
    spec: DescriptorSpec,
    k: object,
    smoothed: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Descriptors of a validated (H, W) float32 image with kernel namespace ``k``.

    ``smoothed``: ``smooth(img, spec.sigma, k)`` if the caller already has it (TISF and
    TIPM of one image share it).  ``out``: a C-contiguous (N, dim) float32 array to write
    the descriptors into (a slice of a larger one: no concatenation afterwards).

    Parameters
    ----------
    img : ndarray of shape (H, W), dtype float32
        A validated image.
    spec : DescriptorSpec
        The grid and kind.
    k : kernel namespace
        A kernel backend's functions (:func:`dlfers._kernels.get`).
    smoothed : ndarray of shape (H, W), dtype float32 or None, default=None
        ``smooth(img, spec.sigma, k)`` if the caller has it (TISF and TIPM of one image share
        it).
    out : ndarray of shape (N, dim), dtype float32 or None, default=None
        C-contiguous rows to write the descriptors into (None: a new array).

    Returns
    -------
    points : ndarray of shape (N, 2), dtype float32
        (x, y) support centres.
    descriptors : ndarray of shape (N, dim), dtype float32
        One row per grid point, row-major (``out`` when given).
    """
    h, w = img.shape
    sm = smooth(img, spec.sigma, k) if smoothed is None else smoothed
    g = math.gcd(spec.step, spec.cell)
    blocks = np.empty((h // g, w // g, spec.nbins), np.float32)
    k.orientation_blocks(sm, spec.nbins, KINDS[spec.kind][1], g, blocks)  # type: ignore[attr-defined]
    ny, nx = grid_shape(h, w, spec.step, spec.cell)
    desc = np.empty((ny * nx, spec.dim), np.float32) if out is None else out
    if desc.shape != (ny * nx, spec.dim) or desc.dtype != np.float32 or not desc.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous ({ny * nx}, {spec.dim}) float32 array")
    k.assemble_descriptors(blocks, spec.cell // g, spec.step // g, spec.clip, desc)  # type: ignore[attr-defined]
    return grid_points(ny, nx, spec), desc


def grid_points(ny: int, nx: int, spec: DescriptorSpec) -> np.ndarray:
    """(NY·NX, 2) float32 (x, y) support centres, row-major like the descriptors.

    Parameters
    ----------
    ny : int
        Grid rows.
    nx : int
        Grid columns.
    spec : DescriptorSpec
        The grid.

    Returns
    -------
    ndarray of shape (ny·nx, 2), dtype float32
        (x, y) support centres.
    """
    half = (spec.support - 1) / 2.0
    ys = np.arange(ny, dtype=np.float32) * spec.step + half
    xs = np.arange(nx, dtype=np.float32) * spec.step + half
    points = np.empty((ny, nx, 2), np.float32)
    points[:, :, 0] = xs[None, :]
    points[:, :, 1] = ys[:, None]
    return points.reshape(ny * nx, 2)
