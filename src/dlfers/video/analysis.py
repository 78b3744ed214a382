"""Expressions of tracked faces over a video: :class:`VideoAnalyzer` for live loops, :func:`analyze_video` for sources.

Per analysed frame the analyzer either runs the model's full face detector (through
:meth:`DLFERS.predict_image`: every ``detect_every``-th frame, whenever there is no
track, and whenever a track's region search fails) or searches each track's face only
in a region around its predicted box (:func:`dlfers.video.tracking.search_region`) and
classifies the boxes found (:func:`dlfers.model.frames.classify_boxes`).  Faces get track
ids (:class:`dlfers.video.tracking.Tracker`); optionally each track's probabilities are
smoothed over time (:func:`dlfers.video.tracking.ema`).

The state kept between frames is one entry per live track: per-frame time does not
grow with the length of a video.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..face.detect import FaceBox, color_frame
from ..image.read import ImageError, to_gray_uint8
from ..model.frames import classify_boxes
from ..model.results import FaceResult, check_predict_options
from .sources import FrameSource
from .tracking import Track, Tracker, ema, search_region

if TYPE_CHECKING:  # pragma: no cover
    from ..model.estimator import DLFERS

__all__ = ["TrackResult", "FrameResult", "VideoAnalyzer", "analyze_video"]


@dataclass(frozen=True)
class TrackResult:
    """The expression of one tracked face in one frame.

    Attributes
    ----------
    track : int
        The track id (stable across frames, never reused within a video).
    box : FaceBox
        The δ/γ-cropped face box in frame pixels.
    label : object
        The predicted class: the model's label, or with smoothing the most probable
        class of the smoothed probabilities (ties to the first in class order).
    probabilities : dict of object to float
        Class -> probability (smoothed when smoothing is on), in the model's
        class order; sums to 1.
    detected : bool, default=True
        True when the box comes from a full detection, False from the region search.
    """

    track: int
    box: FaceBox
    label: Any
    probabilities: dict[Any, float]
    detected: bool = True

    def face(self) -> FaceResult:
        """As a :class:`dlfers.FaceResult` (for drawing)."""
        return FaceResult(found=True, box=self.box, label=self.label, probabilities=self.probabilities)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: :meth:`FaceResult.to_dict` plus ``track`` and ``detected``."""
        return {"track": self.track, **self.face().to_dict(), "detected": self.detected}


@dataclass(frozen=True)
class FrameResult:
    """The tracked faces of one analysed frame.

    Attributes
    ----------
    frame : int
        Index of the frame in the source (from 0; frames skipped by ``every`` count).
    time_s : float
        Its time in seconds.
    faces : list of TrackResult, default=field(default_factory=list)
        One :class:`TrackResult` per face, largest detected first (empty: no face, or an error).
    error : str or None, default=None
        Why the frame could not be analysed ("ImageError: ..."), else None.
    """

    frame: int
    time_s: float
    faces: list[TrackResult] = field(default_factory=list)
    error: str | None = None

    @property
    def status(self) -> str:
        """``"ok"`` (a face), ``"no_face"`` or ``"error"``."""
        return "error" if self.error else "ok" if self.faces else "no_face"

    def to_dict(self) -> dict[str, Any]:
        """The JSON lines record: ``frame``, ``time`` (s), ``status``, ``faces``, ``error``."""
        return {"frame": self.frame, "time": round(self.time_s, 6), "status": self.status,
                "faces": [f.to_dict() for f in self.faces], "error": self.error}


