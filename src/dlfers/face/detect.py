"""Face detection and the paper's δ/γ crop (Sec. 3.1, Eq. 1-4).

"yunet" is a small CNN with five landmarks per face (:mod:`dlfers.face.yunet`; its box mapped onto
the frontal cascade's).  The others are OpenCV's frontal-face Haar cascades: "cascade" is the single pass on a
copy scaled down to ``detect_size`` pixels that the paper preset keeps; "coarse2fine" is a
coarse pass on a small copy of the frame that proposes faces and a fine pass around each
proposal that verifies and places it; "cascade+coarse2fine" (the default) is the single
pass, and coarse2fine only where it finds no face (the largest face wins).  The detected box
(x, y, w, h) is then cropped by the horizontal factor δ on the left and the right
and the vertical factor γ at the top, as Eq. 1-4 move the box corners inwards:

    x1 = x + ⌊δ·w⌋,  x2 = x + w − ⌊δ·w⌋,  y1 = y + ⌊γ·h⌋,  y2 = y + h.

The paper's presets: scaling factor 1 (δ=0.10, γ=0.7), 2 (δ=0.12, γ=0.15),
3 (δ=0.15, γ=0.15); "face" is the detected box with no further crop and "scaled"
the whole frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .haar import cascade, engine
from .yunet import cascade_box, detect_yunet

__all__ = [
    "DETECTORS", "DEFAULT_DETECTOR", "DEFAULT_SCORE", "NoFaceError", "FaceBox", "Landmarks", "DetectorSettings",
    "detector_settings",
    "detect_faces", "check_detector", "color_frame", "crop_box", "crop_face",
]


class NoFaceError(ValueError):
    """No face was found in a frame (and the caller asked for an error)."""


Landmarks = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float],
                  tuple[float, float]]


@dataclass(frozen=True)
class FaceBox:
    """A face box in frame pixels: top-left (x, y), width and height.

    Attributes
    ----------
    x, y, w, h : int
        The top-left corner (x, y), the width and the height, in frame pixels.
    landmarks : Landmarks (five (x, y) float pairs, frame pixels) or None, default None
        The person's right eye, left eye, nose tip, right and left mouth corners (image left
        first for the eyes of a frontal face), from the "yunet" detector; None from the cascades.
        :func:`crop_box` keeps them (they stay in frame pixels).
    score : float or None, default None
        The detector's confidence in [0, 1] ("yunet"; None from the cascades).
    """

    x: int
    y: int
    w: int
    h: int
    landmarks: Landmarks | None = None
    score: float | None = None

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)

    def landmark_array(self) -> np.ndarray | None:
        """The landmarks as a (5, 2) float32 array (None without landmarks)."""
        return None if self.landmarks is None else np.asarray(self.landmarks, np.float32)


#: detector name -> its default (detect_size, min_face, scale_factor).  "cascade" is the single
#: pass the paper preset keeps, exactly; "cascade+coarse2fine" (the default) uses its settings for
#: that pass, and coarse2fine's where it finds nothing; min_face applies to both.  "yunet" has no
#: scale steps (its scale_factor is unused); its detect_size, 480, and score threshold, 0.7
#: (DEFAULT_SCORE), were chosen on the benchmark's clips and wide synthetic set: a face in 90 % of
#: the walking clip's frames (320: 79 %; 640: 93 % at 1.6x the cost) and no false face in the set's
#: empty frames (0.6 let one through) (benchmarks/detection_table.py, docs/face-detection.md)
DETECTORS: dict[str, tuple[int, float, float]] = {
    "cascade": (160, 0.2, 1.1),
    "coarse2fine": (240, 0.15, 1.3),
    "cascade+coarse2fine": (160, 0.15, 1.1),
    "yunet": (480, 0.02, 1.1),
    "cascade+yunet": (160, 0.02, 1.1),
}
#: "cascade+yunet": YuNet's detect_size where the cascade finds no face (min_face is the call's for both
#: passes: the cascade's 24-pixel window on its 160-pixel copy sees no face under 15 % of the shorter
#: side anyway, so its boxes are those of min_face 0.15, as cascade+coarse2fine's first pass)
_YUNET_FALLBACK = DETECTORS["yunet"]
#: DLFERS' default (dlfers.model.params): the cascade's boxes where it sees a face (so the JAFFE figures of
#: the cascade+coarse2fine default, 97.18 % 10-fold and 74.18 % LOSO, are unchanged), YuNet where it does not
DEFAULT_DETECTOR = "cascade+yunet"
#: the least score of a "yunet" face (the other detectors have no score)
DEFAULT_SCORE = 0.7

# Coarse-to-fine constants (chosen on a synthetic set made by tests/_detection_set.py: 60 faces and
# 15 empty frames per frame size; checked on other seeds).  The coarse pass runs OpenCV's 20x20 "alt2"
# frontal cascade with one neighbour: a proposal, which the fine pass verifies with the 24x24
# "default" cascade of the "cascade" detector (its minNeighbors, its scale step 1.1) on a crop
# around the proposal.
_COARSE_CASCADE = "haarcascade_frontalface_alt2.xml"
_COARSE_WINDOW = 20
_COARSE_NEIGHBOURS = 1
_FINE_CASCADE = "haarcascade_frontalface_default.xml"
_FINE_WINDOW = 24
_FINE_SCALE = 1.1
#: (face side in pixels the fine pass scales the crop to, minNeighbors).  The second look, closer
#: and stricter, only where the first did not confirm a proposal of at least 1.5x its face side (a
#: large face the first look shrank a lot).  Crops are never enlarged above 1:1 ...
_FINE_LOOKS = ((40, 4), (64, 6))
_FINE_MIN_FACE = 28  # ... except that a proposal smaller than this is enlarged to it (window 24)
_FINE_MARGIN = 0.35  # margin around a proposal, as a fraction of its side, on every side
_FINE_SIZES = (0.7, 1.45)  # face sides searched in the crop, relative to the proposal's
_FINE_MIN_SLACK = 0.9  # smallest face the fine pass accepts, relative to min_face
#: the fine pass never works at a coarser scale than the "cascade" detector's copy of the frame
#: (longest side 160): its boxes then sit on the same pixel grid, as precisely as that detector's
#: (box jitter at a coarser scale cost the default model 6 points of k-fold accuracy on JAFFE)
_FINE_FRAME_SIZE = DETECTORS["cascade"][0]
#: proposals at least this large in that copy are placed there, on a region of the copy with this
#: margin (a fraction of the face side): the same pixels, steps and neighbours as that detector
_FINE_COPY_MIN = 36
_FINE_COPY_MARGIN = 0.5
#: neighbours the "alt2" cascade needs to confirm a face of the single pass (cascade+coarse2fine)
_CONFIRM_NEIGHBOURS = 3
_CONFIRM_SCALE = 1.2
#: frames no larger than this (e.g. 48x48 face crops) get the single fine pass over the whole frame
_SMALL_FRAME = 128


@dataclass(frozen=True)
class DetectorSettings:
    """Face-detector settings (see :func:`detect_faces`).

    Build one with :func:`detector_settings`, which fills in the detector's defaults; every
    value is checked on creation.

    Attributes
    ----------
    detector : str, default "cascade+yunet"
        "cascade+yunet" (:data:`DEFAULT_DETECTOR`), "cascade+coarse2fine", "coarse2fine", "cascade"
        or "yunet" (a key of :data:`DETECTORS`).
    detect_size : int, default 160
        Longest side of the frame copy the (coarse) cascade or YuNet searches, pixels (>= 24).  The
        defaults of this and the next two are the default detector's, ``DETECTORS["cascade+yunet"]``.
    min_face : float, default 0.02
        Smallest face side, as a fraction of the frame's shorter side, in [0, 1].
    scale_factor : float, default 1.1
        Step between the (coarse) cascade's search scales, in (1, 2] (unused by "yunet").
    score_threshold : float, default 0.7
        Least score of a "yunet" face, in [0, 1) (:data:`DEFAULT_SCORE`; unused by the cascades).
    """

    detector: str = DEFAULT_DETECTOR
    detect_size: int = DETECTORS[DEFAULT_DETECTOR][0]
    min_face: float = DETECTORS[DEFAULT_DETECTOR][1]
    scale_factor: float = DETECTORS[DEFAULT_DETECTOR][2]
    score_threshold: float = DEFAULT_SCORE

    def __post_init__(self) -> None:
        check_detector(self.detect_size, self.min_face, self.scale_factor, self.detector, self.score_threshold)

    def kwargs(self) -> dict[str, Any]:
        """The settings as keyword arguments of :func:`detect_faces`."""
        return {"detector": self.detector, "detect_size": self.detect_size, "min_face": self.min_face,
                "scale_factor": self.scale_factor, "score_threshold": self.score_threshold}


def detector_settings(
    detector: str | None = None,
    detect_size: int | None = None,
    min_face: float | None = None,
    scale_factor: float | None = None,
    score_threshold: float | None = None,
) -> DetectorSettings:
    """Settings of ``detector`` (None: the default, "cascade+yunet"), its defaults for every None,
    validated.

    Parameters
    ----------
    detector : str or None, default None
        "cascade+yunet", "cascade+coarse2fine", "coarse2fine", "cascade" or "yunet" (None:
        :data:`DEFAULT_DETECTOR`, "cascade+yunet").
    detect_size : int or None, default None
        Longest side of the frame copy the detector searches, pixels, >= 24 (None: the detector's,
        see :data:`DETECTORS`).
    min_face : float or None, default None
        Smallest face side as a fraction of the frame's shorter side, in [0, 1] (None: the detector's).
    scale_factor : float or None, default None
        Step between the (coarse) cascade's search scales, in (1, 2] (None: the detector's; unused
        by "yunet").
    score_threshold : float or None, default None
        Least score of a "yunet" face, in [0, 1) (None: :data:`DEFAULT_SCORE`, 0.7).

    Returns
    -------
    DetectorSettings
        The checked settings (``detect_size`` as int, the others as float).

    Raises
    ------
    ValueError
        For an unknown detector or an out-of-range setting (see :func:`check_detector`).
    """
    name = DEFAULT_DETECTOR if detector is None else detector
    if name not in DETECTORS:
        raise ValueError(f"detector must be one of {sorted(DETECTORS)}, got {detector!r}")
    size0, face0, scale0 = DETECTORS[name]
    size = size0 if detect_size is None else detect_size
    face = face0 if min_face is None else min_face
    scale = scale0 if scale_factor is None else scale_factor
    score = DEFAULT_SCORE if score_threshold is None else score_threshold
    check_detector(size, face, scale, name, score)
    return DetectorSettings(name, int(size), float(face), float(scale), float(score))


def cascade_engine(name: str = _FINE_CASCADE) -> str:
    """Who evaluates OpenCV's cascade ``name`` here: "dlfers" or "opencv" (see :func:`dlfers.face.haar.engine`).

    Parameters
    ----------
    name : str, default "haarcascade_frontalface_default.xml"
        A cascade file name (default: the cascade of the "cascade" detector and of the fine pass).

    Returns
    -------
    str
        "dlfers" (the compiled ``haar_scan`` kernel) or "opencv" (``cv2.CascadeClassifier``).
    """

    return engine(name)


def _cascade(name: str = _FINE_CASCADE) -> Any:

    return cascade(name)


def _resized(gray: np.ndarray, s: float) -> np.ndarray:
    """``gray`` scaled by ``s`` (area averaging when shrinking, bilinear when enlarging)."""
    if s == 1.0:
        return gray
    import cv2

    h, w = gray.shape
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)


def iou(a: FaceBox, b: FaceBox) -> float:
    """Intersection over union of two boxes, in [0, 1].

    Parameters
    ----------
    a, b : FaceBox
        The two boxes, in the same pixels.

    Returns
    -------
    float
        The area of their intersection over that of their union, in [0, 1] (0.0 when both are empty).
    """
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def _largest_first(boxes: list[FaceBox], overlap: float) -> list[FaceBox]:
    """Boxes sorted largest first, dropping any that overlaps a kept one by IoU > ``overlap``."""
    kept: list[FaceBox] = []
    for b in sorted(boxes, key=lambda b: b.w * b.h, reverse=True):
        if all(iou(b, k) <= overlap for k in kept):
            kept.append(b)
    return kept


def _single_pass(gray: np.ndarray, st: DetectorSettings) -> list[FaceBox]:
    """Today's detector: the default cascade on a copy whose longest side is ``detect_size``."""
    h, w = gray.shape
    s = min(1.0, st.detect_size / max(h, w))
    small = _resized(gray, s)
    m = max(12, int(st.min_face * min(small.shape)))
    found = _cascade().detectMultiScale(small, scaleFactor=st.scale_factor, minNeighbors=4, minSize=(m, m))
    boxes = [
        FaceBox(int(round(x / s)), int(round(y / s)), int(round(bw / s)), int(round(bh / s)))
        for x, y, bw, bh in found
    ]
    boxes.sort(key=lambda b: b.w * b.h, reverse=True)
    return boxes


