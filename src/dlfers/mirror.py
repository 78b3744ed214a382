"""Mirror augmentation: horizontally flipped training faces with the same labels.

Used by :meth:`dlfers.DLFERS.fit_features` when ``mirror=True``, on the training
features it is given and nothing else, so a cross-validation fold never sees the flip of
one of its test faces.  The flips are made from :attr:`Features.face` (the preprocessed
face), so no image is read or detected again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .features import Features

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import DLFERS

__all__ = ["flip_face", "with_mirrored"]


def flip_face(face: np.ndarray) -> np.ndarray:
    """The horizontal flip of a (h, w) face, C-contiguous, same dtype."""
    return np.ascontiguousarray(face[:, ::-1])


def with_mirrored(model: DLFERS, feats: Sequence[Features], y: np.ndarray) -> tuple[list[Features], np.ndarray]:
    """``feats`` followed by the features of each face's mirror image, and ``y`` twice.

    Parameters
    ----------
    model : the model being fitted (its descriptor settings describe the flips).
    feats : training features, each with its ``face`` ((face_size, face_size) float32).
    y : (n,) labels.

    Returns
    -------
    (2n features, (2n,) labels): the originals first, then the flips in the same order.

    Raises
    ------
    ValueError
        When a feature set carries no face (e.g. built without :meth:`DLFERS.extract`).
    """
    flips: list[Features] = []
    for i, f in enumerate(feats):
        if f.face is None:
            raise ValueError(f"mirror=True needs the preprocessed face of every training item, but item {i} has "
                             "none; extract features with DLFERS.extract (which keeps Features.face)")
        flipped = flip_face(f.face)
        g: Any = model.face_features(flipped, f.box, f.found)
        g.face, g.aligned = flipped, f.aligned
        flips.append(g)
    return [*feats, *flips], np.concatenate([y, y])
