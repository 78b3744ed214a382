"""Face detection and the paper's δ/γ crop (Sec. 3.1, Eq. 1-4).

The detector is OpenCV's frontal-face Haar cascade run on a copy of the frame
scaled down to ``detect_size`` pixels (the largest face wins).  The detected box
(x, y, w, h) is then cropped by the horizontal factor δ on the left and the right
and the vertical factor γ at the top, as Eq. 1-4 move the box corners inwards:

    x1 = x + ⌊δ·w⌋,  x2 = x + w − ⌊δ·w⌋,  y1 = y + ⌊γ·h⌋,  y2 = y + h.

The paper's presets: scaling factor 1 (δ=0.10, γ=0.7), 2 (δ=0.12, γ=0.15),
3 (δ=0.15, γ=0.15); "face" is the detected box with no further crop and "scaled"
the whole frame.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["CROP_PRESETS", "NoFaceError", "FaceBox", "detect_faces", "check_detector", "crop_box", "crop_face"]

#: name -> (detect, delta, gamma), as Table 1 of the paper
CROP_PRESETS: dict[str, tuple[bool, float, float]] = {
    "scaled": (False, 0.0, 0.0),
    "face": (True, 0.0, 0.0),
    "factor1": (True, 0.10, 0.7),
    "factor2": (True, 0.12, 0.15),
    "factor3": (True, 0.15, 0.15),
}


class NoFaceError(ValueError):
    """No face was found in a frame (and the caller asked for an error)."""


@dataclass(frozen=True)
class FaceBox:
    """A face box in frame pixels: top-left (x, y), width and height."""

    x: int
    y: int
    w: int
    h: int

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)


_local = threading.local()


def _cascade() -> object:
    # CascadeClassifier objects are not safe to share between threads: one per thread.
    c = getattr(_local, "cascade", None)
    if c is None:
        import cv2

        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        c = cv2.CascadeClassifier(path)
        if c.empty():
            raise RuntimeError(f"cannot load the OpenCV face cascade {path}")
        _local.cascade = c
    return c


def detect_faces(
    gray: np.ndarray, detect_size: int = 160, min_face: float = 0.2, scale_factor: float = 1.1
) -> list[FaceBox]:
    """Faces in a gray uint8 frame, largest first.

    Parameters
    ----------
    gray : (H, W) uint8.
    detect_size : the frame is scaled so that its longer side is at most this many
        pixels before detection (speed); boxes are returned in frame pixels.  The
        cascade's window is 24 pixels, so faces smaller than ``24 / detect_size`` of
        the longer side are not found.
    min_face : smallest face side as a fraction of the scaled frame's shorter side.
    scale_factor : step between the cascade's search scales (OpenCV's ``scaleFactor``);
        larger is faster and places boxes more coarsely.
    """
    check_detector(detect_size, min_face, scale_factor)
    import cv2

    h, w = gray.shape
    s = min(1.0, detect_size / max(h, w))
    if s < 1:
        small = cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    else:
        small = gray
    m = max(12, int(min_face * min(small.shape)))
    found = _cascade().detectMultiScale(small, scaleFactor=float(scale_factor), minNeighbors=4, minSize=(m, m))  # type: ignore[attr-defined]
    boxes = [
        FaceBox(int(round(x / s)), int(round(y / s)), int(round(bw / s)), int(round(bh / s)))
        for x, y, bw, bh in found
    ]
    boxes.sort(key=lambda b: b.w * b.h, reverse=True)
    return boxes


def check_detector(detect_size: int, min_face: float, scale_factor: float) -> None:
    """Raise ValueError unless detect_size >= 24, 0 <= min_face <= 1 and scale_factor > 1."""
    if not isinstance(detect_size, (int, np.integer)) or detect_size < 24:
        raise ValueError(f"detect_size must be an integer >= 24 (the cascade's window), got {detect_size!r}")
    if not (0.0 <= float(min_face) <= 1.0):
        raise ValueError(f"min_face must be in [0, 1], got {min_face!r}")
    if not (1.0 < float(scale_factor) <= 2.0):
        raise ValueError(f"scale_factor must be in (1, 2], got {scale_factor!r}")


def crop_box(box: FaceBox, delta: float, gamma: float, frame_shape: tuple[int, int]) -> FaceBox:
    """Apply the δ (left and right) and γ (top) crop of Eq. 1-4 to ``box``, clipped to the frame."""
    dx = int(delta * box.w)
    dy = int(gamma * box.h)
    x1 = max(0, box.x + dx)
    x2 = min(frame_shape[1], box.x + box.w - dx)
    y1 = max(0, box.y + dy)
    y2 = min(frame_shape[0], box.y + box.h)
    if x2 - x1 < 2 or y2 - y1 < 2:
        raise ValueError(f"crop factors delta={delta}, gamma={gamma} leave no face area from box {box}")
    return FaceBox(x1, y1, x2 - x1, y2 - y1)


def check_factors(delta: float, gamma: float) -> None:
    """Raise ValueError unless 0 <= δ < 0.5 and 0 <= γ < 1."""
    if not (0.0 <= float(delta) < 0.5):
        raise ValueError(f"delta must be in [0, 0.5), got {delta!r}")
    if not (0.0 <= float(gamma) < 1.0):
        raise ValueError(f"gamma must be in [0, 1), got {gamma!r}")


def crop_face(
    gray: np.ndarray,
    delta: float = 0.15,
    gamma: float = 0.15,
    detect: bool = True,
    on_missing: str = "full",
    detect_size: int = 160,
    min_face: float = 0.2,
    scale_factor: float = 1.1,
) -> tuple[np.ndarray, FaceBox, bool]:
    """Detect the largest face and crop it with the δ/γ factors.

    Parameters
    ----------
    gray : (H, W) uint8 frame.
    detect : False treats the whole frame as the face box (pre-cropped faces,
        or the paper's "scaled image").
    on_missing : when no face is found, "full" uses the whole frame as the box,
        "error" raises :class:`NoFaceError`.
    detect_size, min_face, scale_factor : detector settings, see :func:`detect_faces`.

    Returns
    -------
    face : (h, w) uint8 view of the frame.
    box : the cropped box in frame pixels.
    found : whether a face was detected (True when ``detect`` is False).
    """
    check_factors(delta, gamma)
    h, w = gray.shape
    found = True
    if detect:
        faces = detect_faces(gray, detect_size, min_face, scale_factor)
        if faces:
            box = faces[0]
        else:
            found = False
            if on_missing == "error":
                raise NoFaceError(f"no face found in a {w}x{h} frame")
            box = FaceBox(0, 0, w, h)
    else:
        box = FaceBox(0, 0, w, h)
    c = crop_box(box, delta, gamma, (h, w))
    return gray[c.y : c.y + c.h, c.x : c.x + c.w], c, found