def _refine(gray: np.ndarray, p: FaceBox, face_px: int, neighbours: int, smallest: float) -> FaceBox | None:
    """The fine pass around proposal ``p``: the largest face, or None.

    The crop around ``p`` is scaled so that the face is about ``face_px`` pixels, or by the
    "cascade" detector's scale (:data:`_FINE_FRAME_SIZE`) where that is finer (never above 1:1).
    """
    h, w = gray.shape
    mx, my = _FINE_MARGIN * p.w, _FINE_MARGIN * p.h
    x0, y0 = max(0, int(p.x - mx)), max(0, int(p.y - my))
    x1, y1 = min(w, int(np.ceil(p.x + p.w + mx))), min(h, int(np.ceil(p.y + p.h + my)))
    r = min(1.0, max(face_px / p.w, _FINE_FRAME_SIZE / max(h, w)))
    if p.w * r < _FINE_MIN_FACE:
        r = _FINE_MIN_FACE / p.w
    crop = _resized(gray[y0:y1, x0:x1], r)
    lo, hi = _FINE_SIZES
    # never smaller than the window, nor (much) below min_face: the coarse pass may propose
    # a face at its smallest size, and the fine pass must not then confirm a smaller one
    a = max(_FINE_WINDOW, int(lo * p.w * r), int(_FINE_MIN_SLACK * smallest * r))
    b = int(np.ceil(hi * p.w * r))
    if min(crop.shape) < a or b < a:
        return None
    found = _cascade(_FINE_CASCADE).detectMultiScale(
        crop, scaleFactor=_FINE_SCALE, minNeighbors=neighbours, minSize=(a, a), maxSize=(b, b)
    )
    if not len(found):
        return None
    fx, fy, fw, fh = max(found, key=lambda f: int(f[2]) * int(f[3]))
    return FaceBox(x0 + int(round(fx / r)), y0 + int(round(fy / r)), int(round(fw / r)), int(round(fh / r)))


