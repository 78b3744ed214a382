"""Mirror augmentation: horizontally flipped training faces with the same labels.

Used by :func:`dlfers.model.stages.mirrored` (:meth:`dlfers.DLFERS.fit_features`) when ``mirror=True``, on the training
features it is given and nothing else, so a cross-validation fold never sees the flip of
one of its test faces.  The flips are made from :attr:`Features.face` (the preprocessed
face), so no image is read or detected again.
"""

from __future__ import annotations

import numpy as np

__all__ = ["flip_face"]


def flip_face(face: np.ndarray) -> np.ndarray:
    """The horizontal flip of a (h, w) face, C-contiguous, same dtype.

    Parameters
    ----------
    face : ndarray of shape (h, w)
        A face.

    Returns
    -------
    ndarray of shape (h, w)
        Its mirror image, same dtype.
    """
    return np.ascontiguousarray(face[:, ::-1])
