"""YuNet, a small CNN face detector with five landmarks, through ``cv2.FaceDetectorYN``.

YuNet (Wu, Peng, Yu, "YuNet: A Tiny Millisecond-level Face Detector", Machine Intelligence
Research 20, 2023; OpenCV Zoo, MIT licence) gives per face a box, five landmarks (the
eyes, the nose tip and the mouth corners) and a score.  Its ONNX file ships inside the
package (:data:`MODEL_FILE`, with ``LICENSE-YUNET`` beside it); nothing is downloaded.

Frames are searched on a copy whose longest side is at most ``detect_size`` (the
network finds faces of about 10 to 300 pixels in it).  Frames whose shorter side is under
:data:`MIN_INPUT` pixels (e.g. 48x48 face crops) are enlarged to it first: on smaller
inputs the network reports faces in blank frames.

YuNet's box is narrower and taller than the square box of OpenCV's frontal cascade that
the δ/γ crop factors were made for (its width/height is 0.76 on JAFFE).  :func:`cascade_box`
maps it onto that box: a square of :data:`BOX_SCALE` times the geometric mean of its
sides, centred at its centre moved by :data:`BOX_SHIFT` (both medians over JAFFE's 213
frames of the cascade's box against YuNet's; the cascade's side is between 1.05 and 1.12
times the mean on 80 % of them).  The landmarks are kept as YuNet gives them.

``cv2.FaceDetectorYN`` objects are not shared between threads: each thread has its own
(:func:`yunet_model`), made on its first call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MODEL_FILE", "LICENSE_FILE", "MIN_INPUT", "BOX_SCALE", "BOX_SHIFT", "LANDMARK_NAMES", "YuNetError",
           "YuNetFace", "yunet_available", "yunet_model", "detect_yunet", "cascade_box"]

#: the ONNX file dlfers ships (sha256 ebafce4e...f0f0; 229,738 bytes) and its licence
MODEL_FILE = Path(__file__).resolve().parent / "models" / "face_detection_yunet_2026may.onnx"
LICENSE_FILE = MODEL_FILE.parent / "LICENSE-YUNET"
#: the smallest shorter side (pixels) of the network's input: smaller frames are enlarged to it
MIN_INPUT = 64
#: YuNet box -> the frontal cascade's square box: side = BOX_SCALE * sqrt(w * h), centre moved by
#: BOX_SHIFT * sqrt(w * h) (median over JAFFE, see the module docstring)
BOX_SCALE = 1.086
BOX_SHIFT = (0.008, -0.015)
#: the five landmarks, in YuNet's order (the person's right eye is on the image's left)
LANDMARK_NAMES = ("right_eye", "left_eye", "nose", "right_mouth", "left_mouth")
#: non-maximum suppression IoU and the most faces per frame the network keeps
_NMS = 0.3
_TOP_K = 500


class YuNetError(RuntimeError):
    """The YuNet model cannot be used: the file is missing or unreadable, or OpenCV has no ``FaceDetectorYN``."""


@dataclass(frozen=True)
class YuNetFace:
    """One face as YuNet gives it, in frame pixels.

    Attributes
    ----------
    box : (x, y, w, h) float, YuNet's own box.
    landmarks : (5, 2) float32 (x, y) of :data:`LANDMARK_NAMES`.
    score : the network's confidence in [0, 1].
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float


def yunet_available() -> bool:
    """Whether the installed OpenCV has ``cv2.FaceDetectorYN`` (OpenCV >= 4.5.4)."""
    import cv2

    return hasattr(cv2, "FaceDetectorYN")


_local = threading.local()


