"""Expression recognition on a video: annotated copy with track ids, JSON lines, CSV, plot, summary.

:func:`annotate_video` runs :func:`dlfers.video.analysis.analyze_frames` over a video
file, a folder of frames or a camera and streams each analysed frame to the outputs asked
for.  Each JSON lines record is :meth:`dlfers.video.analysis.FrameResult.to_dict`:
``{"frame": int, "time": float (s), "status": "ok" | "no_face" | "error",
"faces": [{"track": int, "found": true, "box": [x, y, w, h], "label": ..., "probabilities":
{class: p}, "detected": bool}, ...], "error": str | null}`` (``faces`` is empty unless
``status`` is ``"ok"``).  The CSV, plot and summary are described in :mod:`dlfers.video.outputs`.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from .._util.outputs import atomic_open, atomic_path, check_outputs
from .._util.progress import progress_counter
from ..explain.plots import draw_strongest_region
from ..image.read import path_problem
from ..model.evidence import check_explainable
from ..model.results import FaceResult
from ..predict.draw import draw_results
from .analysis import VideoAnalyzer, analyze_frames
from .outputs import CsvWriter, TrackSeries, TrackSummary, plot_tracks
from .sources import FrameSource, source_name

if TYPE_CHECKING:  # pragma: no cover
    from ..model.estimator import DLFERS
    from .analysis import TrackResult

__all__ = ["VideoStats", "annotate_video", "draw_tracks"]

#: failed frames named in :meth:`VideoStats.errors_message`
_SHOWN_ERRORS = 3
_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


@dataclass
class VideoStats:
    """What :func:`annotate_video` did.

    Attributes
    ----------
    frames : frames analysed (every ``every``-th frame read).
    with_faces : analysed frames with at least one face.
    errors : frames whose analysis failed.
    seconds : wall time.
    expected_frames : int or None, default=None
        The container's frame count (``CAP_PROP_FRAME_COUNT``; files of a
        folder), None if it does not say.
    read : int, default=-1
        Frames read from the source (skipped ones included; -1: same as ``frames``).
    tracks : int, default=0
        Face tracks started.
    source : str, default=''
        The source as messages name it.
    limited : bool, default=False
        Stopped at ``max_frames`` (or by Ctrl-C on a camera), not at the end of the source.
    first_errors : list of str, default=[]
        The first few failed frames, "frame <i>: <why>" (the why names a folder's file).
    """

    frames: int
    with_faces: int
    errors: int
    seconds: float
    expected_frames: int | None = None
    read: int = -1
    tracks: int = 0
    source: str = ""
    limited: bool = False
    first_errors: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Frames analysed per second of wall time."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def stopped_early(self) -> bool:
        """Fewer frames could be read than the container announces (a truncated or damaged file)."""
        read = self.frames if self.read < 0 else self.read
        return not self.limited and self.expected_frames is not None and read < self.expected_frames

    def errors_message(self) -> str:
        """The warning for frames that failed (:attr:`errors`), naming the first ones."""
        more = f" (first {len(self.first_errors)} shown)" if self.errors > len(self.first_errors) else ""
        return (f"{self.source}: {self.errors} frame(s) could not be analysed{more}: " + "; ".join(self.first_errors)
                + "; their CSV rows have the label 'error', their log records status 'error'")

    def early_stop_message(self) -> str:
        """The warning for :attr:`stopped_early`, naming the source."""
        read = self.frames if self.read < 0 else self.read
        return (f"{self.source}: read {read} of the {self.expected_frames} frames the container announces; "
                "the file is truncated or damaged after that point")


def check_video_suffix(path: str | os.PathLike[str]) -> str:
    """The fourcc code for an output video name; ValueError for a suffix we cannot write.

    Parameters
    ----------
    path : str or os.PathLike
        An output video file name.

    Returns
    -------
    str
        The fourcc code.
    """
    code = _FOURCC.get(Path(path).suffix.lower())
    if code is None:
        raise ValueError(f"{path}: cannot choose a video codec for the suffix {Path(path).suffix!r}; "
                         f"use one of {', '.join(sorted(_FOURCC))}")
    return code


def video_outputs(out: Any = None, log: Any = None, csv: Any = None, plot: Any = None,
                  summary: Any = None) -> list[tuple[str | os.PathLike[str], str]]:
    """``(path, what)`` of each output file given (a log stream is not a file); ValueError for a
    video suffix without a codec or a plot name that is not .png.

    Parameters
    ----------
    out : str or os.PathLike or None, default=None
        Annotated video.
    log : str, os.PathLike, text stream or None, default=None
        JSON lines log.
    csv : str or os.PathLike or None, default=None
        CSV table.
    plot : str or os.PathLike or None, default=None
        PNG plot.
    summary : str or os.PathLike or None, default=None
        JSON summary.

    Returns
    -------
    list of (path, str)
        (path, what) per output file.
    """
    outputs: list[tuple[str | os.PathLike[str], str]] = []
    if out is not None:
        check_video_suffix(out)
        outputs.append((out, "annotated video"))
    if plot is not None and Path(plot).suffix.lower() != ".png":
        raise ValueError(f"{plot}: the plot is written as PNG; give a name ending in .png")
    for path, what in ((log, "log"), (csv, "CSV table"), (plot, "plot"), (summary, "summary")):
        if path is not None and not hasattr(path, "write"):
            outputs.append((path, what))
    return outputs


def annotate_video(
    model: DLFERS,
    src: str | os.PathLike[str] | int,
    out: str | os.PathLike[str] | None = None,
    log: str | os.PathLike[str] | TextIO | None = None,
    progress: bool = True,
    max_faces: int | None = None,
    *,
    overwrite: bool = False,
    detect_size: int | None = None,
    min_face: float | None = None,
    detect_scale: float | None = None,
    csv: str | os.PathLike[str] | None = None,
    plot: str | os.PathLike[str] | None = None,
    summary: str | os.PathLike[str] | None = None,
    every: int = 1,
    detect_every: int = 1,
    smooth: float | None = None,
    max_unseen: int = 5,
    fps: float | None = None,
    max_frames: int | None = None,
    explain: bool = False,
) -> VideoStats:
    """Track and classify the faces of ``src``; write the annotated video, log, CSV, plot and summary asked for.

    Output files are written under a temporary name in their folder and renamed when the
    whole video is done: a failed run leaves no partial file and changes no existing one.
    A camera runs until ``max_frames`` or Ctrl-C, then its outputs are completed.

    Parameters
    ----------
    src : str or os.PathLike or int
        Video file, folder of frames (sorted by name), or camera index (int).
    out : str or os.PathLike or None, default=None
        Annotated video to write (codec from the suffix: mp4v for .mp4/.m4v/.mov, MJPG
        for .avi/.mkv); boxes, labels, probabilities and ``#track``; analysed frames only.
    log : str or os.PathLike or TextIO or None, default=None
        JSON lines file (path or open text stream; None: no log).
    progress : bool, default=True
        A tqdm bar on stderr.
    max_faces : int or None, default=None
        Classify only the largest this many faces of a frame (None: all; else >= 1).
    overwrite : bool, default=False
        Replace existing output files (never ``src`` itself).
    detect_size, min_face, detect_scale : int or None, float or None, float or None, default=None
        Detector overrides, as :meth:`DLFERS.predict_image`.
    csv : str or os.PathLike or None, default=None
        CSV table (:mod:`dlfers.video.outputs`).
    plot : str or os.PathLike or None, default=None
        PNG, one panel per track of its class probabilities over time.
    summary : str or os.PathLike or None, default=None
        JSON, per track the fraction of frames in each expression and the mean probabilities.
    every, fps, max_frames : optional
        See :func:`dlfers.video.analysis.analyze_video`.
    detect_every, smooth, max_unseen : optional
        See :class:`dlfers.video.analysis.VideoAnalyzer`.
    explain : bool, default=False
        On the annotated video, also outline each face's region of most evidence for
        its own (unsmoothed) predicted class (:mod:`dlfers.model.evidence`; needs ``out`` and an
        additive SVM kernel).
    model : DLFERS
        A fitted model.

    Returns
    -------
    :class:`VideoStats`; ``stopped_early`` is True (and a ``RuntimeWarning`` is issued) when
    fewer frames could be read than the container announces.

    Raises
    ------
    ValueError
        If ``src`` cannot be opened or has no readable frame, ``out`` has a suffix with no
        codec or cannot be written, or an output is ``src``, a folder, or another output.
    FileExistsError
        If an output exists and ``overwrite`` is False.
    """

    if explain:

        if out is None:
            raise ValueError("explain draws on the annotated video: give an output video (out)")
        check_explainable(model.kernel)
    inputs = [] if isinstance(src, int) else [src]
    if not isinstance(src, int) and not Path(src).exists():

        raise ValueError(f"{src}: {path_problem(src) or 'not a file'}")
    analyzer = VideoAnalyzer(model, detect_every=detect_every, smooth=smooth, max_unseen=max_unseen,
                             max_faces=max_faces, detect_size=detect_size, min_face=min_face,
                             detect_scale=detect_scale)
    check_outputs(video_outputs(out, log, csv, plot, summary), inputs, overwrite)
    own_log = log is not None and not hasattr(log, "write")
    classes = analyzer.classes
    stats = VideoStats(0, 0, 0, 0.0, source=source_name(src))
    writer, size = None, None
    t0 = time.perf_counter()
    with FrameSource(src, every, fps) as source, ExitStack() as outs:
        stats.expected_frames = source.expected_frames
        bar = outs.enter_context(progress_counter(source.expected_frames or 0, desc="frames", disable=not progress))

        def sink(path: Any, what: str, **kw: Any) -> Any:
            return outs.enter_context(atomic_open(path, "w", overwrite, inputs, what, **kw)) if path else None

        out_tmp = outs.enter_context(atomic_path(out, overwrite, inputs, "annotated video")) if out else None
        plot_tmp = outs.enter_context(atomic_path(plot, overwrite, inputs, "plot")) if plot else None
        stream: Any = sink(log, "log") if own_log else log
        table = CsvWriter(sink(csv, "CSV table", newline=""), classes) if csv else None
        series = TrackSeries(classes) if plot else None
        totals = TrackSummary(classes) if summary else None
        if series is not None:
            outs.callback(series.close)
        try:
            try:
                for res in analyze_frames(analyzer, source, max_frames):
                    stats.frames += 1
                    stats.with_faces += bool(res.faces)
                    stats.errors += res.error is not None
                    if res.error is not None and len(stats.first_errors) < _SHOWN_ERRORS:
                        stats.first_errors.append(f"frame {res.frame}: {res.error}")
                    for sink_ in (table, series, totals):
                        if sink_ is not None:
                            sink_.add(res)
                    if stream is not None:
                        stream.write(json.dumps(res.to_dict()) + "\n")
                    frame = source.last_frame
                    if out_tmp is not None and isinstance(frame, np.ndarray):
                        if writer is None:
                            size = (frame.shape[1], frame.shape[0])
                            writer = _open_writer(out_tmp, source.fps / source.every, *size, shown=out)
                        shown = draw_tracks(frame, res.faces)
                        if explain:
                            shown = _draw_evidence(model, frame, shown, res.faces)
                        writer.write(_sized(shown, size))
                    bar.update(1)
            except KeyboardInterrupt:
                if not source.is_camera:
                    raise
                stats.limited = True
        finally:
            if writer is not None:
                writer.release()
        stats.read = source.read
        stats.limited = stats.limited or (max_frames is not None and stats.frames >= max_frames)
        if stats.frames == 0:
            raise ValueError(f"{stats.source}: no frame could be read (not a video, or an unsupported codec)")
        stats.tracks = analyzer.tracker.started
        if series is not None and plot_tmp is not None:
            plot_tracks(series.series(), classes, plot_tmp, title=f"{Path(str(src)).name}: expression probabilities")
        if totals is not None:
            sink(summary, "summary").write(json.dumps({"source": stats.source, **totals.to_dict()}, indent=2) + "\n")
    stats.seconds = time.perf_counter() - t0
    if stats.stopped_early:
        warnings.warn(stats.early_stop_message(), RuntimeWarning, stacklevel=2)
    return stats


def _draw_evidence(model: DLFERS, frame: np.ndarray, shown: np.ndarray, faces: list[TrackResult]) -> np.ndarray:
    """``shown`` with each face's strongest region outlined (:func:`dlfers.explain.plots.draw_strongest_region`)."""

    crops = [frame[f.box.y : f.box.y + f.box.h, f.box.x : f.box.x + f.box.w] for f in faces]
    for f, e in zip(faces, model.explain_faces(crops) if crops else []):
        shown = draw_strongest_region(shown, f.box, e)
    return shown


def _sized(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """``frame`` resized to ``size`` (w, h) if it differs (folders of frames of mixed sizes)."""
    if size is None or (frame.shape[1], frame.shape[0]) == size:
        return frame
    import cv2

    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def draw_tracks(frame: np.ndarray, faces: list[TrackResult]) -> np.ndarray:
    """:func:`dlfers.predict.draw.draw_results` of the faces, each box also labelled ``#track`` (BGR uint8 copy).

    Parameters
    ----------
    frame : ndarray of shape (H, W) or (H, W, 3), dtype uint8
        Gray or BGR frame.
    faces : list of TrackResult
        The frame's tracked faces.

    Returns
    -------
    ndarray of shape (H, W, 3), dtype uint8
        The annotated copy.
    """
    import cv2

    out = draw_results(frame, [f.face() for f in faces] if faces else [FaceResult.no_face()])
    scale = max(0.35, min(out.shape[:2]) / 600)
    for f in faces:
        x, y, w, h = f.box.as_tuple()
        cv2.putText(out, f"#{f.track}", (x + 3, y + h - 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 128, 0),
                    max(1, round(scale * 2)))
    return out


def _open_writer(path: str | os.PathLike[str], fps: float, width: int, height: int,
                 shown: str | os.PathLike[str] | None = None) -> Any:
    """A ``cv2.VideoWriter`` on ``path`` (``shown``: the name to give in errors)."""
    import cv2

    code = check_video_suffix(path)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*code), fps, (width, height))
    if not w.isOpened():
        raise ValueError(f"{shown or path}: cannot write a video with codec {code} (try an .avi or .mp4 name)")
    return w


def print_stats(stats: VideoStats, file: TextIO | None = None) -> None:
    """One line: frames (of the container's count), frames with faces, tracks, errors, wall time, frames per second.

    Parameters
    ----------
    stats : VideoStats
        What a run did.
    file : TextIO or None, default=None
        Where to print (None: stdout).
    """
    of = f" of {stats.expected_frames}" if stats.expected_frames is not None else ""
    read = stats.frames if stats.read < 0 else stats.read
    done = f"{read}{of} frames" if read == stats.frames else f"{read}{of} frames read, {stats.frames} analysed"
    name = f"{stats.source}: " if stats.source else ""
    print(f"{name}{done} ({stats.with_faces} with faces, {stats.tracks} tracks, {stats.errors} errors) in "
          f"{stats.seconds:.2f} s: {stats.fps:.1f} frames per second", file=file or sys.stderr)
