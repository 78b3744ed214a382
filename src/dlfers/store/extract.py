"""Streaming, resumable feature extraction of a whole data set into a folder of shards.

``extract_dataset(data, out)`` cuts the data set into batches of ``batch_size`` items and
writes one NumPy archive per batch, ``batch-00000.npz``, ``batch-00001.npz``, ... (read
with ``allow_pickle=False``; nothing is pickled).  At most a few batches are in memory
at once, whatever the size of the data set.  Each shard is written to a temporary file
in ``out`` and renamed into place, so a shard that exists is complete; an interrupted
run resumes where it stopped and recomputes no finished batch.

Folder layout
-------------
``manifest.json``
    ``format`` ("dlfers-features"), ``format_version``, ``dlfers_version``, ``config``
    (the model's parameters), ``fitted_model`` (digest of the codebooks when encodings
    are written, else null), ``batch_size``, ``n_items``, ``n_batches``, ``store``
    (which arrays the shards hold) and ``config_hash``: SHA-256 over all of these and
    every item's name, label, subject and fingerprint (file size and mtime).  A folder
    made with another configuration or other files is refused unless ``overwrite``.
``batch-NNNNN.npz``
    Items ``NNNNN * batch_size`` onwards; ``b`` items extracted, ``M`` descriptor rows:

    - ``config_hash`` () str; ``index`` (b,) int64 item positions in the data set;
      ``names``, ``labels`` (after aliasing), ``subjects`` (``NAME:id`` with several data
      sets), ``dataset`` (the name of the item's data set) (b,) str;
    - ``found`` (b,) bool (a face was detected); ``box`` (b, 4) int32 crop box
      x, y, w, h in frame pixels; ``landmarks`` (b, 5, 2) float32 (NaN without: the cascades) and
      ``score`` (b,) float32 (NaN without) of the "yunet" detector; ``aligned`` (b,) int8: 1 registered
      by its eyes, 0 eyes not found (the unaligned crop was used), -1 alignment off (``Features.aligned``);
    - ``face`` (b, S, S) float32 preprocessed faces (``store["faces"]``);
    - ``offsets`` (b + 1,) int64: item ``i``'s rows are ``offsets[i]:offsets[i + 1]`` of
      ``regions`` (M, L) int32 and ``desc_<kind>`` (M, dim) float32 for each descriptor
      kind (``store["descriptors"]``) -- :class:`dlfers.model.estimator.Features` as arrays;
      with texture channels also ``texture_<channel>`` float32 (``Features.texture``): ``texture_lbp``
      (b, R, 59), ``texture_gabor`` (b, 40, 64) (shards of the LBP channel alone before the Gabor
      channel have ``texture``, read as ``texture_lbp``);
    - ``encoding`` (b, F) float32 SPOF histograms of a fitted model
      (``DLFERS.transform_features``; ``store["encodings"]``);
    - ``evidence`` (b, R, k) float64 and the other arrays of :func:`dlfers.explain.files.explanation_arrays`
      (``store["explanations"]``, ``explain=True``; read with :func:`dlfers.store.shards.load_explanations`);
    - ``error_index`` (e,) int64 and ``error_problem`` (e,) str: the items that failed.
``errors.jsonl``
    One JSON object per failed item: ``{"index", "file", "problem"}``.

Several data set folders are listed as ``dlfers evaluate A B`` loads them
(:func:`dlfers.data.sources.list_sources`: label aliases, subjects kept apart per data set);
the images of a pre-cropped face set are extracted without face detection.  The manifest's
``datasets`` holds one summary per data set.  Format version 2 added ``dataset``,
``aligned`` and ``datasets``; version-1 folders still load (every item's data set "",
``aligned`` None), but resuming one needs ``overwrite``.

Work runs serially, on local processes (joblib) or on a Dask cluster
(:class:`dlfers._util.parallel.Executor`); the shards are identical whichever ran them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._util.files import atomic_write, stale_temp_files
from .._util.outputs import check_output_dir
from .._util.parallel import Executor
from .._util.progress import progress_counter
from .._version import __version__
from ..data.folders import ImageList
from ..data.sources import PRECROPPED_SIDE, ListedSources, list_sources, source_model
from ..explain.files import batch_explanation_arrays, check_explain_store
from ..image.read import ImageError
from ..model.estimator import DLFERS
from ..model.loading import load
from .shards import (
    ERRORS,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST,
    SHARD,
    ExtractedFeatures,
    iter_batches,
    load_features,
    read_errors,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..features.base import Features
    from ..model.estimator import DLFERS

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "ExtractedFeatures", "extract_dataset", "iter_batches",
           "load_features", "read_errors"]


# ----------------------------------------------------------------------------- one batch (in a worker)
def _problem(exc: BaseException) -> str:
    if isinstance(exc, ImageError):
        return exc.problem
    return f"{type(exc).__name__}: {exc}"


def _pack(feats: list[Features], kinds: Sequence[str], faces: bool, descriptors: bool) -> dict[str, np.ndarray]:
    """Features of a batch as flat arrays (see the module docstring)."""
    n = len(feats)
    out: dict[str, np.ndarray] = {
        "found": np.array([f.found for f in feats], dtype=bool),
        "aligned": np.array([-1 if f.aligned is None else int(f.aligned) for f in feats], dtype=np.int8),
        "box": np.array([f.box.as_tuple() if f.box is not None else (-1, -1, -1, -1) for f in feats],
                        dtype=np.int32).reshape(n, 4),
        "landmarks": np.array([f.box.landmarks if f.box is not None and f.box.landmarks is not None
                               else np.full((5, 2), np.nan) for f in feats], dtype=np.float32).reshape(n, 5, 2),
        "score": np.array([f.box.score if f.box is not None and f.box.score is not None else np.nan for f in feats],
                          dtype=np.float32).reshape(n),
    }
    if faces:
        out["face"] = (np.stack([np.asarray(f.face, np.float32) for f in feats]) if n
                       else np.zeros((0, 0, 0), np.float32))
    if descriptors:
        counts = [f.regions.shape[0] for f in feats]
        out["offsets"] = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        out["regions"] = np.concatenate([f.regions for f in feats]) if n else np.zeros((0, 0), np.int32)
        for kind in kinds:
            out[f"desc_{kind}"] = (np.concatenate([f.descriptors[kind] for f in feats]) if n
                                   else np.zeros((0, 0), np.float32))
        for kind in (feats[0].texture if n else {}):  # the texture channels' raw values
            out[f"texture_{kind}"] = np.stack([np.asarray(f.texture[kind], np.float32) for f in feats])
    return out


def _compute_batch(model: DLFERS, cropped: DLFERS, read: Callable[[str], np.ndarray], store: dict[str, bool],
                   start: int, names: Sequence[str], precropped: Sequence[bool]) -> dict[str, np.ndarray]:
    """Faces, descriptors and encodings of items ``start, start + 1, ...`` named ``names``;
    the items of pre-cropped face sets (``precropped``) are extracted by ``cropped``
    (``model`` without face detection), encoded and explained by ``model``.

    An item that cannot be read or processed is recorded in ``error_index`` and
    ``error_problem``; the other items of the batch are still extracted.
    """
    feats, index, err_index, err_problem = [], [], [], []
    for j, (name, pre) in enumerate(zip(names, precropped)):
        try:  # one item at a time, without extract()'s per-call alignment warning (the summary counts)
            f = (cropped if pre else model)._extract_one((start + j, read(name)))
        except Exception as exc:  # noqa: BLE001 - one bad item never loses the batch
            err_index.append(start + j)
            err_problem.append(_problem(exc))
            continue
        feats.append(f)
        index.append(start + j)
    out = _pack(feats, model.spec().kinds, store["faces"], store["descriptors"])
    if store["encodings"]:
        out["encoding"] = (model.transform_features(feats).astype(np.float32, copy=False) if feats
                           else np.zeros((0, 0), np.float32))
    if store.get("explanations"):

        out.update(batch_explanation_arrays(model, feats))
    out["index"] = np.asarray(index, dtype=np.int64)
    out["error_index"] = np.asarray(err_index, dtype=np.int64)
    out["error_problem"] = np.asarray(err_problem, dtype=str)
    return out


# ----------------------------------------------------------------------------- manifest and shards
def _fitted_digest(model: DLFERS) -> str | None:
    """SHA-256 of a fitted model's codebooks (what its encodings depend on), or None if unfitted."""
    books = getattr(model, "codebooks_", None)
    if not books or not getattr(model, "svms_", None):
        return None
    h = hashlib.sha256()
    for kind in sorted(books):
        cb = np.ascontiguousarray(books[kind])
        h.update(f"{kind}:{cb.dtype.str}:{cb.shape}".encode())
        h.update(cb.tobytes())
    return h.hexdigest()