def yunet_model(model: str | Path | None = None) -> Any:
    """This thread's ``cv2.FaceDetectorYN`` for the ONNX file ``model`` (None: :data:`MODEL_FILE`).

    Parameters
    ----------
    model : str, Path or None, default None
        The ONNX file (None: the one shipped in the package).

    Returns
    -------
    cv2.FaceDetectorYN
        One detector per thread and file (OpenCV's detector is not shared between threads).

    Raises
    ------
    YuNetError
        OpenCV has no ``FaceDetectorYN``, or the file is missing or not a model OpenCV can read
        (the message names the file).
    """
    path = Path(MODEL_FILE if model is None else model)
    cache: dict[str, Any] | None = getattr(_local, "models", None)
    if cache is None:
        cache = _local.models = {}
    det = cache.get(str(path))
    if det is None:
        import cv2

        if not yunet_available():
            raise YuNetError(f"OpenCV {cv2.__version__} has no cv2.FaceDetectorYN, which the 'yunet' detector "
                             "needs (OpenCV >= 4.8); use a cascade detector or upgrade opencv-python-headless")
        if not path.is_file():
            raise YuNetError(f"the YuNet model file {path} does not exist (a broken install? reinstall dlfers)")
        try:
            det = cv2.FaceDetectorYN.create(str(path), "", (MIN_INPUT, MIN_INPUT), 0.5, _NMS, _TOP_K)
            det.setInputSize((MIN_INPUT, MIN_INPUT))
            det.detect(np.zeros((MIN_INPUT, MIN_INPUT, 3), np.uint8))  # a corrupt file may only fail here
        except cv2.error as e:
            raise YuNetError(f"OpenCV cannot read the YuNet model file {path}: "
                             f"{str(e).strip().splitlines()[-1]}") from None
        cache[str(path)] = det
    return det


def detect_yunet(image: np.ndarray, detect_size: int, min_face: float, score_threshold: float,
                 model: str | Path | None = None) -> list[YuNetFace]:
    """YuNet's faces in a frame, highest score first.

    Parameters
    ----------
    image : (H, W) gray or (H, W, 3) BGR uint8 numpy.ndarray
        Colour helps: on the walking clip of the benchmark YuNet finds a face in 93 % of the
        colour frames and 81 % of the same frames in gray.
    detect_size : int
        Longest side of the copy the network searches (frames no larger are searched as they are).
    min_face : float
        Smallest face side (the geometric mean of YuNet's box sides), as a fraction of the
        frame's shorter side.
    score_threshold : float
        Least score of a face kept, in [0, 1).
    model : str or Path or None, default None
        The ONNX file (None: the one dlfers ships).

    Returns
    -------
    list of YuNetFace
        In frame pixels.

    Raises
    ------
    YuNetError
        See :func:`yunet_model`.
    ValueError
        For an image that is not (H, W) or (H, W, 3) uint8.
    """
    import cv2

    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"YuNet needs an (H, W) or (H, W, 3) uint8 frame, got {image.shape} {image.dtype}")
    det = yunet_model(model)
    h, w = image.shape[:2]
    if min(h, w) < 1:
        return []
    s = min(1.0, detect_size / max(h, w))
    if min(h, w) * s < MIN_INPUT:
        s = MIN_INPUT / min(h, w)
    if s != 1.0:
        size = (max(1, round(w * s)), max(1, round(h * s)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    else:
        small = image
    bgr = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR) if small.ndim == 2 else np.ascontiguousarray(small)
    det.setInputSize((bgr.shape[1], bgr.shape[0]))
    det.setScoreThreshold(float(score_threshold))
    _, found = det.detect(bgr)
    if found is None:
        return []
    smallest = min_face * min(h, w)
    faces = []
    for row in np.asarray(found, np.float32):
        score = float(row[14])
        if score < score_threshold:
            continue
        x, y, bw, bh = (float(v) / s for v in row[:4])
        if np.sqrt(max(bw, 0.0) * max(bh, 0.0)) < smallest or bw <= 0 or bh <= 0:
            continue
        faces.append(YuNetFace((x, y, bw, bh), (row[4:14].reshape(5, 2) / s).astype(np.float32), score))
    faces.sort(key=lambda f: -f.score)
    return faces


def cascade_box(box: tuple[float, float, float, float], frame_shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """YuNet's (x, y, w, h) mapped onto the frontal cascade's square box, clipped to the frame.

    Parameters
    ----------
    box : (x, y, w, h) float, frame pixels.
    frame_shape : (H, W).

    Returns
    -------
    (x, y, side_w, side_h) int: a square of ``BOX_SCALE * sqrt(w * h)`` around the shifted centre,
    clipped to the frame (so not square at its edges).
    """
    x, y, w, h = box
    g = float(np.sqrt(w * h))
    side = BOX_SCALE * g
    cx, cy = x + w / 2.0 + BOX_SHIFT[0] * g, y + h / 2.0 + BOX_SHIFT[1] * g
    x0, y0 = max(0, int(round(cx - side / 2.0))), max(0, int(round(cy - side / 2.0)))
    x1 = min(frame_shape[1], int(round(cx + side / 2.0)))
    y1 = min(frame_shape[0], int(round(cy + side / 2.0)))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)
