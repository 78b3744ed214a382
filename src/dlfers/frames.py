"""Faces of one frame: detection (with per-call detector overrides) and the δ/γ crops.

The step that :meth:`DLFERS.predict_image`, explanations and video analysis share:
frame -> gray -> face boxes -> cropped boxes, before descriptors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .datasets import to_gray_uint8
from .face import DetectorSettings, FaceBox, crop_box, detect_faces, detector_settings
from .inference import FaceResult

if TYPE_CHECKING:  # pragma: no cover
    from .features import Features
    from .pipeline import DLFERS

__all__ = ["frame_settings", "locate_faces", "crop_boxes", "box_features", "classify_boxes"]


def frame_settings(model: DLFERS, detect_size: int | None = None, min_face: float | None = None,
                   detect_scale: float | None = None) -> DetectorSettings:
    """The model's detector settings with this call's overrides (None: the model's own).

    Raises ValueError for settings out of range.
    """
    own = model.spec().detector
    if (detect_size, min_face, detect_scale) == (None, None, None):
        return own
    return detector_settings(own.detector, own.detect_size if detect_size is None else detect_size,
                             own.min_face if min_face is None else min_face,
                             own.scale_factor if detect_scale is None else detect_scale)


def crop_boxes(model: DLFERS, boxes: list[FaceBox], shape: tuple[int, int]) -> list[FaceBox]:
    """The δ/γ crop (Eq. 1-4) of each detected box, clipped to a frame of ``shape`` (h, w)."""
    return [crop_box(b, model.delta, model.gamma, shape) for b in boxes]


def locate_faces(model: DLFERS, frame: np.ndarray, max_faces: int | None = None, *,
                 settings: DetectorSettings | None = None) -> tuple[np.ndarray, list[FaceBox]]:
    """The gray frame and the cropped box of each face the model would classify, largest first.

    Parameters
    ----------
    frame : (H, W) gray or (H, W, 3|4) BGR(A) array; uint8, uint16 or float.
    max_faces : keep the largest this many (None: all).
    settings : detector settings (None: the model's; see :func:`frame_settings`).

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
    return gray, crop_boxes(model, boxes, (h, w))


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
