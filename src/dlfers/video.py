"""Expression recognition on a video file: annotated copy and a per-frame JSON lines log.

Each log line is ``{"frame": int, "time": float (s), "status": "ok" | "no_face" | "error",
"faces": [FaceResult.to_dict(), ...], "error": str | null}`` (``faces`` is empty unless
``status`` is ``"ok"``).
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .inference import check_predict_options, draw_results

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import DLFERS

__all__ = ["VideoStats", "annotate_video"]

_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


@dataclass
class VideoStats:
    """What :func:`annotate_video` did.

    Attributes
    ----------
    frames : frames read and processed.
    with_faces : frames with at least one face.
    errors : frames whose prediction failed.
    seconds : wall time.
    expected_frames : the container's frame count (``CAP_PROP_FRAME_COUNT``), None if
        it does not say.
    """

    frames: int
    with_faces: int
    errors: int
    seconds: float
    expected_frames: int | None = None

    @property
    def fps(self) -> float:
        """Frames processed per second of wall time."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def stopped_early(self) -> bool:
        """Fewer frames could be read than the container announces (a truncated or damaged file)."""
        return self.expected_frames is not None and self.frames < self.expected_frames


def check_video_suffix(path: str | os.PathLike[str]) -> str:
    """The fourcc code for an output video name; ValueError for a suffix we cannot write."""
    code = _FOURCC.get(Path(path).suffix.lower())
    if code is None:
        raise ValueError(f"{path}: cannot choose a video codec for the suffix {Path(path).suffix!r}; "
                         f"use one of {', '.join(sorted(_FOURCC))}")
    return code


def annotate_video(
    model: DLFERS,
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    log: str | os.PathLike[str] | TextIO | None = None,
    progress: bool = True,
    max_faces: int | None = None,
    *,
    overwrite: bool = False,
    detect_size: int | None = None,
    min_face: float | None = None,
    detect_scale: float | None = None,
) -> VideoStats:
    """Predict every frame of the video ``src``; draw the results into ``out``; log each frame.

    Output files are written under a temporary name in their folder and renamed when the
    whole video is done: a failed run leaves no partial file and changes no existing one.

    Parameters
    ----------
    out : annotated video to write (codec from the suffix: mp4v for .mp4/.m4v/.mov, MJPG
        for .avi/.mkv).
    log : JSON lines file (path or open text stream; None: no log).
    progress : tqdm bar on stderr.
    max_faces : classify only the largest this many faces of a frame (None: all; else >= 1).
    overwrite : replace existing ``out``/``log`` files (never ``src`` itself).
    detect_size, min_face, detect_scale : detector overrides, as :meth:`DLFERS.predict_image`.

    Returns
    -------
    :class:`VideoStats`; ``stopped_early`` is True (and a ``RuntimeWarning`` is issued) when
    fewer frames could be read than the container announces.

    Raises
    ------
    ValueError
        If ``src`` cannot be opened or has no readable frame, ``out`` has a suffix with no
        codec or cannot be written, or an output is ``src``, a folder, or the other output.
    FileExistsError
        If an output exists and ``overwrite`` is False.
    """
    import cv2

    from ._outputs import atomic_open, atomic_path, check_outputs
    from .progress import progress_counter

    if not Path(src).is_file():
        from .datasets import path_problem

        raise ValueError(f"{src}: {path_problem(src) or 'not a file'}")
    check_predict_options(model, max_faces, detect_size, min_face, detect_scale)
    own_log = log is not None and not hasattr(log, "write")
    outputs: list[tuple[str | os.PathLike[str], str]] = []
    if out is not None:
        check_video_suffix(out)
        outputs.append((out, "annotated video"))
    if own_log:
        outputs.append((log, "log"))  # type: ignore[arg-type]
    check_outputs(outputs, [src], overwrite)
    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        raise ValueError(f"{src}: cannot open as a video")
    fps_in = cap.get(cv2.CAP_PROP_FPS) or 0.0
    fps_in = fps_in if 0 < fps_in < 1000 else 25.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    stats = VideoStats(0, 0, 0, 0.0, expected_frames=total if total > 0 else None)
    writer = None
    bar = progress_counter(total or 0, desc="frames", disable=not progress)
    t0 = time.perf_counter()
    try:
        with ExitStack() as outs:
            out_tmp = outs.enter_context(atomic_path(out, overwrite, [src], "annotated video")) if out else None
            stream: Any = outs.enter_context(atomic_open(log, "w", overwrite, [src], "log")) if own_log else log  # type: ignore[arg-type]
            try:
                while True:
                    ok, frame = cap.read()
                    if not ok or frame is None:
                        break
                    rec: dict[str, Any] = {"frame": stats.frames, "time": round(stats.frames / fps_in, 6),
                                           "status": "ok", "faces": [], "error": None}
                    results = []
                    try:
                        results = model.predict_image(frame, max_faces=max_faces, detect_size=detect_size,
                                                       min_face=min_face, detect_scale=detect_scale)
                        if results[0].found:
                            rec["faces"] = [r.to_dict() for r in results]
                            stats.with_faces += 1
                        else:
                            rec["status"] = "no_face"
                    except ValueError as exc:
                        rec["status"], rec["error"] = "error", f"{type(exc).__name__}: {exc}"
                        stats.errors += 1
                    if out_tmp is not None:
                        if writer is None:
                            writer = _open_writer(out_tmp, fps_in, frame.shape[1], frame.shape[0], shown=out)
                        writer.write(draw_results(frame, results))
                    if stream is not None:
                        stream.write(json.dumps(rec) + "\n")
                    stats.frames += 1
                    bar.update(1)
            finally:
                if writer is not None:
                    writer.release()
            if stats.frames == 0:
                raise ValueError(f"{src}: no frame could be read (not a video, or an unsupported codec)")
    finally:
        stats.seconds = time.perf_counter() - t0
        bar.close()
        cap.release()
    if stats.stopped_early:
        warnings.warn(f"{src}: read {stats.frames} of the {stats.expected_frames} frames the container announces; "
                      "the file is truncated or damaged after that point", RuntimeWarning, stacklevel=2)
    return stats


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
    """One line: frames (of the container's count), frames with faces, errors, wall time, frames per second."""
    of = f" of {stats.expected_frames}" if stats.expected_frames is not None else ""
    print(f"{stats.frames}{of} frames ({stats.with_faces} with faces, {stats.errors} errors) in "
          f"{stats.seconds:.2f} s: {stats.fps:.1f} frames per second", file=file or sys.stderr)