class VideoAnalyzer:
    """Tracked expressions frame by frame, for a live loop or any frame source.

    Parameters
    ----------
    model : DLFERS
        A fitted :class:`dlfers.DLFERS` (only read; one analyzer per thread).
    detect_every : int, default=1
        Run the full face detector every this many analysed frames (>= 1; 1:
        every frame, no region search).  It also runs when there is no track and when a
        track's region search fails.  New faces appear only at full detections.
    smooth : float or None, default=None
        Time constant in seconds of the probabilities' exponential moving average
        per track (None: no smoothing, the default).  Smoothing delays changes by about
        ``smooth`` seconds (63 % of a step after ``smooth`` s, 95 % after 3x; see
        :func:`dlfers.video.tracking.ema`).
    max_unseen : int, default=5
        K; a track not found in K consecutive analysed frames ends; a face that
        comes back later gets a new id.
    min_iou : float, default=0.3
        Least overlap (IoU) with a track's predicted box to continue it.
    max_faces : int or None, default=None
        Detect at most the largest this many faces per full detection (None: all).
    detect_size, min_face, detect_scale : int or None, float or None, float or None, default=None
        Detector overrides as :meth:`DLFERS.predict_image`.

    Examples
    --------
    >>> analyzer = VideoAnalyzer(model, detect_every=5, smooth=0.5)    # doctest: +SKIP
    >>> while True:                                                    # doctest: +SKIP
    ...     ok, frame = camera.read()
    ...     for face in analyzer.update(frame):
    ...         print(face.track, face.label, face.box)
    """

    def __init__(self, model: DLFERS, *, detect_every: int = 1, smooth: float | None = None,
                 max_unseen: int = 5, min_iou: float = 0.3, max_faces: int | None = None,
                 detect_size: int | None = None, min_face: float | None = None,
                 detect_scale: float | None = None) -> None:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "svms_")
        settings = check_predict_options(model, max_faces, detect_size, min_face, detect_scale)
        if isinstance(detect_every, bool) or not isinstance(detect_every, (int, np.integer)) or detect_every < 1:
            raise ValueError(f"detect_every must be an integer >= 1, got {detect_every!r}")
        if smooth is not None and not (isinstance(smooth, (int, float)) and smooth > 0):
            raise ValueError(f"smooth must be a time constant in seconds > 0, or None, got {smooth!r}")
        self.model, self.detect_every, self.smooth = model, int(detect_every), smooth
        self.max_faces = max_faces
        self.overrides: dict[str, Any] = dict(detect_size=detect_size, min_face=min_face, detect_scale=detect_scale)
        self.settings = settings
        self.tracker = Tracker(max_unseen, min_iou)
        self.classes = model.classes_.tolist()
        self._since_detect = self.detect_every  # the first frame is a full detection
        self._t0: float | None = None
        self._frames = 0

    def update(self, frame: np.ndarray, time_s: float | None = None) -> list[TrackResult]:
        """The tracked faces of the next frame.

        Parameters
        ----------
        frame : (H, W) gray or (H, W, 3|4) BGR(A) array; uint8, uint16 or float.
        time_s : float or None, default=None
            The frame's time in seconds (None: seconds since the first update, by the
            monotonic clock: right for a live camera).  Used by smoothing only.

        Returns
        -------
        One :class:`TrackResult` per face found, largest detected first (empty: no face).

        Raises
        ------
        dlfers.image.read.ImageError
            For an array that is not a usable image.
        """
        if time_s is None:
            now = time.monotonic()
            self._t0 = now if self._t0 is None else self._t0
            time_s = now - self._t0
        self._frames += 1
        found = None if self._due() else self._search(to_gray_uint8(frame), color_frame(frame))
        if found is None:
            faces = [r for r in self.model.predict_image(frame, self.max_faces, **self.overrides) if r.found]
            tracks = self.tracker.associate([r.box for r in faces if r.box is not None])
            self._since_detect = 1
            detected = True
        else:
            tracks, faces = found
            self._since_detect += 1
            detected = False
        return [self._result(t, r, float(time_s), detected) for t, r in zip(tracks, faces)]

    def _due(self) -> bool:
        return (self.detect_every == 1 or self._since_detect >= self.detect_every or not self.tracker.tracks
                or any(t.unseen for t in self.tracker.tracks))

    def _search(self, gray: np.ndarray, color: np.ndarray | None = None) -> tuple[list[Track], list[FaceResult]] | None:
        """Every live track's face by region search and its classification; None if one is lost."""
        boxes = []
        for t in self.tracker.tracks:
            b = search_region(gray, t.predicted(), self.settings, self.model.delta, self.model.gamma, color=color,
                              framing=(float(self.model.frame_scale), float(self.model.frame_shift)))
            if b is None:
                return None
            boxes.append(b)
        found = list(zip(self.tracker.tracks, boxes))
        self.tracker.follow(found)
        return [t for t, _ in found], classify_boxes(self.model, gray, boxes)

    def _result(self, t: Track, r: FaceResult, time_s: float, detected: bool) -> TrackResult:
        assert r.box is not None
        probs, label = r.probabilities, r.label
        if self.smooth is not None:
            p = np.array([r.probabilities[c] for c in self.classes], np.float64)
            dt = 0.0 if t.last_time is None else time_s - t.last_time
            t.smoothed, t.last_time = ema(t.smoothed, p, dt, float(self.smooth)), time_s
            probs = dict(zip(self.classes, t.smoothed.tolist()))
            label = self.classes[int(np.argmax(t.smoothed))]
        return TrackResult(t.id, r.box, label, probs, detected)


def analyze_video(model: DLFERS, source: str | os.PathLike[str] | int, *, every: int = 1, fps: float | None = None,
                  max_frames: int | None = None, **options: Any) -> Iterator[FrameResult]:
    """Tracked expressions of every ``every``-th frame of a video file, a folder of frames or a camera.

    Parameters
    ----------
    model : DLFERS
        A fitted :class:`dlfers.DLFERS`.
    source : str or os.PathLike or int
        Video file, folder of image files (sorted by name), or camera index (int).
    every : int, default=1
        Analyse every ``every``-th frame (>= 1).
    fps : float or None, default=None
        Frame rate of a folder of frames (None: 25).
    max_frames : int or None, default=None
        Stop after this many analysed frames (None: the whole source; a camera
        runs until interrupted).
    options : :class:`VideoAnalyzer` keywords (``detect_every``, ``smooth``, ``max_unseen``,
        ``min_iou``, ``max_faces``, ``detect_size``, ``min_face``, ``detect_scale``).

    Yields
    ------
    :class:`FrameResult` per analysed frame; a frame that cannot be read or analysed gives
    one with ``error`` set, and the analysis goes on.

    Raises
    ------
    ValueError
        For a source that cannot be opened (named in the message) or bad options.
    """
    analyzer = VideoAnalyzer(model, **options)
    with FrameSource(source, every, fps) as src:
        yield from analyze_frames(analyzer, src, max_frames)


def analyze_frames(analyzer: VideoAnalyzer, src: FrameSource, max_frames: int | None = None) -> Iterator[FrameResult]:
    """:class:`FrameResult` of each frame of an open :class:`FrameSource` (see :func:`analyze_video`).

    Parameters
    ----------
    analyzer : VideoAnalyzer
        The tracker and model.
    src : FrameSource
        An open frame source.
    max_frames : int or None, default=None
        Stop after this many analysed frames (None: at the end).

    Returns
    -------
    iterator of FrameResult
        One per analysed frame.
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be an integer >= 1 or None, got {max_frames!r}")
    n = 0
    for index, t, frame in src.frames():
        n += 1
        if isinstance(frame, ImageError):
            result = FrameResult(index, t, error=f"ImageError: {frame}")
        else:
            try:
                result = FrameResult(index, t, analyzer.update(frame, t))
            except ValueError as exc:
                result = FrameResult(index, t, error=f"{type(exc).__name__}: {exc}")
        yield result
        if max_frames is not None and n >= max_frames:  # before reading another frame
            return
