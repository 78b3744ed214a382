"""Faces of one frame: detection and the δ/γ crops, then each face's features and expression.

The step that :meth:`DLFERS.predict_image`, explanations and video analysis share:
frame -> gray -> face boxes -> cropped boxes, before descriptors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .datasets import to_gray_uint8
from .face import DetectorSettings, FaceBox, crop_box, detect_faces
from .inference import FaceResult

if TYPE_CHECKING:  # pragma: no cover
    from .features import Features
    from .pipeline import DLFERS

__all__ = ["locate_faces", "box_features", "classify_boxes"]


def locate_faces(model: DLFERS, frame: np.ndarray, max_faces: int | None = None, *,
                 settings: DetectorSettings | None = None) -> tuple[np.ndarray, list[FaceBox]]:
    """The gray frame and the cropped box of each face the model would classify, largest first.

    Parameters
    ----------
    frame : (H, W) gray or (H, W, 3|4) BGR(A) array; uint8, uint16 or float.
    max_faces : keep the largest this many (None: all).
    settings : detector settings (None: the model's; with a call's overrides, as
        :func:`dlfers.inference.check_predict_options` returns them).

    Returns
    -------
    gray : (H, W) uint8.
    boxes : δ/γ-cropped boxes in frame pixels; with ``detect=False`` the whole frame's crop.

    Raises
    ------
    dlfers.datasets.ImageError
        For an array that is not a usable image.
    """
    gray = to_gray_uint8(frame)
    h, w = gray.shape
    if model.detect:
        boxes = detect_faces(gray, settings=model.spec().detector if settings is None else settings)
    else:
        boxes = [FaceBox(0, 0, w, h)]
    if max_faces is not None:
        boxes = boxes[: int(max_faces)]
    return gray, [crop_box(b, model.delta, model.gamma, (h, w)) for b in boxes]  # Eq. 1-4


def box_features(model: DLFERS, gray: np.ndarray, box: FaceBox) -> Features:
    """:class:`Features` (with ``face`` and ``aligned``) of the cropped ``box`` of ``gray``: the
    model's eye alignment when it has one, resize, LL subband, descriptors."""
    from .align import face_crop

    crop, aligned = face_crop(gray, box, bool(model.align))
    face = model.reduce_face(crop)
    feats = model.face_features(face, box, True)
    feats.face, feats.aligned = face, aligned
    return feats


def classify_boxes(model: DLFERS, gray: np.ndarray, boxes: list[FaceBox]) -> list[FaceResult]:
    """The expression of each cropped box of ``gray`` ((H, W) uint8), in the order of ``boxes``.

    The classification half of :meth:`DLFERS.predict_image` (which calls it), also used by
    video tracking for boxes found by a region search; one :class:`FaceResult` per box.
    """
    if not boxes:
        return []
    feats = [box_features(model, gray, c) for c in boxes]
    labels, proba = model.predict_with_proba_features(feats)
    classes = model.classes_.tolist()
    return [FaceResult(found=True, box=f.box, label=lab, probabilities=dict(zip(classes, p.tolist())))
            for f, lab, p in zip(feats, labels.tolist(), proba)]
