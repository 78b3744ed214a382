"""Eye alignment: register a cropped face by its eye centres before the wavelet reduction.

OpenCV's eye cascade (``haarcascade_eye.xml``, shipped in ``cv2.data``; nothing is
downloaded) looks for the eyes in the upper part of the δ/γ-cropped face box.  The
pair of detections that lies closest to the target eye positions, one in each half of
the box, gives the eye centres; one similarity transform (rotation, uniform scale and
shift; one ``cv2.warpAffine`` from the frame) then maps them onto the fixed targets
:data:`EYE_TARGETS`, in an output of the box's size, so the rest of the face path
(resize, LL subband) is unchanged.  Where no such pair is found the unaligned crop is
used and :attr:`Alignment.aligned` is False, so callers can count the fallbacks.  A face
found tilted by more than 3 degrees is searched again once levelled (the cascade places
tilted eyes less precisely) and the pair found there is used.

Faces found by the "yunet" detector carry five landmarks: their crop is aligned from those
instead (:func:`landmark_align`), by the least-squares similarity transform that takes the
eye centres and the mouth corners onto :data:`EYE_TARGETS` and :data:`MOUTH_TARGETS`; the
eye cascade is not run.  :func:`similarity_matrix` and :func:`warp_to_landmarks` are the
same fit and warp for any targets and output size (e.g. another data set's framing).

The targets are where the eyes of an upright frontal face fall in the default δ/γ crop
(δ = γ = 0.15) of OpenCV's frontal-face box, symmetric about the middle: 23 % and 77 % of
the width, 29 % of the height (the median of the eye cascade's detections on JAFFE is
21 % / 75 % and 29 %; a geometric constant of the detector's box, not a tuned accuracy).
The mouth targets follow from YuNet's landmarks on JAFFE in the same crop (medians: eyes at
21 % / 74 % and 29 %, mouth corners at 26 % / 71 % and 72 %), scaled to the eye targets'
distance and centred: 27 % / 73 % of the width, 74 % of the height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .detect import FaceBox, _cascade
from .yunet import detect_yunet

__all__ = ["EYE_TARGETS", "MOUTH_TARGETS", "EYE_CASCADE", "Alignment", "detect_eyes", "eye_matrix", "align_face",
           "similarity_matrix", "warp_to_landmarks", "landmark_align", "face_crop", "warn_fallbacks"]

#: target (x, y) of the left and right eye centres (in the image: left = smaller x), as
#: fractions of the output's width and height
EYE_TARGETS: tuple[tuple[float, float], tuple[float, float]] = ((0.23, 0.29), (0.77, 0.29))
#: target (x, y) of the mouth corners (left = smaller x), fractions of the output's width and height
MOUTH_TARGETS: tuple[tuple[float, float], tuple[float, float]] = ((0.27, 0.74), (0.73, 0.74))
#: the OpenCV cascade file (in ``cv2.data.haarcascades``) that finds the eyes
EYE_CASCADE = "haarcascade_eye.xml"
#: the part of the box searched for eyes: top fraction of its height
_SEARCH_TOP = 0.6
#: smallest and largest eye, as fractions of the box width
_EYE_MIN, _EYE_MAX = 0.10, 0.35
#: largest eye-line tilt accepted, in degrees (a larger one is a false pair)
_MAX_TILT = 30.0
#: width of the copy of the search region the cascade scans for faces wider than it or
#: narrower than :data:`_SMALLEST_WIDTH` (an eye is about a fifth of the box width, and the
#: cascade's window is 20 pixels), in pixels
_SEARCH_WIDTH = 200
_SMALLEST_WIDTH = 100
#: tilt (degrees) above which the eyes are looked for again on the levelled face
_REFINE_TILT = 3.0
#: landmark alignment: at most this many looks at the levelled face, and the least YuNet score there
_LEVEL_LOOKS = 4
_LEVEL_SCORE = 0.3
#: ... stopping once a look changes the tilt by less than this (degrees)
_LEVEL_STEP = 1.0


@dataclass(frozen=True)
class Alignment:
    """The result of :func:`align_face`.

    Attributes
    ----------
    crop : (h, w) uint8 face, the box's size: aligned, or the unaligned crop.
    aligned : whether both eyes were found (else ``crop`` is the unaligned crop).
    eyes : ((x, y), (x, y)) eye centres found, in frame pixels (None if not aligned).
    matrix : (2, 3) float64 affine map from frame pixels to ``crop`` pixels.
    angle : rotation the alignment applied, degrees (counter-clockwise positive in the
        image as displayed; 0 if not aligned).
    """

    crop: np.ndarray
    aligned: bool
    eyes: tuple[tuple[float, float], tuple[float, float]] | None
    matrix: np.ndarray
    angle: float


def _targets(w: int, h: int) -> np.ndarray:
    return np.array([[EYE_TARGETS[0][0] * w, EYE_TARGETS[0][1] * h],
                     [EYE_TARGETS[1][0] * w, EYE_TARGETS[1][1] * h]], np.float64)


def detect_eyes(gray: np.ndarray, box: FaceBox) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Left and right eye centres (frame pixels) in the face ``box`` of a (H, W) uint8 frame.

    Parameters
    ----------
    gray : ndarray of shape (H, W), uint8
        The frame.
    box : FaceBox
        The (δ/γ-cropped) face box, in frame pixels; the eye cascade searches its upper 60 %.

    Returns
    -------
    tuple of two (x, y) float pairs, or None
        The image-left then the image-right eye centre, in frame pixels.  None when no plausible
        pair is found: one eye in each half of the box, in its upper part, at most
        :data:`_MAX_TILT` degrees from level.  Among plausible pairs, the one closest to
        :data:`EYE_TARGETS` wins.
    """
    x0, y0, w, h = box.x, box.y, box.w, box.h
    top = max(1, int(round(_SEARCH_TOP * h)))
    roi = gray[y0 : y0 + top, x0 : x0 + w]
    # large faces are searched on a smaller copy; small ones (eyes under the cascade's 20-pixel
    # window) on a larger one
    s = _SEARCH_WIDTH / max(w, 1) if w > _SEARCH_WIDTH or w < _SMALLEST_WIDTH else 1.0
    if s != 1.0:
        import cv2

        roi = cv2.resize(roi, (max(1, round(w * s)), max(1, round(top * s))),
                         interpolation=cv2.INTER_AREA if s < 1.0 else cv2.INTER_LINEAR)
    sw = roi.shape[1]
    small, large = max(4, int(_EYE_MIN * sw)), max(5, int(_EYE_MAX * sw))
    if roi.shape[0] < small or sw < 2 * small:
        return None
    found = _cascade(EYE_CASCADE).detectMultiScale(roi, scaleFactor=1.1, minNeighbors=3,
                                                     minSize=(small, small), maxSize=(large, large))
    if len(found) < 2:
        return None
    centres = [((x + ew / 2.0) / s, (y + eh / 2.0) / s) for x, y, ew, eh in np.asarray(found).tolist()]
    tl, tr = _targets(w, h)
    best: tuple[float, tuple[float, float], tuple[float, float]] | None = None
    for lx, ly in (c for c in centres if c[0] < w / 2.0):
        for rx, ry in (c for c in centres if c[0] >= w / 2.0):
            dx, dy = rx - lx, ry - ly
            if dx < 0.2 * w or abs(math.degrees(math.atan2(dy, dx))) > _MAX_TILT:
                continue
            cost = math.hypot(lx - tl[0], ly - tl[1]) + math.hypot(rx - tr[0], ry - tr[1])
            if best is None or cost < best[0]:
                best = (cost, (lx, ly), (rx, ry))
    if best is None:
        return None
    (lx, ly), (rx, ry) = best[1], best[2]
    return (x0 + lx, y0 + ly), (x0 + rx, y0 + ry)


