"""The face frame a model was trained on, recovered from a detector's box.

Pre-cropped training faces come framed by their makers' own detector: FER2013's 48×48 faces
show more than OpenCV's cascade box (forehead, chin and some background).  A model trained
on such faces sees the same framing at prediction time when each detected box is first
scaled about its centre, and its centre moved, by the model's ``frame_scale`` and
``frame_shift`` (measured once on the training set's own faces: the median box the detector
finds in them); the δ/γ crop of Eq. 1-4 then applies to that frame as it did in training.
"""

from __future__ import annotations

from .detect import FaceBox

__all__ = ["frame_box"]


def frame_box(box: FaceBox, scale: float, shift: float, frame_shape: tuple[int, int]) -> FaceBox:
    """The training framing of a detected face box, clipped to the frame.

    Parameters
    ----------
    box : FaceBox
        A detector's face box, in frame pixels.
    scale : float
        Side of the training frame in box sides (> 0; 1: the box itself).
    shift : float
        Downward move of the frame's centre, in box heights (negative: upward).
    frame_shape : tuple of int
        (H, W) of the frame.

    Returns
    -------
    FaceBox
        ``box`` itself when ``scale == 1`` and ``shift == 0``, else the scaled, moved box
        clipped to the frame (at least 2×2 pixels), with the box's landmarks and score.
    """
    if scale == 1.0 and shift == 0.0:
        return box
    h, w = frame_shape
    cx = box.x + box.w / 2.0
    cy = box.y + box.h / 2.0 + shift * box.h
    half_w, half_h = scale * box.w / 2.0, scale * box.h / 2.0
    x1, x2 = max(0, int(round(cx - half_w))), min(w, int(round(cx + half_w)))
    y1, y2 = max(0, int(round(cy - half_h))), min(h, int(round(cy + half_h)))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return box
    return FaceBox(x1, y1, x2 - x1, y2 - y1, box.landmarks, box.score)
