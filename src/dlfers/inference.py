"""Using a trained model: per-face results, batches of image files, annotated frames.

Batch prediction never stops at a bad item: every file gives records, a file that
cannot be used gives one ``"error"`` record naming the problem, a frame without a
face one ``"no_face"`` record.  The record schema (also ``dlfers predict --json``)::

    {"file": str, "face": int | null,          # face index in the frame, largest first
     "status": "ok" | "no_face" | "error",
     "box": [x, y, w, h] | null,                # the δ/γ-cropped face in frame pixels
     "label": str | null,
     "probabilities": {class: float} | null,    # sums to 1 over the model's classes
     "error": str | null}
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .datasets import IMAGE_SUFFIXES, MAX_IMAGE_PIXELS, ImageError, path_problem, read_image
from .face import DetectorSettings, FaceBox

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import DLFERS

__all__ = ["FaceResult", "RECORD_KEYS", "image_paths", "predict_files", "record", "draw_results", "overlay_lines",
           "check_predict_options"]

#: keys of every batch record, in order
RECORD_KEYS = ("file", "face", "status", "box", "label", "probabilities", "error")


@dataclass(frozen=True)
class FaceResult:
    """The expression of one face in a frame.

    Attributes
    ----------
    found : False for the explicit "no face in this frame" result.
    box : the δ/γ-cropped face box in frame pixels (None when not found).
    label : the predicted class (None when not found): the most probable class of
        ``probabilities``, as :meth:`DLFERS.predict` gives it.
    probabilities : class -> calibrated probability (empty when not found).
    """

    found: bool
    box: FaceBox | None = None
    label: Any = None
    probabilities: dict[Any, float] = field(default_factory=dict)

    @classmethod
    def no_face(cls) -> FaceResult:
        return cls(found=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``found``, ``box`` [x, y, w, h] or None, ``label``, ``probabilities``."""
        return {
            "found": self.found,
            "box": None if self.box is None else list(self.box.as_tuple()),
            "label": _plain(self.label),
            "probabilities": {str(k): float(v) for k, v in self.probabilities.items()} if self.found else None,
        }


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def record(file: str | None, status: str, face: int | None = None, result: FaceResult | None = None,
           error: str | None = None) -> dict[str, Any]:
    """One batch record with every key of :data:`RECORD_KEYS`."""
    d = result.to_dict() if result is not None and result.found else {"box": None, "label": None, "probabilities": None}
    return {"file": file, "face": face, "status": status, "box": d["box"], "label": d["label"],
            "probabilities": d["probabilities"], "error": error}


def image_paths(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[str, str | None]]:
    """Expand files and folders (recursively, image suffixes only, sorted) to (path, problem).

    ``problem`` is None for a file to read, else why the argument gives no file
    (missing path, folder without images).
    """
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                yield str(p), f"folder has no image files ({', '.join(IMAGE_SUFFIXES)})"
            for f in files:
                yield str(f), None
        elif p.exists():
            yield str(p), None
        else:
            yield str(p), path_problem(p) or "no such file or folder"


def check_predict_options(model: DLFERS, max_faces: int | None = None, detect_size: int | None = None,
                          min_face: float | None = None, detect_scale: float | None = None) -> DetectorSettings:
    """The detector settings of a call, checked before a frame, a batch or a video starts.

    ``max_faces`` must be None or an integer >= 1; the detector overrides (None: the
    model's own setting) must pass :func:`dlfers.face.detector_settings`.  Returns the
    model's settings with the overrides applied.

    Raises
    ------
    ValueError
        For options that would fail every frame.
    """
    from .face import detector_settings

    if max_faces is not None and (isinstance(max_faces, bool) or not isinstance(max_faces, (int, np.integer))
                                  or max_faces < 1):
        raise ValueError(f"max_faces must be an integer >= 1 or None, got {max_faces!r}")
    own = model.spec().detector
    if (detect_size, min_face, detect_scale) == (None, None, None):
        return own
    return detector_settings(own.detector, own.detect_size if detect_size is None else detect_size,
                             own.min_face if min_face is None else min_face,
                             own.scale_factor if detect_scale is None else detect_scale)