def eye_matrix(eyes: tuple[tuple[float, float], tuple[float, float]], w: int, h: int) -> np.ndarray:
    """The (2, 3) similarity transform taking the two eye centres (frame pixels) onto the
    targets of a (h, w) output.

    Parameters
    ----------
    eyes : tuple of two (x, y) float pairs
        The image-left then the image-right eye centre, in frame pixels (:func:`detect_eyes`).
    w, h : int
        Width and height of the output, pixels (the targets are :data:`EYE_TARGETS` scaled to them).

    Returns
    -------
    ndarray of shape (2, 3), float64
        ``[[a, -b, tx], [b, a, ty]]``, frame pixels -> output pixels, mapping both eyes exactly
        onto their targets.
    """
    src = np.asarray(eyes, np.float64)
    dst = _targets(w, h)
    vs, vd = src[1] - src[0], dst[1] - dst[0]
    scale = math.hypot(*vd) / max(math.hypot(*vs), 1e-9)
    rot = math.atan2(vd[1], vd[0]) - math.atan2(vs[1], vs[0])
    a, b = scale * math.cos(rot), scale * math.sin(rot)
    lin = np.array([[a, -b], [b, a]])
    shift = dst[0] - lin @ src[0]
    return np.hstack([lin, shift[:, None]])


def _mapped(m: np.ndarray, p: tuple[float, float]) -> tuple[float, float]:
    return (float(m[0, 0] * p[0] + m[0, 1] * p[1] + m[0, 2]), float(m[1, 0] * p[0] + m[1, 1] * p[1] + m[1, 2]))


