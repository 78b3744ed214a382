"""Synthetic videos for the tracking tests, the video benchmark and docs/make_video_figure.py.

JAFFE faces (scaled to ``side`` pixels) pasted on a flat gray canvas along straight paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

#: a face's top-left corner at frame i, or None when it is not in the frame
Path_ = Callable[[int], "tuple[int, int] | None"]


def face_patch(image: np.ndarray, side: int = 160) -> np.ndarray:
    """A JAFFE image (256x256 gray) scaled to ``side`` x ``side`` uint8."""
    import cv2

    return cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)


def line(start: tuple[int, int], end: tuple[int, int], n: int) -> Path_:
    """From ``start`` to ``end`` over frames 0 .. n-1."""
    def at(i: int) -> tuple[int, int]:
        f = i / max(1, n - 1)
        return round(start[0] + f * (end[0] - start[0])), round(start[1] + f * (end[1] - start[1]))
    return at


def frames(faces: Sequence[np.ndarray], paths: Sequence[Path_], n: int, shape: tuple[int, int] = (480, 640),
           background: int | np.ndarray = 110) -> Iterator[np.ndarray]:
    """``n`` gray (H, W) uint8 frames, face k at ``paths[k](i)`` (clipped at the borders) in frame i,
    on a flat gray ``background`` level or a copy of a (H, W) uint8 ``background`` image."""
    h, w = shape
    for i in range(n):
        canvas = np.full(shape, background, np.uint8) if np.ndim(background) == 0 else np.array(background, np.uint8)
        for face, path in zip(faces, paths):
            at = path(i)
            if at is None:
                continue
            x, y = at
            fh, fw = face.shape
            x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + fw), min(h, y + fh)
            if x1 > x0 and y1 > y0:
                canvas[y0:y1, x0:x1] = face[y0 - y : y1 - y, x0 - x : x1 - x]
        yield canvas


def write_clip(path: Path, clip: Iterator[np.ndarray], fps: float = 10.0) -> Path:
    """An MJPG AVI of gray frames, written frame by frame."""
    import cv2

    writer = None
    for f in clip:
        if writer is None:
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (f.shape[1], f.shape[0]))
            assert writer.isOpened()
        writer.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    assert writer is not None
    writer.release()
    return path