def _refine_in_copy(copy: np.ndarray, c: float, p: FaceBox) -> FaceBox | None:
    """The fine pass on the region of proposal ``p`` in ``copy`` (the frame scaled by ``c``, as the
    "cascade" detector scales it), with that detector's cascade, steps and neighbours: its boxes
    on its own pixels.  The largest face, in frame pixels, or None."""
    h, w = copy.shape
    side = p.w * c
    m = _FINE_COPY_MARGIN * side
    x0, y0 = max(0, int(p.x * c - m)), max(0, int(p.y * c - m))
    x1, y1 = min(w, int(np.ceil((p.x + p.w) * c + m))), min(h, int(np.ceil((p.y + p.h) * c + m)))
    a = max(_FINE_WINDOW, int(_FINE_SIZES[0] * side))
    if x1 - x0 < a or y1 - y0 < a:
        return None
    found = _cascade(_FINE_CASCADE).detectMultiScale(copy[y0:y1, x0:x1], scaleFactor=_FINE_SCALE, minNeighbors=4,
                                                     minSize=(a, a))
    if not len(found):
        return None
    fx, fy, fw, fh = max(found, key=lambda f: int(f[2]) * int(f[3]))
    return FaceBox(int(round((x0 + fx) / c)), int(round((y0 + fy) / c)), int(round(fw / c)), int(round(fh / c)))


