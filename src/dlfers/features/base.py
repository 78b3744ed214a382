"""What the descriptor stage hands to the codebook stage: :class:`Features` of one face."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..face.detect import FaceBox

__all__ = ["Features", "as_images", "normalise_histograms"]


@dataclass
class Features:
    """Dense descriptors of one face, ready for encoding.

    Attributes
    ----------
    descriptors : kind -> (N, dim) float32, face points first, then fused-image points.
    regions : (N, L) int32 region ids (shared by every kind: same grid).
    found : bool
        Whether a face was detected.
    box : FaceBox or None
        The cropped face box in frame pixels.
    face : ndarray of shape (face_size, face_size), dtype float32, or None, default=None
        The preprocessed face the descriptors came from.
    aligned : bool or None, default=None
        Whether the face was registered by its eyes (None: alignment off; False:
        eyes not found, the unaligned crop was used).
    texture : dict of str to ndarray, default={}
        Texture channel -> its raw values (:mod:`dlfers.features.texture`): "lbp" (R, 59) float32
        uniform-LBP counts per SPOF region, "gabor" (40, 64) float32 Gabor energies per filter and
        cell; empty when the model has no texture channel.
    """

    descriptors: dict[str, np.ndarray]
    regions: np.ndarray
    found: bool
    box: FaceBox | None
    face: np.ndarray | None = None
    aligned: bool | None = None
    texture: dict[str, np.ndarray] = field(default_factory=dict)


def as_images(X: Any) -> list[np.ndarray]:
    """Frames as a list of arrays: a list/tuple of arrays or an (n, H, W[, C]) array.

    Parameters
    ----------
    X : sequence of ndarray or ndarray of shape (n, H, W[, C])
        Frames.

    Returns
    -------
    list of ndarray
        One array per frame.
    """
    if isinstance(X, np.ndarray):
        if X.ndim not in (3, 4):
            raise ValueError(
                f"expected a sequence of images or an (n, H, W[, C]) array, got an array of shape {X.shape}"
            )
        return list(X)
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
        raise ValueError(f"expected a sequence of images, got {type(X).__name__}")
    return [np.asarray(x) for x in X]


def normalise_histograms(hist: np.ndarray, power: float = 0.5) -> np.ndarray:
    """Per-region L1 normalisation, then a power law (0.5: Hellinger), flattened.

    Parameters
    ----------
    hist : (R, K) counts.
    power : float, default=0.5
        Exponent of the power law (0.5: Hellinger, 1: none).

    Returns
    -------
    (R·K,) float32; each region's block sums to 1 before the power (an empty region is 0).
    """
    hist = np.asarray(hist, np.float32)
    s = hist.sum(axis=1, keepdims=True, dtype=np.float32)
    h: np.ndarray = hist / np.where(s > 0, s, np.float32(1))  # an empty region's zeros stay 0
    if power == 0.5:
        np.sqrt(h, out=h)  # the same bits as np.power(h, 0.5), in half the time
    elif power != 1.0:
        np.power(h, power, out=h, dtype=np.float32)
    return h.reshape(-1)
