"""Faces of one frame: detection and the δ/γ crops, then each face's features and expression.

The step that :meth:`DLFERS.predict_image`, explanations and video analysis share:
frame -> gray -> face boxes -> cropped boxes, before descriptors.
"""

from __future__ import annotations

import numpy as np

from ..face.detect import DetectorSettings, FaceBox, color_frame, crop_box, detect_faces
from ..face.framing import frame_box
from ..image.read import to_gray_uint8
from .results import FaceResult, FittedModel, HasSpec
from .stages import box_features

__all__ = ["locate_faces", "classify_boxes"]


def locate_faces(model: HasSpec, frame: np.ndarray, max_faces: int | None = None, *,
                 settings: DetectorSettings | None = None) -> tuple[np.ndarray, list[FaceBox]]:
    """The gray frame and the cropped box of each face the model would classify, largest first.

    Parameters
    ----------
    frame : (H, W) gray or (H, W, 3|4) BGR(A) array; uint8, uint16 or float.
    max_faces : int or None, default=None
        Keep the largest this many (None: all).
    settings : DetectorSettings or None, default=None
        Detector settings (None: the model's; with a call's overrides, as
        :func:`dlfers.model.results.check_predict_options` returns them).
    model : HasSpec
        A model (its spec's detection and crop settings).

    Returns
    -------
    gray : (H, W) uint8.
    boxes : δ/γ-cropped boxes in frame pixels; with ``detect=False`` the whole frame's crop.

    Raises
    ------
    dlfers.image.read.ImageError
        For an array that is not a usable image.
    """
    gray = to_gray_uint8(frame)
    h, w = gray.shape
    spec = model.spec()
    if spec.get("detect"):
        boxes = detect_faces(gray, settings=spec.detector if settings is None else settings, color=color_frame(frame))
        boxes = [frame_box(b, spec.get("frame_scale"), spec.get("frame_shift"), (h, w)) for b in boxes]
    else:
        boxes = [FaceBox(0, 0, w, h)]
    if max_faces is not None:
        boxes = boxes[: int(max_faces)]
    return gray, [crop_box(b, spec.get("delta"), spec.get("gamma"), (h, w)) for b in boxes]  # Eq. 1-4


def classify_boxes(model: FittedModel, gray: np.ndarray, boxes: list[FaceBox]) -> list[FaceResult]:
    """The expression of each cropped box of ``gray`` ((H, W) uint8), in the order of ``boxes``.

    The classification half of :meth:`DLFERS.predict_image` (which calls it), also used by
    video tracking for boxes found by a region search; one :class:`FaceResult` per box.

    Parameters
    ----------
    model : FittedModel
        A fitted :class:`~dlfers.DLFERS`.
    gray : ndarray of shape (H, W), dtype uint8
        The gray frame.
    boxes : list of FaceBox
        Cropped face boxes in frame pixels.

    Returns
    -------
    list of FaceResult
        One per box, in order.
    """
    if not boxes:
        return []
    spec = model.spec()
    feats = [box_features(gray, c, spec) for c in boxes]
    labels, proba = model.predict_with_proba_features(feats)
    classes = model.classes_.tolist()
    return [FaceResult(found=True, box=f.box, label=lab, probabilities=dict(zip(classes, p.tolist())))
            for f, lab, p in zip(feats, labels.tolist(), proba)]