def _confirmed(gray: np.ndarray, box: FaceBox) -> bool:
    """Whether the coarse ("alt2") cascade also sees a face of about ``box``'s size around it: a
    second opinion that rejects the single pass's rare false faces, leaving its boxes as they are."""
    h, w = gray.shape
    m = _FINE_MARGIN * box.w
    x0, y0 = max(0, int(box.x - m)), max(0, int(box.y - m))
    x1, y1 = min(w, int(np.ceil(box.x + box.w + m))), min(h, int(np.ceil(box.y + box.h + m)))
    r = min(1.0, _FINE_LOOKS[0][0] / box.w)
    crop = _resized(gray[y0:y1, x0:x1], r)
    a = max(_COARSE_WINDOW, int(0.6 * box.w * r))
    b = max(a, int(np.ceil(1.6 * box.w * r)))
    if min(crop.shape) < a:
        return False
    found = _cascade(_COARSE_CASCADE).detectMultiScale(
        crop, scaleFactor=_CONFIRM_SCALE, minNeighbors=_CONFIRM_NEIGHBOURS, minSize=(a, a), maxSize=(b, b)
    )
    return len(found) > 0


def _coarse_to_fine(gray: np.ndarray, st: DetectorSettings) -> list[FaceBox]:
    """Proposals from a small copy, each verified and placed by a fine pass on a crop around it."""
    h, w = gray.shape
    if max(h, w) <= _SMALL_FRAME:  # nothing to coarsen: the fine cascade over the whole frame, as "cascade"
        return _single_pass(gray, DetectorSettings("cascade", max(_FINE_WINDOW, h, w), st.min_face, _FINE_SCALE))
    # coarse copy: just large enough for a face of min_face in the coarse cascade's window
    smallest = max(1.0, st.min_face * min(h, w))
    s = min(1.0, _COARSE_WINDOW / smallest, st.detect_size / max(h, w))
    small = _resized(gray, s)
    if min(small.shape) < _COARSE_WINDOW:
        return []
    proposals = _cascade(_COARSE_CASCADE).detectMultiScale(
        small, scaleFactor=st.scale_factor, minNeighbors=_COARSE_NEIGHBOURS,
        minSize=(_COARSE_WINDOW, _COARSE_WINDOW),
    )
    coarse = _largest_first(
        [FaceBox(int(x / s), int(y / s), int(np.ceil(bw / s)), int(np.ceil(bh / s))) for x, y, bw, bh in proposals],
        0.5,
    )
    c = min(1.0, _FINE_FRAME_SIZE / max(h, w))
    copy = _resized(gray, c) if coarse else gray  # the "cascade" detector's copy of the frame
    boxes = []
    for p in coarse:
        if p.w * c >= _FINE_COPY_MIN:  # the face is large enough at the cascade detector's scale
            box = _refine_in_copy(copy, c, p)
            if box is not None:
                boxes.append(box)
                continue
        box = _refine(gray, p, *_FINE_LOOKS[0], smallest)
        for face_px, neighbours in _FINE_LOOKS[1:]:  # a closer look where the first shrank a large face
            if box is not None or p.w < 1.5 * face_px:
                break
            box = _refine(gray, p, face_px, neighbours, smallest)
        if box is not None:  # a proposal the fine pass does not confirm is dropped
            boxes.append(box)
    return _largest_first(boxes, 0.3)


