"""Several data sets as one: label aliases, per-set subject ids, pre-cropped face sets.

:func:`load_datasets` loads each folder (JAFFE or folder-per-class), renames its classes
by the alias table (:mod:`dlfers.data.labels`), keeps the subjects of different data sets
apart (``jaffe:KA``, ``ckplus48:S010``), and marks a data set whose every image is
face-sized (at most ``precropped_side`` pixels on its longer side, such as CK+48's
48x48 crops) as pre-cropped faces: :func:`extract_sources` then extracts its
descriptors without face detection (the model's ``detect=False``), as ``--no-detect``
would for that set alone.  Everything applied is written into ``notes`` for the report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._util.parallel import Executor
from ..image.header import image_size
from ..image.read import ImageError, read_image
from ..model.batch import extract_features
from .folders import Dataset, ImageList, _is_jaffe, duplicate_files, empty_class_folders, list_dataset, load_dataset
from .labels import alias_table, apply_aliases
from .subjects import DEFAULT_SUBJECT_RULE, subject_summary

__all__ = ["source_chunks",
           "PRECROPPED_SIDE", "DataSources", "ListedSources", "load_datasets", "list_sources", "extract_sources",
           "source_model"]

#: a data set whose every image is at most this many pixels on its longer side is taken as pre-cropped faces
PRECROPPED_SIDE = 64


@dataclass
class DataSources:
    """Images of one or more data sets with their origin.

    Attributes
    ----------
    dataset : Dataset
        The union: images, labels (after aliasing), subjects (prefixed ``NAME:`` when
        there are several data sets), paths, errors.
    sources : ndarray
        (n,) int index into ``names`` of each image.
    names : list of str
        Short name of each data set (its folder's name, made unique).
    paths : list of str
        The folder of each data set.
    precropped : list of bool
        Per data set, whether its images are taken as pre-cropped faces.
    info : list of dict, default=[]
        Per data set, a JSON-ready summary (images, classes, subjects, aliases applied, ...).
    notes : list of str, default=[]
        Human-readable lines saying what was applied, for reports.
    """

    dataset: Dataset
    sources: np.ndarray
    names: list[str]
    paths: list[str]
    precropped: list[bool]
    info: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.dataset)


def _names(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    out: list[str] = []
    for p in paths:
        base = Path(os.path.abspath(p)).name or str(p)
        name, k = base, 2
        while name in out:
            name, k = f"{base}{k}", k + 1
        out.append(name)
    return out


def _describe(name: str, path: str | os.PathLike[str], labels: np.ndarray, subjects: np.ndarray,
              applied: dict[str, str], side: int, skipped: int, subject_pattern: str | re.Pattern[str] | None,
              precropped_side: int, info: list[dict[str, Any]], notes: list[str]) -> bool:
    """Append one data set's summary to ``info`` and ``notes``; whether it is taken as pre-cropped faces."""
    n = len(labels)
    small = bool(precropped_side) and side <= int(precropped_side)
    rule = "JAFFE file names" if _is_jaffe(Path(path)) else (
        f"pattern {subject_pattern.pattern if isinstance(subject_pattern, re.Pattern) else subject_pattern!r}"
        if subject_pattern is not None else DEFAULT_SUBJECT_RULE)
    notes.append(f"{name}: {n} images from {path}; {subject_summary(subjects)} (subject: {rule})")
    if applied:
        notes.append(f"{name}: label aliases applied: " + ", ".join(f"{a} -> {b}" for a, b in applied.items()))
    if small:
        notes.append(f"{name}: all {n} images are at most {side}x{side} pixels: taken as pre-cropped "
                     "faces (no face detection)")
    info.append(dict(name=name, path=str(path), n_images=n, classes=sorted(set(labels.tolist())),
                     n_subjects=len(set(subjects.tolist())), subject_rule=rule, aliases_applied=applied,
                     precropped=small, largest_side=int(side), skipped_files=skipped))
    return small


def _warn_silent_drops(plist: Sequence[str | os.PathLike[str]], names: Sequence[str], files: Sequence[str],
                       notes: list[str]) -> None:
    """Warnings with counts (in ``notes``) for what loading would otherwise drop or hide in silence:
    empty class folders, and byte-identical copies among the images (a leak across folds).  ``info``
    is left as it was: it is part of an extraction folder's configuration hash."""
    for path, name in zip(plist, names):
        empty = empty_class_folders(path)
        if empty:
            notes.append(f"warning: {name}: {len(empty)} empty class folder(s) skipped (no image files): "
                         + ", ".join(empty))
    groups = duplicate_files(files)
    if groups:
        copies = sum(len(g) - 1 for g in groups)
        notes.append(f"warning: {copies} image(s) are byte-identical copies of others ({len(groups)} group(s), "
                     f"e.g. {' = '.join(groups[0][:2])}); cross-validation can put a copy in a training and a "
                     "test fold at once and score it through the leak: remove the copies")


def load_datasets(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    aliases: Mapping[str, str] | None = None,
    subject_pattern: str | re.Pattern[str] | None = None,
    precropped_side: int = PRECROPPED_SIDE,
    progress: bool = False,
) -> DataSources:
    """Load and join data sets (JAFFE or folder-per-class each).

    Parameters
    ----------
    paths : str or os.PathLike, or a sequence of them
        One folder or several.
    aliases : mapping of str to str or None, default=None
        Extra label aliases ``{from: to}`` on top of :data:`dlfers.data.labels.DEFAULT_ALIASES`
        (map a name to itself to undo a default).
    subject_pattern : str or re.Pattern or None, default=None
        Regular expression with a group giving the subject id in the file
        names of folder-per-class sets (None: :data:`dlfers.data.subjects.DEFAULT_SUBJECT_RULE`).
    precropped_side : int, default=PRECROPPED_SIDE (64)
        A data set whose every image is at most this long on its longer side
        is taken as pre-cropped faces (0: never).
    progress : bool, default=False
        Show a progress bar.

    Returns
    -------
    DataSources
        The joined data sets.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`dlfers.data.folders.load_dataset`, or when a data set has no readable image.
    """
    plist = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not plist:
        raise ValueError("no data set given")
    table = alias_table(aliases)
    names = _names(plist)
    several = len(plist) > 1
    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    subjects: list[np.ndarray] = []
    files: list[str] = []
    errors: list[ImageError] = []
    sources: list[np.ndarray] = []
    precropped: list[bool] = []
    info: list[dict[str, Any]] = []
    notes: list[str] = []
    for k, (path, name) in enumerate(zip(plist, names)):
        ds = load_dataset(path, progress=progress, subject_pattern=subject_pattern)
        if len(ds) == 0:
            raise ValueError(f"{path}: no readable image ({len(ds.errors)} unusable files)")
        lab, applied = apply_aliases(ds.labels, table)
        sub = np.asarray(ds.subjects).astype(str)
        side = max(max(im.shape) for im in ds.images)
        small = _describe(name, path, lab, sub, applied, side, len(ds.errors), subject_pattern, precropped_side,
                          info, notes)
        images += ds.images
        labels.append(lab)
        subjects.append(np.char.add(f"{name}:", sub) if several else sub)
        files += ds.paths
        errors += ds.errors
        sources.append(np.full(len(ds), k))
        precropped.append(small)
    joined = Dataset(images=images, labels=np.concatenate(labels), subjects=np.concatenate(subjects),
                     paths=files, errors=errors)
    _warn_silent_drops(plist, names, files, notes)
    return DataSources(joined, np.concatenate(sources), names, [str(p) for p in plist], precropped, info, notes)


@dataclass
class ListedSources:
    """The files of one or more data sets, listed without decoding them (as :class:`DataSources`).

    Attributes
    ----------
    items : ImageList
        The union's file paths, labels (after aliasing), subjects (prefixed ``NAME:``
        when there are several data sets) and fingerprints.
    sources, names, paths, precropped, info, notes : as :class:`DataSources`, default=[] for info and notes
        As :class:`DataSources`.
    """

    items: ImageList
    sources: np.ndarray
    names: list[str]
    paths: list[str]
    precropped: list[bool]
    info: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)