def align_face(gray: np.ndarray, box: FaceBox) -> Alignment:
    """The face in ``box`` of a (H, W) uint8 frame, registered by its eyes.

    Parameters
    ----------
    gray : (H, W) uint8 frame.
    box : the δ/γ-cropped face box, in frame pixels.

    Returns
    -------
    An :class:`Alignment` whose ``crop`` is (box.h, box.w) uint8: the frame warped so the
    eyes land on :data:`EYE_TARGETS` (pixels outside the frame replicate its border), or
    the unaligned crop (a view of ``gray``) when the eyes are not found.
    """
    import cv2

    eyes = detect_eyes(gray, box)
    if eyes is None:
        shift = np.array([[1.0, 0.0, -box.x], [0.0, 1.0, -box.y]])
        return Alignment(gray[box.y : box.y + box.h, box.x : box.x + box.w], False, None, shift, 0.0)
    m = eye_matrix(eyes, box.w, box.h)
    crop = cv2.warpAffine(gray, m, (box.w, box.h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if abs(math.degrees(math.atan2(m[1, 0], m[0, 0]))) > _REFINE_TILT:
        # the cascade places tilted eyes less precisely: look again on the levelled face
        again = detect_eyes(crop, FaceBox(0, 0, box.w, box.h))
        if again is not None:
            inv = cv2.invertAffineTransform(m)
            eyes = _mapped(inv, again[0]), _mapped(inv, again[1])
            m = eye_matrix(eyes, box.w, box.h)
            crop = cv2.warpAffine(gray, m, (box.w, box.h), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
    # image y points down: a counter-clockwise turn as displayed is a negative atan2 angle
    angle = -math.degrees(math.atan2(m[1, 0], m[0, 0]))
    return Alignment(crop, True, eyes, m, angle)


def similarity_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The least-squares similarity transform (rotation, uniform scale, shift) taking ``src`` onto ``dst``.

    Parameters
    ----------
    src, dst : (N, 2) float arrays of N >= 2 corresponding (x, y) points.

    Returns
    -------
    (2, 3) float64 numpy.ndarray
        ``[[a, -b, tx], [b, a, ty]]`` minimising the summed squared distances (Umeyama's closed
        form without reflection); for N = 2 it maps both points exactly.

    Raises
    ------
    ValueError
        For mismatched shapes, fewer than two points, or points that all coincide.
    """
    s, d = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if s.ndim != 2 or s.shape[1] != 2 or s.shape != d.shape or len(s) < 2:
        raise ValueError(f"src and dst must be (N, 2) with N >= 2 and the same shape, got {s.shape} and {d.shape}")
    ms, md = s.mean(0), d.mean(0)
    sc, dc = s - ms, d - md
    var = float((sc ** 2).sum())
    if var <= 1e-12:
        raise ValueError("the source points coincide: no similarity transform")
    a = float((sc * dc).sum()) / var
    b = float((sc[:, 0] * dc[:, 1] - sc[:, 1] * dc[:, 0]).sum()) / var
    lin = np.array([[a, -b], [b, a]])
    return np.hstack([lin, (md - lin @ ms)[:, None]])


def warp_to_landmarks(gray: np.ndarray, points: np.ndarray, targets: np.ndarray, size: tuple[int, int]) -> tuple[
        np.ndarray, np.ndarray]:
    """Warp a frame so that ``points`` land (in the least-squares sense) on ``targets``.

    Parameters
    ----------
    gray : (H, W) or (H, W, C) uint8 numpy.ndarray
    points : (N, 2) float, frame pixels (e.g. the rows of :meth:`FaceBox.landmark_array`).
    targets : (N, 2) float, output pixels.
    size : (width, height) of the output.

    Returns
    -------
    crop : (height, width[, C]) uint8, bilinear, pixels outside the frame replicating its border.
    matrix : (2, 3) float64, frame pixels -> output pixels (:func:`similarity_matrix`).
    """
    import cv2

    m = similarity_matrix(points, targets)
    crop = cv2.warpAffine(gray, m, (int(size[0]), int(size[1])), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    return crop, m


def landmark_align(gray: np.ndarray, box: FaceBox) -> Alignment:
    """The face in ``box`` registered by its landmarks (a "yunet" box): eyes and mouth corners onto
    :data:`EYE_TARGETS` and :data:`MOUTH_TARGETS`.

    Parameters
    ----------
    gray : (H, W) uint8 frame.
    box : the δ/γ-cropped face box, with ``landmarks``.

    Returns
    -------
    An :class:`Alignment` whose ``crop`` is (box.h, box.w) uint8; its ``eyes`` are the eye
    landmarks (image left first).  Without landmarks (or with degenerate ones), the unaligned
    crop and ``aligned=False``.
    """
    pts = box.landmark_array()
    if pts is None or not np.isfinite(pts).all():
        shift = np.array([[1.0, 0.0, -box.x], [0.0, 1.0, -box.y]])
        return Alignment(gray[box.y : box.y + box.h, box.x : box.x + box.w], False, None, shift, 0.0)
    dst = np.array([*EYE_TARGETS, *MOUTH_TARGETS], np.float64) * [box.w, box.h]
    src = _eyes_mouth(pts)
    try:
        m = similarity_matrix(src, dst)
        for _ in range(_LEVEL_LOOKS):
            # YuNet's landmarks under-report a tilt (by about a third at 20 degrees): where the
            # face is tilted, they are found again on the levelled face and mapped back
            if abs(math.degrees(math.atan2(m[1, 0], m[0, 0]))) <= _REFINE_TILT:
                break
            again = _levelled_landmarks(gray, src, m, box)
            if again is None:
                break
            before = math.atan2(m[1, 0], m[0, 0])
            src = again
            m = similarity_matrix(src, dst)
            if abs(math.degrees(math.atan2(m[1, 0], m[0, 0]) - before)) < _LEVEL_STEP:
                break
    except ValueError:
        shift = np.array([[1.0, 0.0, -box.x], [0.0, 1.0, -box.y]])
        return Alignment(gray[box.y : box.y + box.h, box.x : box.x + box.w], False, None, shift, 0.0)
    import cv2

    crop = cv2.warpAffine(gray, m, (box.w, box.h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    angle = -math.degrees(math.atan2(m[1, 0], m[0, 0]))
    eyes = ((float(src[0, 0]), float(src[0, 1])), (float(src[1, 0]), float(src[1, 1])))
    return Alignment(crop, True, eyes, m, angle)


def _eyes_mouth(pts: np.ndarray) -> np.ndarray:
    """(4, 2) float64: the eyes then the mouth corners of five YuNet landmarks, image left first in each pair."""
    eyes = sorted((tuple(map(float, pts[0])), tuple(map(float, pts[1]))))
    mouth = sorted((tuple(map(float, pts[3])), tuple(map(float, pts[4]))))
    return np.array([*eyes, *mouth], np.float64)


def _levelled_landmarks(gray: np.ndarray, src: np.ndarray, m: np.ndarray, box: FaceBox) -> np.ndarray | None:
    """The eyes and mouth corners (frame pixels) found by YuNet on a levelled copy of the face, or None."""
    import cv2

    theta = math.degrees(math.atan2(m[1, 0], m[0, 0]))  # the turn that levels the face
    c = src.mean(0)
    side = int(2 * max(box.w, box.h))
    lev = cv2.getRotationMatrix2D((float(c[0]), float(c[1])), -theta, 1.0)
    lev[:, 2] += side / 2.0 - c
    region = cv2.warpAffine(gray, lev, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    faces = detect_yunet(region, side, 0.2, _LEVEL_SCORE)
    if not faces:
        return None
    near = min(faces, key=lambda f: (f.box[0] + f.box[2] / 2 - side / 2) ** 2
               + (f.box[1] + f.box[3] / 2 - side / 2) ** 2)
    inv = cv2.invertAffineTransform(lev)
    pts = np.hstack([near.landmarks.astype(np.float64), np.ones((5, 1))]) @ inv.T
    return _eyes_mouth(pts)


def face_crop(gray: np.ndarray, box: FaceBox, align: bool) -> tuple[np.ndarray, bool | None]:
    """The (box.h, box.w) uint8 face a model reduces: aligned when ``align`` (by the box's landmarks
    where it has them, else by the eye cascade).

    Parameters
    ----------
    gray : ndarray of shape (H, W), uint8
        The frame.
    box : FaceBox
        The δ/γ-cropped face box, in frame pixels (with ``landmarks`` from the "yunet" detector).
    align : bool
        Whether to align the face (:func:`landmark_align` or :func:`align_face`) or just crop it.

    Returns
    -------
    crop : ndarray of shape (box.h, box.w), uint8
        The face: aligned, or the unaligned crop (a view of ``gray``).
    aligned : bool or None
        Whether it was aligned (None when ``align`` is False).
    """
    if not align:
        return gray[box.y : box.y + box.h, box.x : box.x + box.w], None
    a = landmark_align(gray, box) if box.landmarks is not None else align_face(gray, box)
    return a.crop, a.aligned


def warn_fallbacks(aligned: list[bool | None]) -> int:
    """Warn (``UserWarning``) how many faces of an aligned model's batch kept the unaligned crop.

    Parameters
    ----------
    aligned : list of bool or None
        The second value :func:`face_crop` returned for each face of the batch (False: a fallback).

    Returns
    -------
    int
        That number (0 when none or when alignment is off).

    Warns
    -----
    UserWarning
        When that number is not 0.
    """
    n = sum(a is False for a in aligned)
    if n:
        import warnings

        warnings.warn(f"eye alignment: eyes not found in {n} of {len(aligned)} faces; their unaligned crops "
                      "were used", UserWarning, stacklevel=3)
    return n
