"""Explanations on disk: a PNG and a JSON file per face of image files, and the arrays in extract's shards.

:func:`explain_files` is what ``dlfers explain`` runs.  For every face of every image it
writes ``OUT/<stem>.face<i>.png`` (:func:`dlfers.explain.plots.save_explanation_png`) and
``OUT/<stem>.face<i>.json`` (:meth:`dlfers.model.evidence.Explanation.to_dict`); a second input
with the same file stem gets ``<stem>-2``, and so on, in input order.  No output replaces
an existing file without ``overwrite``, nor ever an input; each is written to a temporary
name and renamed.  A file that cannot be used gives one error record; the others go on.

Record schema (one per face, or one per file without a face or with an error)::

    {"file": str, "face": int | null, "status": "ok" | "no_face" | "error",
     "label": str | null, "png": str | null, "json": str | null, "error": str | null}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._util.files import jsonable
from .._util.outputs import atomic_open, atomic_path, check_output_dir, check_outputs
from ..image.read import MAX_IMAGE_PIXELS, ImageError, check_max_pixels, read_image
from ..model.evidence import Explanation, check_explainable, explain_features, region_names
from ..model.results import check_predict_options
from ..predict.files import image_paths
from .plots import save_explanation_png

if TYPE_CHECKING:  # pragma: no cover
    from ..model.estimator import DLFERS

__all__ = ["explain_files", "explanation_arrays", "batch_explanation_arrays", "check_explain_store",
           "EXPLANATION_KEYS"]

#: arrays an explaining extraction adds to each shard (``evidence_<kind>`` per kind besides)
EXPLANATION_KEYS = ("evidence", "intercepts", "decision_values", "predicted", "region_names", "classes")


def _record(file: str, status: str, face: int | None = None, label: Any = None, png: Path | None = None,
            js: Path | None = None, error: str | None = None) -> dict[str, Any]:
    return {"file": file, "face": face, "status": status,
            "label": label.item() if isinstance(label, np.generic) else label,
            "png": None if png is None else str(png), "json": None if js is None else str(js), "error": error}


def _write(exp: Explanation, png: Path, js: Path, inputs: Sequence[str | os.PathLike[str]], overwrite: bool,
           top: int, title: str) -> None:

    with atomic_path(png, overwrite, inputs, "explanation figure") as tmp:
        save_explanation_png(exp, tmp, top, title)
    with atomic_open(js, "w", overwrite, inputs, "explanation numbers") as fh:
        fh.write(json.dumps(exp.to_dict(), indent=1, default=jsonable) + "\n")


def explain_files(
    model: DLFERS,
    paths: Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    overwrite: bool = False,
    max_faces: int | None = None,
    top: int = 6,
    max_pixels: int = MAX_IMAGE_PIXELS,
    model_path: str | os.PathLike[str] | None = None,
    **detector: Any,
) -> Iterator[dict[str, Any]]:
    """Explain every face of every image under ``paths`` into the folder ``out`` (records as above).

    Parameters
    ----------
    model : DLFERS
        A fitted model with an explainable kernel.
    out : str or os.PathLike
        Output folder (created).
    overwrite : bool, default=False
        Replace existing outputs (never an input).
    max_faces, detector : int or None, default=None; object
        As :meth:`DLFERS.predict_image`.
    top : int, default=6
        Regions for and against in each bar chart.
    model_path : str or os.PathLike or None, default=None
        The model's file, never to be written over.
    paths : iterable of str or os.PathLike
        Files and folders.
    max_pixels : int, default=MAX_IMAGE_PIXELS (64 000 000)
        Largest image read.

    Returns
    -------
    iterator of dict
        One record per face or per failed file.

    Raises
    ------
    ValueError
        Before any file is read: a model whose kernel cannot be explained, bad options,
        ``out`` an existing file, an input folder or inside one, or not writable.
    FileExistsError
        Before any file is read: ``out`` holds outputs of these images and ``overwrite`` is False.
    """
    import glob

    import cv2

    check_explainable(model.kernel)
    check_predict_options(model, max_faces, **detector)
    check_max_pixels(max_pixels)
    paths = list(paths)
    listed = list(image_paths(paths))
    # every input (the images, their folders, the model) is known before anything is written: an
    # output never replaces an image that is read later, and the folder is checked once, up front
    inputs = [*paths, *(p for p, problem in listed if problem is None),
              *([model_path] if model_path is not None else [])]
    used: dict[str, int] = {}
    names: list[str] = []
    for path, problem in listed:
        if problem is not None:
            names.append("")
            continue
        stem = Path(path).stem
        used[stem] = used.get(stem, 0) + 1
        names.append(stem if used[stem] == 1 else f"{stem}-{used[stem]}")
    root = check_output_dir(out, [f"{glob.escape(n)}.face*.{ext}" for n in names if n for ext in ("png", "json")],
                            inputs, overwrite, "explanation folder")
    for (path, problem), name in zip(listed, names):
        if problem is not None:
            yield _record(path, "error", error=problem)
            continue
        try:
            exps = model.explain(read_image(path, max_pixels=max_pixels), max_faces, **detector)
            if not exps:
                yield _record(path, "no_face")
                continue
            targets = [(root / f"{name}.face{i}.png", root / f"{name}.face{i}.json") for i in range(len(exps))]
            check_outputs([(p, w) for pair in targets for p, w in zip(pair, ("figure", "numbers"))], inputs,
                          overwrite)
            root.mkdir(parents=True, exist_ok=True)
            for i, (exp, (png, js)) in enumerate(zip(exps, targets)):
                _write(exp, png, js, inputs, overwrite, top, f"{Path(path).name}, face {i}: {exp.label}")
        except ImageError as exc:
            yield _record(path, "error", error=exc.problem)
            continue
        except (ValueError, OSError, cv2.error) as exc:
            yield _record(path, "error", error=f"{type(exc).__name__}: {exc}")
            continue
        for i, (exp, (png, js)) in enumerate(zip(exps, targets)):
            yield _record(path, "ok", i, exp.label, png, js)


# ----------------------------------------------------------------------------- extract's shards
def explanation_arrays(exps: Sequence[Explanation], kinds: Sequence[str], names: Sequence[str],
                       classes: np.ndarray) -> dict[str, np.ndarray]:
    """A batch's explanations as shard arrays: ``evidence`` (b, R, k) float64, ``evidence_<kind>``
    (b, R, k) float64, ``intercepts`` and ``decision_values`` (b, k) float64, ``predicted`` (b,) str,
    and the batch-independent ``region_names`` (R,) str and ``classes`` (k,) str.

    ``names`` are the R region names (:func:`dlfers.model.evidence.region_names`), ``classes`` the model's.

    Parameters
    ----------
    exps : sequence of Explanation
        A batch's explanations.
    kinds : sequence of str
        The model's channels.
    names : sequence of str
        The R region names.
    classes : ndarray of shape (k,)
        The model's classes.

    Returns
    -------
    dict of str to ndarray
        The shard arrays.
    """
    b, r, k = len(exps), len(names), len(classes)
    out: dict[str, np.ndarray] = {
        "evidence": np.array([e.evidence for e in exps], np.float64).reshape(b, r, k),
        "intercepts": np.array([e.intercepts for e in exps], np.float64).reshape(b, k),
        "decision_values": np.array([e.decision_values for e in exps], np.float64).reshape(b, k),
        "predicted": np.array([str(e.label) for e in exps], dtype=str),
        "region_names": np.asarray(list(names), dtype=str),
        "classes": np.asarray([str(c) for c in classes], dtype=str),
    }
    for kind in kinds:
        out[f"evidence_{kind}"] = np.array([e.evidence_by_kind[kind] for e in exps], np.float64).reshape(b, r, k)
    return out


def check_explain_store(model: DLFERS, fitted: bool) -> bool:
    """True if an extraction with ``model`` can store explanations, else ValueError saying why.

    Parameters
    ----------
    model : DLFERS
        The extraction's model.
    fitted : bool
        Whether it is fitted.

    Returns
    -------
    bool
        True.
    """
    if not fitted:
        raise ValueError("explanations need a fitted model (extract_dataset(model=...), or --model MODEL_FILE)")
    check_explainable(model.kernel)
    return True


def batch_explanation_arrays(model: DLFERS, feats: Sequence[Any]) -> dict[str, np.ndarray]:
    """:func:`explanation_arrays` of the explanations of a batch of :class:`~dlfers.features.base.Features`.

    Parameters
    ----------
    model : DLFERS
        A fitted model with an explainable kernel.
    feats : sequence of Features
        A batch.

    Returns
    -------
    dict of str to ndarray
        Shard arrays (:func:`explanation_arrays`).
    """

    spec = model.spec()
    return explanation_arrays(explain_features(model, feats), spec.channels, region_names(spec.layout)[0],
                              model.classes_)