def detect_faces(
    gray: np.ndarray,
    detect_size: int | None = None,
    min_face: float | None = None,
    scale_factor: float | None = None,
    *,
    detector: str | None = None,
    settings: DetectorSettings | None = None,
    score_threshold: float | None = None,
    color: np.ndarray | None = None,
) -> list[FaceBox]:
    """Faces in a gray uint8 frame, largest first.

    ``"yunet"`` is a CNN (:mod:`dlfers.face.yunet`): each :class:`FaceBox` carries its five
    landmarks and score; its box is YuNet's mapped onto the frontal cascade's square box
    (:func:`dlfers.face.yunet.cascade_box`), so that the δ/γ crop factors mean what they mean
    for the cascades.  It searches a copy of the frame whose longest side is ``detect_size``
    (480), keeps faces of score >= ``score_threshold`` (0.7) and side >= ``min_face`` (2 %
    of the shorter side), and sees colour when ``color`` is given.

    ``"cascade+yunet"`` (the default): the confirmed single pass of ``"cascade+coarse2fine"`` (its settings), and
    ``"yunet"`` (detect_size 480, the same min_face, 0.02, and score) only on frames where it finds no
    face: the cascade's boxes, and so a cascade-trained model's figures, wherever the cascade sees
    a face, and YuNet's recall (small, turned, side-lit faces) where it does not.

    Three detectors are built on OpenCV's frontal-face Haar cascades:

    * ``"cascade+coarse2fine"`` (the default before "cascade+yunet", and the realtime preset's):
      ``"cascade"``, each face it finds confirmed by
      the ``alt2`` cascade around it (boxes unchanged; its rare false faces dropped), and
      ``"coarse2fine"`` (its detect_size and steps, the same min_face) only on frames where no face remains: the paper
      detector's boxes wherever it sees a face, and the smaller faces it cannot see.
    * ``"coarse2fine"``: a coarse pass of the 20x20 ``alt2`` cascade on a
      copy of the frame just large enough for a face of ``min_face`` (15 % of the
      frame's shorter side by default; longest side at most ``detect_size``), in scale
      steps of ``scale_factor``, proposes faces; each proposal is then verified and
      placed by the ``default`` cascade (minNeighbors 4, steps of 1.1, as the
      ``"cascade"`` detector) on a crop of 1.7x the proposal's side, scaled as the
      ``"cascade"`` detector scales the frame (longest side 160) or so that the face
      is about 40 pixels, whichever is finer.  Proposals the fine pass does not confirm are
      dropped.  It finds faces down to ``min_face`` in any frame size; its boxes are
      the single pass's on 176 of JAFFE's 213 frames and within 3 pixels on the others.
    * ``"cascade"``: the single pass of the ``default`` cascade on a copy whose
      longest side is ``detect_size`` (the paper preset's detector; 160, 0.2, 1.1).
      Faces smaller than ``24 / detect_size`` of the longer side are not found.

    Parameters
    ----------
    gray : ndarray of shape (H, W), uint8
        The frame.
    detect_size : int or None, default None
        Longest side of the frame copy the (coarse) cascade or YuNet searches, pixels
        (None: the detector's default, see :data:`DETECTORS`).
    min_face : float or None, default None
        Smallest face side as a fraction of the frame's shorter side (None: the detector's default).
    scale_factor : float or None, default None
        Step between the (coarse) cascade's search scales (OpenCV's ``scaleFactor``); larger is
        faster and places boxes more coarsely (None: the detector's default).
    detector : str or None, default None
        "cascade+yunet" (None), "cascade+coarse2fine", "coarse2fine", "cascade" or "yunet".
    settings : DetectorSettings or None, default None
        All of the above at once (from :func:`detector_settings`); the other
        keywords must then be None.
    score_threshold : float or None, default None
        Least score of a "yunet" face, in [0, 1) (None: 0.7).
    color : ndarray of shape (H, W, 3) or (H, W, 4), uint8, or None, default None
        The same frame in BGR (or BGRA, whose alpha is dropped): what "yunet" searches when given
        (the cascades always use ``gray``; ignored unless its (H, W) and dtype match).

    Returns
    -------
    list of FaceBox
        Face boxes in frame pixels, largest first (with landmarks and score from "yunet", and from
        the YuNet pass of "cascade+yunet"); empty when no face is found.

    Raises
    ------
    ValueError
        For an unknown detector, a bad setting, or ``settings`` given with other keywords.
    dlfers.face.yunet.YuNetError
        For "yunet" when its model file is missing or corrupt, or OpenCV has no ``FaceDetectorYN``.
    """
    if settings is None:
        settings = detector_settings(detector, detect_size, min_face, scale_factor, score_threshold)
    elif (detector, detect_size, min_face, scale_factor, score_threshold) != (None, None, None, None, None):
        raise ValueError("give either settings or the detector keywords, not both")
    if settings.detector == "yunet":
        return _yunet(gray, settings, color)
    if settings.detector == "cascade+yunet":
        boxes = [b for b in _single_pass(gray, settings) if _confirmed(gray, b)]
        if boxes:
            return boxes
        fallback = DetectorSettings("yunet", _YUNET_FALLBACK[0], settings.min_face, _YUNET_FALLBACK[2],
                                    settings.score_threshold)
        return _yunet(gray, fallback, color)
    if settings.detector == "coarse2fine":
        return _coarse_to_fine(gray, settings)
    boxes = _single_pass(gray, settings)
    if settings.detector == "cascade":
        return boxes
    boxes = [b for b in boxes if _confirmed(gray, b)]
    if boxes:
        return boxes
    # "cascade+coarse2fine": the single pass's boxes where it finds a face, else the faces it
    # cannot see (below 24 / detect_size of the frame's longer side) from coarse2fine
    return _coarse_to_fine(gray, detector_settings("coarse2fine", min_face=settings.min_face))


