"""Where video frames come from: a video file, a folder of frames, or a camera, all through OpenCV.

:class:`FrameSource` opens one of them and yields ``(index, time_s, frame)`` for every
``every``-th frame: ``index`` counts the source's frames from 0 (skipped ones included),
``time_s`` is ``index / fps`` for files and folders, and seconds since the first frame for
a camera.  Skipped frames of a video or camera are grabbed, not decoded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._util.files import not_regular
from ..image.read import IMAGE_SUFFIXES, ImageError, path_problem, read_image

__all__ = ["FrameSource", "source_name"]

#: frames per second assumed for a folder of frames, and for a container or camera that does not say
DEFAULT_FPS = 25.0


def source_name(source: str | os.PathLike[str] | int) -> str:
    """How messages name a source: the path, or ``camera N``.

    Parameters
    ----------
    source : str or os.PathLike or int
        A video file, a folder of frames, or a camera index.

    Returns
    -------
    str
        The name.
    """
    return f"camera {source}" if isinstance(source, int) else str(source)


class FrameSource:
    """Frames of a video file, a folder of image files (sorted by name), or a camera index.

    Parameters
    ----------
    source : str or os.PathLike or int
        A video file, a folder of frames, or an ``int`` camera index (``cv2.VideoCapture(i)``).
    every : int, default=1
        Analyse every ``every``-th frame (>= 1).
    fps : float or None, default=None
        Frame rate of a folder of frames (None: 25); a video's own rate is used otherwise
        (25 when the container does not give one).

    Attributes
    ----------
    fps : frames per second of the source.
    expected_frames : frames the source announces (container count, files in the folder), None
        if unknown (cameras).
    read : frames read so far (skipped ones included).
    last_frame : the frame last yielded (for drawing on it), None before the first.

    Raises
    ------
    ValueError
        If the source does not exist, cannot be opened, or a folder has no image files; the
        message names it.
    """

    def __init__(self, source: str | os.PathLike[str] | int, every: int = 1, fps: float | None = None) -> None:
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}")
        if fps is not None and not (isinstance(fps, (int, float)) and 0 < fps < 1e4):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        if isinstance(source, (bool, np.bool_)):
            raise ValueError(f"source must be a path or a camera index, got {source!r}")
        self.source, self.every, self.read = source, int(every), 0
        self.files: list[Path] | None = None
        self._cap: Any = None
        self.last_frame: np.ndarray | ImageError | None = None
        self.expected_frames: int | None = None
        self.fps = float(fps or DEFAULT_FPS)
        name = source_name(source)
        if isinstance(source, (int, np.integer)):
            self._open_capture(int(source), name)
            self.expected_frames = None
            return
        p = Path(source)
        if p.is_dir():
            self.files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not self.files:
                raise ValueError(f"{p}: folder has no image files ({', '.join(IMAGE_SUFFIXES)})")
            self.expected_frames = len(self.files)
        elif p.is_file():
            cap = self._open_capture(str(p), name)
            total = int(cap.get(_cv2().CAP_PROP_FRAME_COUNT) or 0)
            self.expected_frames = total if total > 0 else None
        elif p.exists():  # a FIFO or a device: OpenCV would block on it or read it without end
            raise ValueError(f"{p}: is {not_regular(p.stat().st_mode)}, not a video file or a folder of frames")
        else:
            raise ValueError(f"{p}: {path_problem(p) or 'not a file or folder'}")

    def _open_capture(self, what: str | int, name: str) -> Any:
        cv2 = _cv2()
        self._cap = cv2.VideoCapture(what)
        if not self._cap.isOpened():
            raise ValueError(f"{name}: cannot open as a video" + (" (no such camera, or it is busy)"
                                                                  if isinstance(what, int) else ""))
        rate = self._cap.get(cv2.CAP_PROP_FPS) or 0.0
        self.fps = rate if 0 < rate < 1000 else DEFAULT_FPS
        return self._cap

    @property
    def is_camera(self) -> bool:
        return isinstance(self.source, (int, np.integer))

    def frames(self) -> Iterator[tuple[int, float, np.ndarray | ImageError]]:
        """``(index, time_s, frame)`` of every ``every``-th frame; ``frame`` is an (H, W[, 3]) uint8
        array, or the :class:`ImageError` of a folder's unreadable file."""
        if self.files is not None:
            for i in range(0, len(self.files), self.every):
                self.read = i + 1
                try:
                    img: np.ndarray | ImageError = read_image(self.files[i])
                except ImageError as exc:
                    img = exc
                self.last_frame = img
                yield i, i / self.fps, img
            self.read = len(self.files)
            return
        cap, t0 = self._cap, None
        while True:
            if self.read % self.every:
                if not cap.grab():
                    return
                self.read += 1
                continue
            ok, frame = cap.read()
            if not ok or frame is None:
                return
            now = time.monotonic()
            t0 = now if t0 is None else t0
            index = self.read
            self.read += 1
            self.last_frame = frame
            yield index, (now - t0) if self.is_camera else index / self.fps, frame

    def close(self) -> None:
        """Release the capture (files and folders: nothing to do)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _cv2() -> Any:
    import cv2

    return cv2
