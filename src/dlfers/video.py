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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .inference import draw_results

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import DLFERS

__all__ = ["VideoStats", "annotate_video"]

_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


@dataclass
class VideoStats:
    """What :func:`annotate_video` did: frames read, frames with faces, errors, wall time."""

    frames: int
    with_faces: int
    errors: int
    seconds: float

    @property
    def fps(self) -> float:
        """Frames processed per second of wall time."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def annotate_video(
    model: DLFERS,
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    log: str | os.PathLike[str] | TextIO | None = None,
    progress: bool = True,
    max_faces: int | None = None,
) -> VideoStats:
    """Predict every frame of the video ``src``; draw the results into ``out``; log each frame.

    Parameters
    ----------
    out : annotated video to write (codec from the suffix: mp4v for .mp4/.mov, MJPG for .avi/.mkv).
    log : JSON lines file (path or open text stream; None: no log).
    progress : tqdm bar on stderr.

    Raises
    ------
    ValueError
        If ``src`` cannot be opened or has no readable frame, or ``out`` cannot be written.
    """
    import cv2

    from .progress import progress_counter

    if not Path(src).is_file():
        raise ValueError(f"{src}: no such video file")
    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        raise ValueError(f"{src}: cannot open as a video")
    fps_in = cap.get(cv2.CAP_PROP_FPS) or 0.0
    fps_in = fps_in if 0 < fps_in < 1000 else 25.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    writer = None
    own_log = log is not None and not hasattr(log, "write")
    stream: TextIO | None = open(log, "w", encoding="utf-8") if own_log else log  # type: ignore[arg-type, assignment]
    stats = VideoStats(0, 0, 0, 0.0)
    bar = progress_counter(total or 0, desc="frames", disable=not progress)
    t0 = time.perf_counter()
    try:
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            rec: dict[str, Any] = {"frame": stats.frames, "time": round(stats.frames / fps_in, 6),
                                   "status": "ok", "faces": [], "error": None}
            results = []
            try:
                results = model.predict_image(frame, max_faces=max_faces)
                if results[0].found:
                    rec["faces"] = [r.to_dict() for r in results]
                    stats.with_faces += 1
                else:
                    rec["status"] = "no_face"
            except ValueError as exc:
                rec["status"], rec["error"] = "error", f"{type(exc).__name__}: {exc}"
                stats.errors += 1
            if out is not None:
                if writer is None:
                    writer = _open_writer(out, fps_in, frame.shape[1], frame.shape[0])
                writer.write(draw_results(frame, results))
            if stream is not None:
                stream.write(json.dumps(rec) + "\n")
            stats.frames += 1
            bar.update(1)
    finally:
        stats.seconds = time.perf_counter() - t0
        bar.close()
        cap.release()
        if writer is not None:
            writer.release()
        if own_log and stream is not None:
            stream.close()
    if stats.frames == 0:
        raise ValueError(f"{src}: no frame could be read (not a video, or an unsupported codec)")
    return stats


def _open_writer(path: str | os.PathLike[str], fps: float, width: int, height: int) -> Any:
    import cv2

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    code = _FOURCC.get(p.suffix.lower(), "mp4v")
    w = cv2.VideoWriter(str(p), cv2.VideoWriter.fourcc(*code), fps, (width, height))
    if not w.isOpened():
        raise ValueError(f"{p}: cannot write a video with codec {code} (try an .avi or .mp4 name)")
    return w


def print_stats(stats: VideoStats, file: TextIO | None = None) -> None:
    """One line: frames, frames with faces, errors, wall time and frames per second."""
    print(f"{stats.frames} frames ({stats.with_faces} with faces, {stats.errors} errors) in "
          f"{stats.seconds:.2f} s: {stats.fps:.1f} frames per second", file=file or sys.stderr)