def color_frame(image: np.ndarray) -> np.ndarray | None:
    """``image`` itself when it is a (H, W, 3|4) BGR(A) uint8 frame (what "yunet" can use), else None.

    Parameters
    ----------
    image : ndarray
        A frame of any shape and dtype.

    Returns
    -------
    ndarray of shape (H, W, 3) or (H, W, 4), uint8, or None
        ``image`` itself (not a copy), or None for a gray or non-uint8 image.
    """
    if image.ndim == 3 and image.dtype == np.uint8 and image.shape[2] in (3, 4):
        return image
    return None


def _yunet(gray: np.ndarray, st: DetectorSettings, color: np.ndarray | None) -> list[FaceBox]:
    """The "yunet" detector: YuNet's faces as cascade-like boxes with their landmarks, largest first."""
    image = gray
    if color is not None and color.ndim == 3 and color.shape[:2] == gray.shape and color.dtype == np.uint8:
        image = color[..., :3] if color.shape[2] == 4 else color
    faces = detect_yunet(image, st.detect_size, st.min_face, st.score_threshold)
    boxes = []
    for f in faces:
        lm = tuple((float(x), float(y)) for x, y in f.landmarks.tolist())
        boxes.append(FaceBox(*cascade_box(f.box, gray.shape), landmarks=lm, score=f.score))  # type: ignore[arg-type]
    boxes.sort(key=lambda b: b.w * b.h, reverse=True)
    return boxes