def _image_side(path: str) -> int | None:
    """The longer side of the image file at ``path`` from its header (decoded if the header is
    not understood), or None if it cannot be read: the extraction then reports the file."""

    try:
        with open(path, "rb") as fh:
            size = image_size(fh.read(1 << 16))
            if size is None:  # e.g. a TIFF whose directory follows the pixels
                fh.seek(0)
                size = image_size(fh.read())
        if size is not None:
            return max(size)
        return int(max(read_image(path).shape[:2]))
    except (OSError, ImageError):
        return None


def list_sources(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    aliases: Mapping[str, str] | None = None,
    subject_pattern: str | re.Pattern[str] | None = None,
    precropped_side: int = PRECROPPED_SIDE,
) -> ListedSources:
    """List and join data sets as :func:`load_datasets` loads them, without decoding the images.

    Labels are aliased, subjects kept apart per data set, and a data set is pre-cropped
    when every image is at most ``precropped_side`` on its longer side, read from the file
    headers; files that cannot be read do not count (they fail at extraction, by name).

    Parameters
    ----------
    paths : sequence of str or os.PathLike or str or os.PathLike
        One folder or several.
    aliases : mapping of str to str or None, default=None
        Extra label aliases ``{from: to}`` (see :func:`load_datasets`).
    subject_pattern : str or re.Pattern or None, default=None
        Regular expression whose group gives the subject id in file names (None: the default
        rule, :func:`dlfers.data.subjects.subject_of`).
    precropped_side : int, default=PRECROPPED_SIDE (64)
        Longest side of a pre-cropped data set's images.

    Returns
    -------
    ListedSources
        The listed files.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_datasets`.
    """
    plist = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not plist:
        raise ValueError("no data set given")
    table = alias_table(aliases)
    names = _names(plist)
    several = len(plist) > 1
    files: list[str] = []
    labels: list[str] = []
    subjects: list[str] = []
    prints: list[str] = []
    sources: list[np.ndarray] = []
    precropped: list[bool] = []
    info: list[dict[str, Any]] = []
    notes: list[str] = []
    for k, (path, name) in enumerate(zip(plist, names)):
        items = list_dataset(path, subject_pattern)
        lab, applied = apply_aliases(items.labels, table)
        sub = np.asarray(items.subjects).astype(str)
        sides = [s for s in map(_image_side, items.names) if s is not None]
        if not sides:
            raise ValueError(f"{path}: no readable image ({len(items)} unusable files)")
        small = _describe(name, path, lab, sub, applied, max(sides), len(items) - len(sides), subject_pattern,
                          precropped_side, info, notes)
        files += items.names
        labels += lab.tolist()
        subjects += [f"{name}:{x}" if several else str(x) for x in sub.tolist()]
        prints += items.fingerprints or ["?"] * len(items)
        sources.append(np.full(len(items), k))
        precropped.append(small)
    _warn_silent_drops(plist, names, files, notes)
    return ListedSources(ImageList(files, labels, subjects, items.read, prints), np.concatenate(sources), names,
                         [str(p) for p in plist], precropped, info, notes)