def _describe_reader(read: Callable[[str], np.ndarray]) -> str:
    """What reads the items: a function's qualified name, or a reader object's ``repr``."""
    name = getattr(read, "__qualname__", None)
    if name is not None:
        return f"{getattr(read, '__module__', '?')}.{name}"
    return repr(read)


def _manifest(model: DLFERS, listed: ListedSources, batch_size: int, store: dict[str, bool]) -> dict[str, Any]:
    items = listed.items
    config = {k: v for k, v in model.get_params().items() if k != "progress"}
    head: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "dlfers_version": __version__,
        "config": config,
        "fitted_model": _fitted_digest(model) if store["encodings"] else None,
        "batch_size": int(batch_size),
        "n_items": len(items),
        "n_batches": -(-len(items) // batch_size),
        "store": store,
        "datasets": listed.info,
    }
    head["reader"] = _describe_reader(items.read)
    h = hashlib.sha256(json.dumps(head, sort_keys=True, default=str).encode())
    prints = items.fingerprints or ["?"] * len(items)
    for row in zip(items.names, items.labels, items.subjects, prints, listed.sources.tolist()):
        h.update(("\0".join(map(str, row)) + "\n").encode())
    head["config_hash"] = h.hexdigest()
    return head


def _savez(fh: Any, arrays: dict[str, np.ndarray]) -> None:
    np.savez(fh, **arrays)  # type: ignore[arg-type]