def check_detector(detect_size: int, min_face: float, scale_factor: float, detector: str = DEFAULT_DETECTOR,
                   score_threshold: float = DEFAULT_SCORE) -> None:
    """Raise ValueError unless the detector is known, detect_size >= 24, 0 <= min_face <= 1, 1 < scale_factor <= 2
    and 0 <= score_threshold < 1.

    Parameters
    ----------
    detect_size : int
        Longest side of the searched frame copy, pixels: an integer (not a bool) >= 24, the cascade's window.
    min_face : float
        Smallest face side as a fraction of the frame's shorter side: a number in [0, 1].
    scale_factor : float
        Step between the cascade's search scales: a number in (1, 2].
    detector : str, default "cascade+yunet"
        A key of :data:`DETECTORS`.
    score_threshold : float, default 0.7
        Least score of a "yunet" face: a number in [0, 1).

    Raises
    ------
    ValueError
        For the first setting out of range (checked in the order score_threshold, detector,
        detect_size, min_face, scale_factor); the message names it and its value.
    """
    if (isinstance(score_threshold, bool) or not isinstance(score_threshold, (int, float, np.number))
            or not 0.0 <= score_threshold < 1.0):
        raise ValueError(f"score_threshold must be a number in [0, 1), got {score_threshold!r}")
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {sorted(DETECTORS)}, got {detector!r}")
    if isinstance(detect_size, bool) or not isinstance(detect_size, (int, np.integer)) or detect_size < 24:
        raise ValueError(f"detect_size must be an integer >= 24 (the cascade's window), got {detect_size!r}")
    if isinstance(min_face, bool) or not isinstance(min_face, (int, float, np.number)) or not 0.0 <= min_face <= 1.0:
        raise ValueError(f"min_face must be a number in [0, 1], got {min_face!r}")
    if (isinstance(scale_factor, bool) or not isinstance(scale_factor, (int, float, np.number))
            or not 1.0 < scale_factor <= 2.0):
        raise ValueError(f"scale_factor must be a number in (1, 2], got {scale_factor!r}")


