"""Predicting image files: the record schema, and batches of files that never stop at a bad item.

Batch prediction never stops at a bad item: every file gives records, a file that
cannot be used gives one ``"error"`` record naming the problem, a frame without a
face one ``"no_face"`` record.  The record schema (also ``dlfers predict --json``)::

    {"file": str, "face": int | null,          # face index in the frame, largest first
     "status": "ok" | "no_face" | "error",
     "box": [x, y, w, h] | null,                # the δ/γ-cropped face in frame pixels
     "landmarks": [[x, y] * 5] | null,          # "yunet": eyes, nose, mouth corners (frame pixels)
     "score": float | null,                     # "yunet": the detector's confidence
     "label": str | null,
     "probabilities": {class: float} | null,    # sums to 1 over the model's classes
     "error": str | null}
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .._util.parallel import resolve_jobs, thread_map
from ..image.read import IMAGE_SUFFIXES, MAX_IMAGE_PIXELS, ImageError, check_max_pixels, path_problem, read_image
from ..model.estimator import DLFERS
from ..model.results import FaceResult, check_predict_options

__all__ = ["RECORD_KEYS", "image_paths", "predict_files", "record"]

#: keys of every batch record, in order
RECORD_KEYS = ("file", "face", "status", "box", "landmarks", "score", "label", "probabilities", "error")


def record(file: str | None, status: str, face: int | None = None, result: FaceResult | None = None,
           error: str | None = None) -> dict[str, Any]:
    """One batch record with every key of :data:`RECORD_KEYS`.

    Parameters
    ----------
    file : str or None
        The image file (None: none).
    status : str
        The record's status.
    face : int or None, default=None
        Face number in the file (None: none).
    result : FaceResult or None, default=None
        The face's result (None: none).
    error : str or None, default=None
        Why the file failed (None: it did not).

    Returns
    -------
    dict of str to object
        The record.
    """
    d = (result.to_dict() if result is not None and result.found
         else {"box": None, "landmarks": None, "score": None, "label": None, "probabilities": None})
    return {"file": file, "face": face, "status": status, "box": d["box"], "landmarks": d["landmarks"],
            "score": d["score"], "label": d["label"], "probabilities": d["probabilities"], "error": error}


def image_paths(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[str, str | None]]:
    """Expand files and folders (recursively, image suffixes only, sorted) to (path, problem).

    ``problem`` is None for a file to read, else why the argument gives no file
    (missing path, folder without images).

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        Files and folders.

    Returns
    -------
    iterator of (str, str or None)
        (path, problem) pairs.
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

    Parameters
    ----------
    model : DLFERS
        A fitted model.
    paths : iterable of str or os.PathLike
        Files and folders.
    max_pixels : int, default=MAX_IMAGE_PIXELS (64 000 000)
        Largest image read.
    max_faces : int or None, default=None
        Keep the largest this many faces per image (None: all).
    detect_size : int or None, default=None
        Detector override (None: the model's).
    min_face : float or None, default=None
        Detector override (None: the model's).
    detect_scale : float or None, default=None
        Detector override (None: the model's).
    n_jobs : int or None, default=None
        Threads (None or 1: serial; -1: every core).

    Returns
    -------
    iterator of dict
        One record per face or per failed file.

    Raises
    ------
    ValueError
        For ``max_faces`` < 1, ``max_pixels`` < 1 or detector settings out of range (before any file is read).
    """
    check_max_pixels(max_pixels)
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