def source_model(model: Any, precropped: bool) -> Any:
    """``model`` itself, or for pre-cropped faces an unfitted copy with ``detect=False``.

    Parameters
    ----------
    model : DLFERS
        An unfitted model.
    precropped : bool
        Whether the data set is pre-cropped.

    Returns
    -------
    DLFERS
        ``model``, or a copy with ``detect=False``.
    """
    if not precropped or not getattr(model, "detect", False):
        return model
    from sklearn.base import clone

    return clone(model).set_params(detect=False)


def extract_sources(model: Any, data: DataSources, executor: Executor | None = None,
                    progress: bool = False, subset: np.ndarray | None = None) -> list[Any]:
    """Features (:class:`dlfers.features.base.Features`) of every image of ``data`` (or of the
    indices ``subset``), in order; pre-cropped data sets without face detection.

    Descriptors depend on nothing learned, so features extracted this way can be
    fitted and predicted with ``model`` (``fit_features``/``predict_features``).

    Parameters
    ----------
    model : DLFERS
        The model whose ``extract`` computes the features.
    data : DataSources
        The images.
    executor : Executor or None, default=None
        Runs batches on its workers (None: serially here).
    progress : bool, default=False
        Show a progress bar.
    subset : ndarray of int or None, default=None
        Indices of the images to extract (None: all).

    Returns
    -------
    list of Features
        One per image (of ``subset``), in order.
    """
    idx = np.arange(len(data)) if subset is None else np.asarray(subset)
    out: list[Any] = [None] * len(idx)
    for k, pre in enumerate(data.precropped):
        pos = np.flatnonzero(data.sources[idx] == k)
        if not len(pos):
            continue
        feats = extract_features(source_model(model, pre), [data.dataset.images[i] for i in idx[pos]],
                                 executor, progress)
        for p, f in zip(pos, feats):
            out[p] = f
    return out


def source_chunks(model: Any, data: DataSources, subset: np.ndarray | None = None,
                  executor: Executor | None = None, size: int = 512) -> Any:
    """The ``chunks`` callable of :func:`dlfers.model.largescale.fit_linear`: features of the images
    ``subset`` of ``data`` (None: all), ``size`` at a time, as ``(start, features)`` pairs.

    Parameters
    ----------
    model : DLFERS
        The model whose descriptors are extracted (pre-cropped sets without detection).
    data : DataSources
        What :func:`load_datasets` returns.
    subset : ndarray of shape (m,), int, or None, default None
        The images, in order.
    executor : Executor or None, default None
        Workers of the extraction.
    size : int, default 512
        Images per chunk.

    Returns
    -------
    callable
        Each call returns a fresh generator of ``(start, features)``.
    """
    idx = np.arange(len(data)) if subset is None else np.asarray(subset)

    def gen() -> Any:
        for a in range(0, len(idx), size):
            yield a, extract_sources(model, data, executor, False, idx[a : a + size])
    return gen
