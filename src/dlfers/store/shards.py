"""Reading back the folders of shards that :func:`dlfers.store.extract.extract_dataset` writes.

The folder layout and the arrays of each shard are described in :mod:`dlfers.store.extract`.
Shards are NumPy archives read with ``allow_pickle=False``; a shard that belongs to
another configuration than the folder's manifest is refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..face.detect import FaceBox
from ..features.base import Features
from ..model.spec import parse_kinds

if TYPE_CHECKING:  # pragma: no cover
    from ..features.base import Features

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "MANIFEST", "ERRORS", "SHARD", "ExtractedFeatures", "iter_batches",
           "load_explanations", "load_features", "read_errors", "read_manifest"]

FORMAT_NAME = "dlfers-features"
#: 2: shards hold each item's ``dataset`` and ``aligned``, the manifest the ``datasets``
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
ERRORS = "errors.jsonl"
#: shard file name of batch number b: ``SHARD.format(b)``
SHARD = "batch-{:05d}.npz"


def iter_batches(out: str | os.PathLike[str], keys: Sequence[str] | None = None
                 ) -> Iterator[dict[str, np.ndarray]]:
    """The shards of ``out`` in order, each as a dict of arrays (see the module docstring);
    only ``keys`` (and ``config_hash``) are read if given.

    Parameters
    ----------
    out : str or os.PathLike
        An extraction folder.
    keys : sequence of str or None, default=None
        Arrays to read (None: all).

    Returns
    -------
    iterator of dict of str to ndarray
        One dict per shard.

    Raises
    ------
    FileNotFoundError
        ``out`` holds no manifest.
    ValueError
        A shard is missing (the extraction did not finish) or belongs to another configuration.
    """
    root = Path(out)
    manifest = read_manifest(root)
    for b in range(int(manifest["n_batches"])):
        path = root / SHARD.format(b)
        if not path.exists():
            raise ValueError(f"{path}: missing; the extraction did not finish (run it again to resume)")
        with np.load(path, allow_pickle=False) as z:
            wanted = z.files if keys is None else [k for k in z.files if k in keys or k == "config_hash"]
            arrays = {k: z[k] for k in wanted}
        if str(arrays.get("config_hash")) != manifest["config_hash"]:
            raise ValueError(f"{path}: belongs to another configuration than {root / MANIFEST}")
        yield arrays


def read_manifest(root: Path) -> dict[str, Any]:
    """The checked manifest of the extraction folder ``root``; FileNotFoundError or ValueError naming the problem.

    Parameters
    ----------
    root : Path
        An extraction folder.

    Returns
    -------
    dict of str to object
        The manifest.
    """
    path = root / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{root}: no {MANIFEST}; not a folder written by extract_dataset")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"{path}: not a {FORMAT_NAME} manifest")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(f"{path}: format version {manifest['format_version']} is newer than this "
                         f"dlfers reads ({FORMAT_VERSION})")
    return manifest


@dataclass
class ExtractedFeatures:
    """A whole extraction read back.

    Attributes
    ----------
    index : ndarray
        (n,) int64 item positions in the data set.
    names, labels, subjects : (n,) str each.
    features : n :class:`dlfers.model.estimator.Features` (empty list if descriptors were not stored).
    encodings : (n, F) float32 SPOF histograms, or None.
    manifest : dict of str to object
        The folder's manifest.
    datasets : ndarray of shape (n,), dtype str, default=empty
        The name of each item's data set ("" in a version-1 folder).
    """

    index: np.ndarray
    names: np.ndarray
    labels: np.ndarray
    subjects: np.ndarray
    features: list[Features]
    encodings: np.ndarray | None
    manifest: dict[str, Any]
    datasets: np.ndarray = field(default_factory=lambda: np.zeros(0, str))


def load_features(out: str | os.PathLike[str]) -> ExtractedFeatures:
    """Read every shard of ``out`` into memory (use :func:`iter_batches` to stream).

    The features equal ``DLFERS.extract`` of the same images, so they can be given to
    :meth:`DLFERS.fit_features` or :func:`dlfers.evaluation.protocols.evaluate` (``features=``).

    Parameters
    ----------
    out : str or os.PathLike
        An extraction folder.

    Returns
    -------
    ExtractedFeatures
        Everything it holds.
    """

    root = Path(out)
    manifest = read_manifest(root)
    kinds = parse_kinds(manifest["config"]["descriptors"])
    keys = ("index", "names", "labels", "subjects", "dataset")
    cols: dict[str, list[np.ndarray]] = {k: [] for k in (*keys, "encoding")}
    feats: list[Features] = []
    for z in iter_batches(root):
        z.setdefault("dataset", np.full(len(z["index"]), "", dtype=str))  # format version 1
        for k in keys:
            cols[k].append(z[k])
        if "encoding" in z and len(z["index"]):
            cols["encoding"].append(z["encoding"])
        if "offsets" not in z:
            continue
        off = z["offsets"]
        aligned = z.get("aligned", np.full(len(z["index"]), -1, np.int8))
        # texture channels' raw values; "texture": LBP counts of shards written before the Gabor channel
        textures = [k[len("texture_"):] for k in z if k.startswith("texture_")] or (["lbp"] if "texture" in z else [])
        for i in range(len(z["index"])):
            a, b = int(off[i]), int(off[i + 1])
            box = z["box"][i]
            marks = z["landmarks"][i] if "landmarks" in z else None  # shards before issue 28 have none
            lm = None if marks is None or np.isnan(marks).any() else tuple((float(x), float(y)) for x, y in marks)
            score = None if lm is None or "score" not in z or np.isnan(z["score"][i]) else float(z["score"][i])
            feats.append(Features(
                descriptors={k: z[f"desc_{k}"][a:b] for k in kinds},
                regions=z["regions"][a:b],
                found=bool(z["found"][i]),
                box=None if box[0] < 0 else FaceBox(int(box[0]), int(box[1]), int(box[2]), int(box[3]),
                                                    lm, score),  # type: ignore[arg-type]
                face=z["face"][i] if "face" in z else None,
                aligned=None if aligned[i] < 0 else bool(aligned[i]),
                texture={k: z[f"texture_{k}" if f"texture_{k}" in z else "texture"][i] for k in textures},
            ))
    enc = None
    if manifest["store"].get("encodings"):
        enc = np.concatenate(cols["encoding"]) if cols["encoding"] else np.zeros((0, 0), np.float32)
    return ExtractedFeatures(
        index=np.concatenate(cols["index"]) if cols["index"] else np.zeros(0, np.int64),
        names=np.concatenate(cols["names"]) if cols["names"] else np.zeros(0, str),
        labels=np.concatenate(cols["labels"]) if cols["labels"] else np.zeros(0, str),
        subjects=np.concatenate(cols["subjects"]) if cols["subjects"] else np.zeros(0, str),
        features=feats, encodings=enc, manifest=manifest,
        datasets=np.concatenate(cols["dataset"]) if cols["dataset"] else np.zeros(0, str),
    )


def read_errors(out: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of ``out/errors.jsonl``: ``{"index", "file", "problem"}`` per failed item.

    Parameters
    ----------
    out : str or os.PathLike
        An extraction folder.

    Returns
    -------
    list of dict
        One record per failed item.
    """
    path = Path(out) / ERRORS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_explanations(out: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The explanation arrays of every shard of an extraction made with ``explain=True``, concatenated
    (``index`` (n,) int64 item positions besides; see :func:`explanation_arrays`).

    Parameters
    ----------
    out : str or os.PathLike
        An extraction folder.

    Returns
    -------
    dict of str to ndarray
        The concatenated explanation arrays.

    Raises
    ------
    ValueError
        The extraction holds no explanations.
    """
    parts: dict[str, list[np.ndarray]] = {}
    fixed: dict[str, np.ndarray] = {}
    for z in iter_batches(out):
        if "evidence" not in z:
            raise ValueError(f"{out}: the extraction holds no explanations (extract with --explain and a --model)")
        for key, arr in z.items():
            if key in ("region_names", "classes"):
                fixed[key] = arr
            elif key in ("index", "intercepts", "decision_values", "predicted") or key.startswith("evidence"):
                parts.setdefault(key, []).append(arr)
    return {**{k: np.concatenate(v) for k, v in parts.items()}, **fixed}
