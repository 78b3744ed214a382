"""Face tracks across video frames: IoU association, region search between detections, EMA smoothing.

* :class:`Tracker` gives each face a stable integer id.  The boxes of a full detection are
  matched to the tracks' predicted boxes (last box moved by the track's velocity) greedily
  by intersection over union (IoU), highest first, if at least ``min_iou``.  A fast face
  overlaps nothing before its track has a velocity (it moved more than its own width since
  the last analysed frame), so the boxes and tracks left over are then matched greedily by
  centre distance, nearest first: a box continues a track if its centre is at most
  ``max_jump`` (default 2) times the track's box side from the predicted box's centre and
  its side is within ``max_size_ratio`` (default 1.5) of the track's.  A box still left
  over starts a new track (ids count up from 0 and are never reused); a track matched in
  none of ``max_unseen`` consecutive analysed frames ends.
* :func:`search_region` finds a tracked face again in a region around its predicted box,
  between full detections: the single-pass cascade (YuNet for the "yunet" detector) on that
  region only (YuNet also for a face that "cascade+yunet" found by YuNet), at the scale the full
  detector would use on the whole frame (finer for faces under the cascade's window there).
* :func:`ema` smooths a track's class probabilities with a time constant in seconds.

All boxes here are the δ/γ-cropped boxes a model classifies (frame pixels).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..face.detect import DETECTORS, DetectorSettings, FaceBox, crop_box, detect_faces, iou
from ..face.framing import frame_box

__all__ = ["iou", "Track", "Tracker", "search_region", "ema"]

#: face side (pixels) of the region search's working copy where the full detector's copy would
#: show the face under the cascade's 24-pixel window (a face coarse2fine found on a finer copy)
_SEARCH_FACE_PX = 30


@dataclass
class Track:
    """One face followed over frames.

    Attributes
    ----------
    id : int
        The track id, unique within a :class:`Tracker`.
    box : FaceBox
        Its last box (δ/γ-cropped, frame pixels).
    velocity : tuple of (float, float), default=(0.0, 0.0)
        (dx, dy) pixels per analysed frame of the box's top-left corner (smoothed).
    unseen : int, default=0
        Consecutive analysed frames in which it was not found (0: found in the last one).
    smoothed : ndarray or None, default=None
        (n_classes,) float64 smoothed probabilities (None until the first, or without smoothing).
    last_time : float or None, default=None
        Time of the last probabilities, seconds.
    age : int, default=1
        Frames in which it was found.
    """

    id: int
    box: FaceBox
    velocity: tuple[float, float] = (0.0, 0.0)
    unseen: int = 0
    smoothed: np.ndarray | None = None
    last_time: float | None = None
    age: int = 1

    def predicted(self) -> FaceBox:
        """The box (and its landmarks) moved by the velocity over the frames since it was last seen."""
        k = self.unseen + 1
        dx, dy = k * self.velocity[0], k * self.velocity[1]
        marks = self.box.landmarks
        moved = None if marks is None else tuple((x + dx, y + dy) for x, y in marks)
        return FaceBox(int(round(self.box.x + dx)), int(round(self.box.y + dy)), self.box.w, self.box.h,
                       moved, self.box.score)  # type: ignore[arg-type]

    def moved_to(self, box: FaceBox) -> None:
        """Record ``box`` as this frame's (velocity: half old, half the new displacement per frame).

        Parameters
        ----------
        box : FaceBox
            This frame's box.
        """
        k = self.unseen + 1
        dx, dy = (box.x - self.box.x) / k, (box.y - self.box.y) / k
        if self.age > 1:
            dx, dy = 0.5 * (self.velocity[0] + dx), 0.5 * (self.velocity[1] + dy)
        self.velocity = (dx, dy)
        self.box, self.unseen, self.age = box, 0, self.age + 1


class Tracker:
    """Track ids for the faces of successive frames (see the module docstring).

    Parameters
    ----------
    max_unseen : int, default=5
        K; a track not found in K consecutive analysed frames ends (>= 1).
    min_iou : float, default=0.3
        Least IoU between a box and a track's predicted box to continue the track, in (0, 1].
    max_jump : float, default=2.0
        The centre-distance fallback for boxes and tracks IoU left unmatched: a box
        continues a track if its centre is at most ``max_jump`` times the track's box side
        (its larger dimension) from the predicted box's centre (>= 0; 0: no fallback).
    max_size_ratio : float, default=1.5
        ... and the larger of the two boxes' sides is at most this times the
        smaller (>= 1).

    Not thread safe: one tracker per video (per thread).
    """

    def __init__(self, max_unseen: int = 5, min_iou: float = 0.3, max_jump: float = 2.0,
                 max_size_ratio: float = 1.5) -> None:
        if isinstance(max_unseen, bool) or not isinstance(max_unseen, (int, np.integer)) or max_unseen < 1:
            raise ValueError(f"max_unseen must be an integer >= 1, got {max_unseen!r}")
        if not 0.0 < float(min_iou) <= 1.0:
            raise ValueError(f"min_iou must be in (0, 1], got {min_iou!r}")
        if not float(max_jump) >= 0.0 or math.isinf(float(max_jump)):
            raise ValueError(f"max_jump must be a finite number >= 0, got {max_jump!r}")
        if not float(max_size_ratio) >= 1.0 or math.isinf(float(max_size_ratio)):
            raise ValueError(f"max_size_ratio must be a finite number >= 1, got {max_size_ratio!r}")
        self.max_unseen = int(max_unseen)
        self.min_iou = float(min_iou)
        self.max_jump = float(max_jump)
        self.max_size_ratio = float(max_size_ratio)
        self.tracks: list[Track] = []
        self._next_id = 0

    @property
    def started(self) -> int:
        """Tracks started so far (the next id)."""
        return self._next_id

    def associate(self, boxes: Sequence[FaceBox]) -> list[Track]:
        """Match the boxes of a full detection to the tracks; the track of each box, in the order of ``boxes``.

        IoU first, then the centre-distance fallback for what is left; unmatched boxes start
        tracks; unmatched tracks count one more unseen frame and end after ``max_unseen``.

        Parameters
        ----------
        boxes : sequence of FaceBox
            A full detection's boxes.

        Returns
        -------
        list of Track
            The track of each box, in order.
        """
        pairs = sorted(((iou(t.predicted(), b), ti, bi) for ti, t in enumerate(self.tracks)
                        for bi, b in enumerate(boxes)), key=lambda p: (-p[0], p[1], p[2]))
        of_box: dict[int, Track] = {}
        used: set[int] = set()
        for overlap, ti, bi in pairs:
            if overlap < self.min_iou:
                break
            if ti in used or bi in of_box:
                continue
            used.add(ti)
            of_box[bi] = self.tracks[ti]
        for ti, bi in self._nearest(boxes, used, of_box.keys()):
            used.add(ti)
            of_box[bi] = self.tracks[ti]
        for bi, b in enumerate(boxes):
            if bi in of_box:
                of_box[bi].moved_to(b)
            else:
                of_box[bi] = Track(self._next_id, b)
                self._next_id += 1
        self._age([t for i, t in enumerate(self.tracks) if i not in used])
        self.tracks.extend(t for t in of_box.values() if t not in self.tracks)
        return [of_box[bi] for bi in range(len(boxes))]

    def _nearest(self, boxes: Sequence[FaceBox], used_tracks: set[int], used_boxes: Iterable[int]
                 ) -> list[tuple[int, int]]:
        """(track, box) index pairs of the centre-distance fallback among the unmatched ones, nearest first."""
        if self.max_jump <= 0.0:
            return []
        busy, taken = set(used_tracks), set(used_boxes)
        pairs = []
        for ti, t in enumerate(self.tracks):
            if ti in busy:
                continue
            p, side = t.predicted(), max(t.box.w, t.box.h)
            for bi, b in enumerate(boxes):
                other = max(b.w, b.h)
                if bi in taken or max(side, other) > self.max_size_ratio * max(1, min(side, other)):
                    continue
                d = math.hypot(b.x + b.w / 2 - p.x - p.w / 2, b.y + b.h / 2 - p.y - p.h / 2) / max(1, side)
                if d <= self.max_jump:
                    pairs.append((d, ti, bi))
        out: list[tuple[int, int]] = []
        for _, ti, bi in sorted(pairs):
            if ti not in busy and bi not in taken:
                busy.add(ti)
                taken.add(bi)
                out.append((ti, bi))
        return out

    def follow(self, found: Sequence[tuple[Track, FaceBox]]) -> None:
        """Record boxes found by region search for these tracks; the other tracks count one unseen frame.

        Parameters
        ----------
        found : sequence of (Track, FaceBox)
            Tracks and the boxes region search found for them.
        """
        for t, b in found:
            t.moved_to(b)
        seen = {id(t) for t, _ in found}
        self._age([t for t in self.tracks if id(t) not in seen])

    def _age(self, missed: list[Track]) -> None:
        for t in missed:
            t.unseen += 1
        self.tracks = [t for t in self.tracks if t.unseen < self.max_unseen]


def search_region(gray: np.ndarray, box: FaceBox, settings: DetectorSettings, delta: float, gamma: float,
                  margin: float = 0.5, color: np.ndarray | None = None,
                  framing: tuple[float, float] = (1.0, 0.0)) -> FaceBox | None:
    """The face near ``box`` in ``gray``, δ/γ-cropped as the model crops, or None.

    Parameters
    ----------
    gray : (H, W) uint8 frame.
    box : FaceBox
        The predicted δ/γ-cropped box of the face (frame pixels).
    settings : DetectorSettings
        The full detector's settings; the region is searched with the single-pass
        cascade at the scale that detector uses for the whole frame (``detect_size`` over
        the frame's longer side) and on the same pixel grid, finer where the face would be
        under the cascade's 24-pixel window there.
    delta, gamma : the model's crop factors (to undo and redo the crop).
    margin : float, default=0.5
        The region extends this fraction of the uncropped face side beyond it on
        every side.
    color : (H, W, 3|4) BGR uint8 ndarray or None, default None
        The frame in colour; with the "yunet" detector the region is
        searched by YuNet (in colour when given) at the full detection's scale, and the box
        found keeps its landmarks (in frame pixels).
    framing : tuple of float, default (1.0, 0.0)
        The model's (frame_scale, frame_shift) (:func:`dlfers.face.framing.frame_box`):
        found boxes are framed as the model frames them before the crop.

    Returns
    -------
    The found face's cropped box with the highest IoU with ``box`` (any overlap), else None.
    """
    h, w = gray.shape
    side = max(box.w / max(1e-6, 1.0 - 2.0 * delta), box.h / max(1e-6, 1.0 - gamma))
    # YuNet searches where the detector is "yunet", or "cascade+yunet" and the face was found by its
    # YuNet fallback (the box has landmarks), at the scale of the full YuNet pass
    by_yunet = settings.detector == "yunet" or (settings.detector == "cascade+yunet" and box.landmarks is not None)
    full_size = DETECTORS["yunet"][0] if by_yunet and settings.detector != "yunet" else settings.detect_size
    scale = min(1.0, full_size / max(h, w))
    if side * scale < 24:  # a small face (found by coarse2fine): a finer copy
        scale = min(1.0, _SEARCH_FACE_PX / side)
    # the region on the pixel grid of the full detector's copy of the frame (corners and size
    # multiples of 1 / scale), so that its boxes are placed as a full detection places them
    step = 1.0 / scale
    cx, top = box.x + box.w / 2.0, box.y - gamma * side  # the uncropped box's centre x and top
    pad = margin * side
    x0 = max(0, int(math.floor((cx - side / 2 - pad) / step) * step))
    y0 = max(0, int(math.floor((top - pad) / step) * step))
    x1 = min(w, int(round(math.ceil((cx + side / 2 + pad - x0) / step) * step)) + x0)
    y1 = min(h, int(round(math.ceil((top + side + pad - y0) / step) * step)) + y0)
    if min(x1 - x0, y1 - y0) * scale < 24:
        return None
    region = gray[y0:y1, x0:x1]
    size = max(24, int(round(max(region.shape) * scale)))
    # faces at least 0.7x the tracked one (its detector box: the framed side over frame_scale)
    min_face = min(1.0, 0.7 * side / framing[0] / min(region.shape))
    if by_yunet:
        found = detect_faces(region, size, min_face, detector="yunet", score_threshold=settings.score_threshold,
                             color=None if color is None else color[y0:y1, x0:x1])
    else:
        found = detect_faces(region, size, min_face, settings.scale_factor, detector="cascade")
    best, best_iou = None, 0.0
    for f in found:
        lm = None if f.landmarks is None else tuple((x + x0, y + y0) for x, y in f.landmarks)
        found_box = FaceBox(f.x + x0, f.y + y0, f.w, f.h, lm, f.score)  # type: ignore[arg-type]
        c = crop_box(frame_box(found_box, *framing, (h, w)), delta, gamma, (h, w))
        o = iou(c, box)
        if o > best_iou:
            best, best_iou = c, o
    return best


def ema(previous: np.ndarray | None, current: np.ndarray, dt: float, tau: float) -> np.ndarray:
    """One step of an exponential moving average with time constant ``tau`` seconds.

    ``s = previous + a * (current - previous)`` with ``a = 1 - exp(-dt / tau)``; the first
    value (``previous`` None) is ``current`` itself.  The weights of past values decay as
    ``exp(-age / tau)``: a step change reaches 63 % of its size after ``tau`` seconds and
    95 % after ``3 tau``, and the smoothed series lags the raw one by about ``tau`` seconds
    (the mean age of its weights; exactly ``dt (1 - a) / a`` for a constant frame interval ``dt``).

    Parameters
    ----------
    previous : (n,) float64 or None.
    current : (n,) float64.
    dt : seconds since ``previous`` (>= 0).
    tau : time constant, seconds (> 0).

    Returns
    -------
    ndarray of shape (n,), dtype float64
        The smoothed value.
    """
    cur: np.ndarray = np.array(current, np.float64)
    if previous is None:
        return cur
    a = 1.0 - math.exp(-max(0.0, float(dt)) / float(tau))
    out: np.ndarray = previous + a * (cur - previous)
    return out