def _shard_hash(path: Path) -> str | None:
    """The ``config_hash`` stored in a shard, or None if it is not a readable shard."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return str(z["config_hash"])
    except Exception:  # noqa: BLE001 - any unreadable shard is simply recomputed
        return None


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = ["dlfers_version", "batch_size", "n_items", "store", "fitted_model", "format_version"]
    diff = [k for k in keys if old.get(k) != new.get(k)]
    cfg_old, cfg_new = old.get("config") or {}, new.get("config") or {}
    diff += [f"config.{k}" for k in sorted(set(cfg_old) | set(cfg_new)) if cfg_old.get(k) != cfg_new.get(k)]
    return ", ".join(diff) or "the files of the data set (names, labels or fingerprints)"


def _prepare(out: Path, manifest: dict[str, Any], overwrite: bool) -> None:
    """Make ``out`` ready: new, resumable (same manifest) or cleared (``overwrite``)."""
    mpath = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    for tmp in stale_temp_files(out):  # partial shards of a run killed while writing (a live run's are kept)
        tmp.unlink(missing_ok=True)
    if mpath.exists():
        try:
            old = json.loads(mpath.read_text())
        except (OSError, ValueError) as exc:
            if not overwrite:
                raise ValueError(f"{mpath}: unreadable manifest ({exc}); use --overwrite to start again") from exc
            old = {}
        if old.get("config_hash") != manifest["config_hash"]:
            if not overwrite:
                raise ValueError(
                    f"{out}: made with a different configuration ({_differences(old, manifest)} differ); "
                    "use --overwrite to replace it, or another --out folder")
            _clear(out)
    elif any(p.name != ERRORS and not p.name.startswith(".") for p in out.iterdir()):
        if not overwrite:
            raise ValueError(f"{out}: folder is not empty and holds no {MANIFEST}; use --overwrite or an empty folder")
        _clear(out)
    atomic_write(mpath, lambda fh: fh.write(json.dumps(manifest, indent=2, default=str) + "\n"), "w")


def _clear(out: Path) -> None:
    for p in [*out.glob("batch-*.npz"), out / MANIFEST, out / ERRORS]:
        p.unlink(missing_ok=True)


def _error_records(z: Any, items: ImageList | None) -> list[dict[str, Any]]:
    names = None if items is None else items.names
    recs = []
    for i, problem in zip(z["error_index"].tolist(), z["error_problem"].tolist()):
        recs.append({"index": int(i), "file": names[i] if names is not None else None, "problem": str(problem)})
    return recs


# ----------------------------------------------------------------------------- the public API
def _as_model(model: DLFERS | str | os.PathLike[str] | None) -> DLFERS:

    if model is None:
        return DLFERS()
    if isinstance(model, (str, os.PathLike)):

        return load(model)
    if not isinstance(model, DLFERS):
        raise TypeError(f"model must be a DLFERS, a model file or None, got {type(model).__name__}")
    return model


def _listed(data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | ImageList | ListedSources,
            aliases: Mapping[str, str] | None, subject_pattern: str | re.Pattern[str] | None,
            precropped_side: int) -> ListedSources:
    if isinstance(data, ListedSources):
        return data
    if isinstance(data, ImageList):  # taken as it is: one data set, detection as the model says
        info = [dict(name="data", path="", n_images=len(data), precropped=False)]
        return ListedSources(data, np.zeros(len(data), dtype=int), ["data"], [""], [False], info)
    return list_sources(data, aliases, subject_pattern, precropped_side)


def extract_dataset(
    data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | ImageList | ListedSources,
    out: str | os.PathLike[str],
    model: DLFERS | str | os.PathLike[str] | None = None,
    batch_size: int = 64,
    n_jobs: int | None = -1,
    scheduler: str | None = None,
    overwrite: bool = False,
    faces: bool = True,
    descriptors: bool = True,
    progress: bool = False,
    explain: bool = False,
    aliases: Mapping[str, str] | None = None,
    subject_pattern: str | re.Pattern[str] | None = None,
    precropped_side: int = PRECROPPED_SIDE,
) -> dict[str, Any]:
    """Extract faces, descriptors and (with a fitted model) encodings of every item into ``out``.

    Parameters
    ----------
    data : str or os.PathLike, sequence of them, ListedSources or ImageList
        A data set folder or several (listed by :func:`dlfers.data.sources.list_sources`), a
        :class:`dlfers.data.sources.ListedSources`, or an :class:`ImageList` (one data set, taken as it is).
    out : str or os.PathLike
        Output folder (created); a folder from an interrupted run with the same
        configuration is resumed.
    model : DLFERS, str, os.PathLike or None, default=None
        A :class:`DLFERS` (its preprocessing and descriptor parameters are used), a
        fitted one or a model file (SPOF encodings are also written), or None (defaults).
    batch_size : int, default=64
        Items per shard; memory is a few batches, not the data set.
    n_jobs : int or None, default=-1
        Local worker processes (-1: every core; 1: in this process).
    scheduler : str or None, default=None
        Address of a Dask scheduler to run the batches on (its workers must read
        the same files, at the same paths).
    overwrite : bool, default=False
        Replace the shards of a folder made with another configuration.
    faces, descriptors : bool, default=True
        Also store the preprocessed faces / the dense descriptors.
    progress : bool, default=False
        A progress bar on stderr.
    explain : bool, default=False
        Also store each face's per-region evidence (a fitted model with an explainable kernel).
    aliases, subject_pattern, precropped_side : optional
        As :func:`dlfers.data.sources.load_datasets`
        (for folders only).

    Returns
    -------
    Summary: ``out``, ``n_items``, ``n_extracted``, ``n_errors``, ``faces_found``,
    ``n_batches``, ``batches_computed``, ``batches_skipped`` (found finished), ``encodings``,
    ``config_hash``, ``executor``, ``seconds``, ``images_per_second`` (computed items only),
    ``datasets`` (one summary per data set), ``notes`` (aliases applied, subjects found,
    pre-cropped sets), ``eyes_not_found`` (faces whose alignment fell back; None without alignment).

    Raises
    ------
    ValueError
        Bad parameters, a bad subject pattern, ``out`` inside a data set folder (or one of them),
        or ``out`` was made with another configuration (without ``overwrite``).
    FileNotFoundError
        ``data`` is not a data set folder.
    """

    t0 = time.perf_counter()
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    batch_size = int(batch_size)
    inputs = [data] if isinstance(data, (str, os.PathLike)) else [
        d for d in data if isinstance(d, (str, os.PathLike))] if isinstance(data, (list, tuple)) else []
    if isinstance(model, (str, os.PathLike)):
        inputs.append(model)
    check_output_dir(out, (), inputs, overwrite, "feature folder")  # never into the data set, before any work
    m = _as_model(model)
    m.spec()
    listed = _listed(data, aliases, subject_pattern, precropped_side)
    items = listed.items
    store = {"faces": bool(faces), "descriptors": bool(descriptors), "encodings": _fitted_digest(m) is not None}
    if explain:  # the key only when asked: folders extracted before stay resumable
        store["explanations"] = check_explain_store(m, store["encodings"])
    if not any(store.values()):
        raise ValueError("nothing to store: faces and descriptors are off and the model is not fitted")
    manifest = _manifest(m, listed, batch_size, store)
    root = Path(out)
    _prepare(root, manifest, overwrite)
    chash = manifest["config_hash"]

    n_batches = manifest["n_batches"]
    todo = [b for b in range(n_batches) if _shard_hash(root / SHARD.format(b)) != chash]
    skipped = n_batches - len(todo)
    done_items = len(items) - sum(min(batch_size, len(items) - b * batch_size) for b in todo)
    bar = progress_counter(len(items), desc="extract", disable=not progress)
    bar.update(done_items)
    names = np.asarray(items.names, dtype=str)
    labels = np.asarray(items.labels, dtype=str)
    subjects = np.asarray(items.subjects, dtype=str)
    set_of = np.asarray(listed.names, dtype=str)[listed.sources]
    pre_of = np.asarray(listed.precropped, dtype=bool)[listed.sources]
    cropped = source_model(m, True) if pre_of.any() else m
    errors_path = root / ERRORS
    t_work = time.perf_counter()
    computed = 0
    with Executor(n_jobs, scheduler) as ex:
        tasks = ((b * batch_size, items.names[b * batch_size : (b + 1) * batch_size],
                  pre_of[b * batch_size : (b + 1) * batch_size].tolist()) for b in todo)
        results = ex.map(_compute_batch, tasks, shared=(m, cropped, items.read, store))
        for b, arrays in zip(todo, results):
            idx = arrays["index"]
            arrays.update(config_hash=np.asarray(chash), names=names[idx], labels=labels[idx],
                          subjects=subjects[idx], dataset=set_of[idx])
            atomic_write(root / SHARD.format(b), functools.partial(_savez, arrays=arrays))
            if len(arrays["error_index"]):
                with open(errors_path, "a") as fh:
                    for rec in _error_records(arrays, items):
                        fh.write(json.dumps(rec) + "\n")
            computed += 1
            bar.update(len(idx) + len(arrays["error_index"]))
        describe = ex.describe()
    bar.close()
    seconds_work = time.perf_counter() - t_work

    # the error log and the totals, from every shard (finished in this run or before)
    n_ok = found = fell_back = 0
    records: list[dict[str, Any]] = []
    for z in iter_batches(root, keys=("index", "found", "aligned", "error_index", "error_problem")):
        n_ok += len(z["index"])
        found += int(np.sum(z["found"]))
        fell_back += int(np.sum(z["aligned"] == 0)) if "aligned" in z else 0
        records += _error_records(z, items)
    atomic_write(errors_path, lambda fh: fh.write("".join(json.dumps(r) + "\n" for r in records)), "w")
    n_computed_items = len(items) - done_items
    return {
        "out": str(root),
        "n_items": len(items),
        "n_extracted": n_ok,
        "n_errors": len(records),
        "faces_found": found,
        "n_batches": n_batches,
        "batches_computed": computed,
        "batches_skipped": skipped,
        "encodings": store["encodings"],
        "config_hash": chash,
        "executor": describe,
        "seconds": round(time.perf_counter() - t0, 3),
        "images_per_second": round(n_computed_items / seconds_work, 2) if computed and seconds_work > 0 else None,
        "eyes_not_found": fell_back if m.align else None,
        "datasets": listed.info,
        "notes": listed.notes,
    }