def predict_files(
    model: DLFERS,
    paths: Iterable[str | os.PathLike[str]],
    max_pixels: int = MAX_IMAGE_PIXELS,
    max_faces: int | None = None,
    *,
    detect_size: int | None = None,
    min_face: float | None = None,
    detect_scale: float | None = None,
    n_jobs: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Records (see the module docstring) for every face of every image under ``paths``.

    Reading, decoding and prediction errors of one file become that file's
    ``"error"`` record; the other files are unaffected.  ``max_faces`` and the detector
    overrides are passed to :meth:`DLFERS.predict_image` (None: the model's settings).
    ``n_jobs`` threads (None or 1: serial; -1: every core) read and predict files at
    once; the records come in the same order and are the same.

    Raises
    ------
    ValueError
        For ``max_faces`` < 1 or detector settings out of range (before any file is read).
    """
    from ._parallel import resolve_jobs, thread_map

    check_predict_options(model, max_faces, detect_size, min_face, detect_scale)

    def one(item: tuple[str, str | None]) -> list[dict[str, Any]]:
        return _file_records(model, item[0], item[1], max_pixels, max_faces, detect_size, min_face, detect_scale)

    threads = 1 if n_jobs is None else resolve_jobs(n_jobs)
    for records in thread_map(one, image_paths(paths), threads):
        yield from records


def _file_records(model: DLFERS, path: str, problem: str | None, max_pixels: int, max_faces: int | None,
                  detect_size: int | None, min_face: float | None, detect_scale: float | None
                  ) -> list[dict[str, Any]]:
    """The records of one file (see :func:`predict_files`)."""
    import cv2

    if problem is not None:
        return [record(path, "error", error=problem)]
    try:
        img = read_image(path, max_pixels=max_pixels)
        results = model.predict_image(img, max_faces=max_faces, detect_size=detect_size, min_face=min_face,
                                      detect_scale=detect_scale)
    except ImageError as exc:
        return [record(path, "error", error=exc.problem)]
    except (ValueError, cv2.error) as exc:
        return [record(path, "error", error=f"{type(exc).__name__}: {exc}")]
    return [record(path, "ok", i, r) if r.found else record(path, "no_face") for i, r in enumerate(results)]


def overlay_lines(result: FaceResult, top: int = 3) -> list[str]:
    """The text drawn for a found face: "label p" above the box, then the ``top`` classes
    by probability ("class: p"), most probable first (ties in class order)."""
    best = sorted(result.probabilities.items(), key=lambda kv: -kv[1])[:top]
    return [f"{result.label} {result.probabilities.get(result.label, 0.0):.2f}"] + [f"{k}: {v:.2f}" for k, v in best]


def draw_results(frame: np.ndarray, results: Sequence[FaceResult], top: int = 3) -> np.ndarray:
    """A BGR uint8 copy of ``frame`` with each face's box, label and top class probabilities.

    ``frame`` : (H, W) gray or (H, W, 3) BGR uint8.
    """
    import cv2

    out = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else np.ascontiguousarray(frame[:, :, :3]).copy()
    h, w = out.shape[:2]
    scale = max(0.35, min(w, h) / 600)
    thick = max(1, round(scale * 2))
    for r in results:
        if not r.found:
            cv2.putText(out, "no face", (5, int(20 * scale) + 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 255), thick)
            continue
        assert r.box is not None
        x, y, bw, bh = r.box.as_tuple()
        cv2.rectangle(out, (x, y), (x + bw, y + bh), (0, 255, 0), thick)
        lines = overlay_lines(r, top)
        ty = max(int(18 * scale), y - 6)
        cv2.putText(out, lines[0], (x, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 255, 0), thick)
        for i, line in enumerate(lines[1:]):
            cy = min(h - 4, y + bh + int((i + 1) * 18 * scale))
            cv2.putText(out, line, (x, cy), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.8, (0, 255, 255), max(1, thick - 1))
    return out