def crop_box(box: FaceBox, delta: float, gamma: float, frame_shape: tuple[int, int]) -> FaceBox:
    """Apply the δ (left and right) and γ (top) crop of Eq. 1-4 to ``box``, clipped to the frame (landmarks and
    score kept).

    Parameters
    ----------
    box : FaceBox
        The detected box, in frame pixels.
    delta : float
        δ: ``int(delta * box.w)`` pixels are cut from the left and from the right.
    gamma : float
        γ: ``int(gamma * box.h)`` pixels are cut from the top.
    frame_shape : tuple of int
        (H, W) of the frame, to clip the box to.

    Returns
    -------
    FaceBox
        The cropped box, in frame pixels, with ``box``'s landmarks and score.

    Raises
    ------
    ValueError
        When the crop leaves less than 2 pixels of width or height.
    """
    dx = int(delta * box.w)
    dy = int(gamma * box.h)
    x1 = max(0, box.x + dx)
    x2 = min(frame_shape[1], box.x + box.w - dx)
    y1 = max(0, box.y + dy)
    y2 = min(frame_shape[0], box.y + box.h)
    if x2 - x1 < 2 or y2 - y1 < 2:
        raise ValueError(f"crop factors delta={delta}, gamma={gamma} leave no face area from box {box}")
    return FaceBox(x1, y1, x2 - x1, y2 - y1, box.landmarks, box.score)


def check_factors(delta: float, gamma: float) -> None:
    """Raise ValueError unless 0 <= δ < 0.5 and 0 <= γ < 1.

    Parameters
    ----------
    delta : float
        δ, the fraction of the box width cut from the left and from the right.
    gamma : float
        γ, the fraction of the box height cut from the top.

    Raises
    ------
    ValueError
        For a factor out of range; the message names it and its value.
    """
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
    detect_size: int | None = None,
    min_face: float | None = None,
    scale_factor: float | None = None,
    *,
    detector: str | None = None,
    settings: DetectorSettings | None = None,
    color: np.ndarray | None = None,
) -> tuple[np.ndarray, FaceBox, bool]:
    """Detect the largest face and crop it with the δ/γ factors.

    Parameters
    ----------
    gray : ndarray of shape (H, W), uint8
        The frame.
    delta : float, default 0.15
        δ, the fraction of the box width cut from the left and from the right (Eq. 1-2), in [0, 0.5).
    gamma : float, default 0.15
        γ, the fraction of the box height cut from the top (Eq. 3), in [0, 1).
    detect : bool, default True
        False treats the whole frame as the face box (pre-cropped faces,
        or the paper's "scaled image").
    on_missing : str, default "full"
        When no face is found, "full" uses the whole frame as the box,
        "error" raises :class:`NoFaceError`.
    detect_size : int or None, default None
        Detector setting, see :func:`detect_faces` (None: the detector's default).
    min_face : float or None, default None
        Detector setting, see :func:`detect_faces` (None: the detector's default).
    scale_factor : float or None, default None
        Detector setting, see :func:`detect_faces` (None: the detector's default).
    detector : str or None, default None
        The detector, see :func:`detect_faces` (None: the default detector).
    settings : DetectorSettings or None, default None
        All the detector settings at once, see :func:`detect_faces` (the four above must then be None).
    color : ndarray of shape (H, W, 3), uint8, or None, default None
        The frame in BGR for detectors that see colour ("yunet"), or None.

    Returns
    -------
    face : ndarray of shape (h, w), uint8
        The cropped face: a view of ``gray``, not a copy.
    box : FaceBox
        The cropped box in frame pixels.
    found : bool
        Whether a face was detected (True when ``detect`` is False).

    Raises
    ------
    ValueError
        For crop factors out of range (:func:`check_factors`) or leaving no face area
        (:func:`crop_box`), or a bad detector setting (:func:`detect_faces`).
    NoFaceError
        When no face is found and ``on_missing`` is "error".
    """
    check_factors(delta, gamma)
    h, w = gray.shape
    found = True
    if detect:
        faces = detect_faces(gray, detect_size, min_face, scale_factor, detector=detector, settings=settings,
                             color=color)
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
