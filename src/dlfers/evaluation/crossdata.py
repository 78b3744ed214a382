"""Evaluation over several data sets: cross-validation of their union, and train-on-A, test-on-B.

Both use :func:`dlfers.data.sources.load_datasets` (label aliases, subjects kept apart per
data set, pre-cropped face sets) and write what was applied into the report's ``notes``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._util.parallel import Executor
from .._util.progress import progress_counter
from ..data.sources import PRECROPPED_SIDE, DataSources, extract_sources, load_datasets, source_chunks
from ..model.estimator import DLFERS
from ..model.largescale import fit_linear
from .protocols import _baseline_model, class_order, evaluate, hog_features, scores

__all__ = ["evaluate_fitted", "evaluate_sets", "evaluate_transfer", "per_dataset_scores", "predict_sources",
           "shared_classes"]

#: images per chunk when a fitted model predicts a data set (features of one chunk in memory)
PREDICT_CHUNK = 512

Paths = Sequence[str | os.PathLike[str]] | str | os.PathLike[str]


def _report_sources(report: dict[str, Any], data: DataSources, role: str | None = None) -> None:
    key = "datasets" if role is None else f"{role}_datasets"
    report[key] = data.info
    report.setdefault("notes", [])
    report["notes"] += [f"{role}: {n}" if role else n for n in data.notes]


def evaluate_sets(
    data: Paths,
    protocol: str = "kfold",
    folds: int = 10,
    seed: int = 0,
    model: Any = None,
    aliases: Mapping[str, str] | None = None,
    subject_pattern: str | re.Pattern[str] | None = None,
    precropped_side: int = PRECROPPED_SIDE,
    baseline: bool = True,
    n_jobs: int = 1,
    progress: bool = False,
    scheduler: str | None = None,
) -> dict[str, Any]:
    """Cross-validate on one data set or the union of several (see :func:`dlfers.evaluation.protocols.evaluate`).

    Subjects of different data sets never share an id, so "loso" and "group-kfold" keep
    each person of each set in one fold.  ``aliases``, ``subject_pattern`` and
    ``precropped_side`` are those of :func:`dlfers.data.sources.load_datasets`.

    Parameters
    ----------
    data : str or os.PathLike, or a sequence of them
        One data set folder or several (joined).
    protocol : {'kfold', 'loso', 'group-kfold'}, default='kfold'
        The protocol, as :func:`dlfers.evaluation.protocols.evaluate`.
    folds : int, default=10
        Folds of "kfold" and "group-kfold".
    seed : int, default=0
        Shuffling seed of the splits.
    model : DLFERS or None, default=None
        An unfitted model (None: the default configuration).
    aliases : mapping of str to str or None, default=None
        Extra label aliases, as :func:`dlfers.data.sources.load_datasets`.
    subject_pattern : str or re.Pattern or None, default=None
        Subject id rule for folder-per-class sets, as :func:`dlfers.data.sources.load_datasets`.
    precropped_side : int, default=PRECROPPED_SIDE (64)
        Pre-cropped data set threshold, as :func:`dlfers.data.sources.load_datasets`.
    baseline : bool, default=True
        Also score the HOG + LinearSVC baseline the same way.
    n_jobs : int, default=1
        Local worker processes (-1: every core); the results do not depend on it.
    progress : bool, default=False
        Show progress bars.
    scheduler : str or None, default=None
        Address of a Dask scheduler to run on (None: local).

    Returns
    -------
    The report of :func:`dlfers.evaluation.protocols.evaluate`, plus ``datasets`` (one summary per data
    set), ``notes`` (aliases applied, subjects found, pre-cropped sets) and, for several data
    sets, ``per_dataset`` (accuracy, macro-F1 and recall of each set's images).
    """

    t0 = time.perf_counter()
    model = DLFERS() if model is None else model
    src = load_datasets(data, aliases, subject_pattern, precropped_side, progress)
    with Executor(n_jobs, scheduler) as ex:  # one connection to a scheduler for descriptors and folds
        feats = extract_sources(model, src, ex, progress)
        t_extract = time.perf_counter() - t0
        report = evaluate(src.dataset, protocol, folds, seed, model, baseline, n_jobs, progress, feats, scheduler,
                          executor=ex)
    report["data"] = src.paths if len(src.paths) > 1 else src.paths[0]
    report["seconds"] = {"extract": round(t_extract, 2), "total": round(time.perf_counter() - t0, 2)}
    _report_sources(report, src)
    if len(src.names) > 1:
        report["per_dataset"] = per_dataset_scores(report, src)
        report["notes"].append("per data set: " + "; ".join(
            f"{n} accuracy {r['overall_accuracy']:.2f} %, macro-F1 {r['macro_f1']:.2f}"
            for n, r in report["per_dataset"].items()))
    return report


def per_dataset_scores(report: dict[str, Any], src: DataSources) -> dict[str, dict[str, Any]]:
    """Accuracy and macro-F1 of the cross-validated predictions of each data set's images.

    Parameters
    ----------
    report : dict of str to object
        An :func:`evaluate_sets` report (its out-of-fold predictions).
    src : DataSources
        The joined data sets.

    Returns
    -------
    dict of str to dict
        Data set name -> accuracy and macro-F1.
    """
    y, pred = np.asarray(report["labels"]), np.asarray(report["predictions"])
    out = {}
    for k, name in enumerate(src.names):
        m = src.sources == k
        r = scores(y[m], pred[m], class_order(y[m]))
        out[name] = {key: r[key] for key in ("overall_accuracy", "macro_f1", "per_class_recall", "classes")}
    return out


def shared_classes(train: Sequence[str] | np.ndarray, test: Sequence[str] | np.ndarray) -> list[str]:
    """Classes present in both label arrays, in :func:`dlfers.evaluation.protocols.class_order`.

    Parameters
    ----------
    train : sequence of str
        Training labels.
    test : sequence of str
        Test labels.

    Returns
    -------
    list of str
        The shared classes.
    """
    both = set(np.asarray(train).tolist()) & set(np.asarray(test).tolist())
    return class_order(sorted(both))


def _dropped(labels: np.ndarray, keep: Sequence[str]) -> dict[str, int]:
    names, counts = np.unique(labels[~np.isin(labels, list(keep))], return_counts=True)
    return {str(n): int(c) for n, c in zip(names, counts)}


def evaluate_transfer(
    train: Paths,
    test: Paths,
    model: Any = None,
    aliases: Mapping[str, str] | None = None,
    subject_pattern: str | re.Pattern[str] | None = None,
    precropped_side: int = PRECROPPED_SIDE,
    baseline: bool = True,
    n_jobs: int = 1,
    progress: bool = False,
    scheduler: str | None = None,
) -> dict[str, Any]:
    """Fit on every image of ``train`` and score on every image of ``test``, on the classes both share.

    Labels are aliased first (``aliases``: see :func:`dlfers.data.sources.load_datasets`);
    images of classes that only one side has are dropped from both, and named in the
    report (``dropped_classes``).  The HOG + LinearSVC baseline is fitted and scored the same way.

    Parameters
    ----------
    train : str or os.PathLike, or a sequence of them
        Training data set folder(s).
    test : str or os.PathLike, or a sequence of them
        Test data set folder(s).
    model : DLFERS or None, default=None
        An unfitted model (None: the default configuration).
    aliases : mapping of str to str or None, default=None
        Extra label aliases, as :func:`dlfers.data.sources.load_datasets`.
    subject_pattern : str or re.Pattern or None, default=None
        Subject id rule for folder-per-class sets, as :func:`dlfers.data.sources.load_datasets`.
    precropped_side : int, default=PRECROPPED_SIDE (64)
        Pre-cropped data set threshold, as :func:`dlfers.data.sources.load_datasets`.
    baseline : bool, default=True
        Also score the HOG + LinearSVC baseline the same way.
    n_jobs : int, default=1
        Local worker processes (-1: every core); the results do not depend on it.
    progress : bool, default=False
        Show progress bars.
    scheduler : str or None, default=None
        Address of a Dask scheduler to run on (None: local).

    Returns
    -------
    A report with the keys of :func:`dlfers.evaluation.protocols.evaluate` (``protocol`` is "transfer",
    one "fold"), plus ``shared_classes``, ``dropped_classes`` (``{"train": {class: images},
    "test": {...}}``), ``n_train``, ``train_datasets``, ``test_datasets`` and ``notes``.

    Raises
    ------
    ValueError
        When the two sides share fewer than two classes.
    """

    t0 = time.perf_counter()
    model = DLFERS() if model is None else model
    tr = load_datasets(train, aliases, subject_pattern, precropped_side, progress)
    te = load_datasets(test, aliases, subject_pattern, precropped_side, progress)
    ytr, yte = np.asarray(tr.dataset.labels), np.asarray(te.dataset.labels)
    classes = shared_classes(ytr, yte)
    if len(classes) < 2:
        raise ValueError(f"the training data (classes {sorted(set(ytr.tolist()))}) and the test data (classes "
                         f"{sorted(set(yte.tolist()))}) share {len(classes)} class(es) after aliasing; "
                         "map their names onto each other with --alias FROM=TO")
    itr, ite = np.flatnonzero(np.isin(ytr, classes)), np.flatnonzero(np.isin(yte, classes))
    from sklearn.base import clone

    if getattr(model, "classifier", "kernel") == "linear":  # features streamed in chunks, never all at once
        with Executor(n_jobs, scheduler) as ex:
            fitted = fit_linear(clone(model), source_chunks(model, tr, itr, ex), ytr[itr], progress=progress)
            t_extract = time.perf_counter() - t0
            pred, _, found = predict_sources(fitted, te, ite, ex, progress)
        baseline = False  # the HOG baseline needs every face in memory
        y = yte[ite]
    else:
        with Executor(n_jobs, scheduler) as ex:
            ftr = extract_sources(model, tr, ex, progress, itr)
            fte = extract_sources(model, te, ex, progress, ite)
        t_extract = time.perf_counter() - t0
        fitted = clone(model).fit_features(ftr, ytr[itr])
        y = yte[ite]
        pred = np.asarray(fitted.predict_features(fte))
        found = int(sum(bool(f.found) for f in fte))
    report: dict[str, Any] = scores(y, pred, classes)
    report["fold_accuracy"] = [report["overall_accuracy"]]
    report["predictions"] = pred.tolist()
    if baseline:
        bl = _baseline_model().fit(hog_features([f.face for f in ftr]), ytr[itr])
        report["baseline"] = {
            "name": "scikit-image HOG (9 orientations, 8x8 cells, 2x2 blocks) + StandardScaler + LinearSVC",
            **scores(y, np.asarray(bl.predict(hog_features([f.face for f in fte]))), classes),
        }
    dropped = {"train": _dropped(ytr, classes), "test": _dropped(yte, classes)}
    desc = (f"cross-data set: trained on all of {', '.join(tr.names)} ({len(itr)} images), tested on "
            f"{', '.join(te.names)} ({len(ite)} images); shared classes: {', '.join(classes)}")
    report.update(
        protocol="transfer", protocol_description=desc, n_folds=1, seed=None,
        config={k: v for k, v in model.get_params().items() if k != "progress"},
        n_images=len(ite), n_train=len(itr), faces_found=found,
        skipped_files=[{"path": e.path, "error": e.problem} for e in (*tr.dataset.errors, *te.dataset.errors)],
        labels=y.tolist(), subjects=np.asarray(te.dataset.subjects)[ite].tolist(),
        shared_classes=classes, dropped_classes=dropped,
        data={"train": tr.paths, "test": te.paths},
        seconds={"extract": round(t_extract, 2), "total": round(time.perf_counter() - t0, 2)},
    )
    _report_sources(report, tr, "train")
    _report_sources(report, te, "test")
    for side, d in dropped.items():
        if d:
            report["notes"].append(f"dropped from {side} (class not on the other side): "
                                   + ", ".join(f"{c} ({n} images)" for c, n in d.items()))
    return report


def predict_sources(model: Any, data: DataSources, idx: np.ndarray, executor: Executor | None = None,
                    progress: bool = False, size: int = PREDICT_CHUNK) -> tuple[np.ndarray, np.ndarray, int]:
    """Labels (m,) and class probabilities (m, k) of a fitted model for the images ``idx`` of ``data``,
    predicted ``size`` images at a time (pre-cropped data sets without face detection).

    Parameters
    ----------
    model : DLFERS
        A fitted model.
    data : DataSources
        What :func:`dlfers.data.sources.load_datasets` returns.
    idx : ndarray of shape (m,), int
        The images to predict.
    executor : Executor or None, default None
        Workers of the extraction (None: serial).
    progress : bool, default False
        Show a progress bar.
    size : int, default PREDICT_CHUNK
        Images per chunk.

    Returns
    -------
    labels : ndarray of shape (m,)
    probabilities : ndarray of shape (m, k), float64
        Columns as ``model.classes_``.
    found : int
        Images in which a face was detected (all, for pre-cropped sets).
    """
    labels, probs, found = [], [], 0
    bar = progress_counter(len(idx), desc="predicting", disable=not progress)
    for a in range(0, len(idx), size):
        feats = extract_sources(model, data, executor, False, idx[a : a + size])
        lab, pr = model.predict_with_proba_features(feats)
        labels.append(np.asarray(lab))
        probs.append(pr)
        found += sum(bool(f.found) for f in feats)
        bar.update(len(feats))
    bar.close()
    k = len(model.classes_)
    return (np.concatenate(labels) if labels else np.zeros(0, model.classes_.dtype),
            np.vstack(probs) if probs else np.zeros((0, k)), int(found))


def evaluate_fitted(
    model: Any,
    test: Paths,
    aliases: Mapping[str, str] | None = None,
    subject_pattern: str | re.Pattern[str] | None = None,
    precropped_side: int = PRECROPPED_SIDE,
    n_jobs: int = 1,
    progress: bool = False,
    scheduler: str | None = None,
    model_name: str = "",
) -> dict[str, Any]:
    """Score a fitted model, as it is, on labelled data sets (zero-shot: no training, no folds).

    Labels are aliased first (``aliases``: see :func:`dlfers.data.sources.load_datasets`);
    images of classes the model does not know (CK+48's ``contempt`` for a FER2013 model) are
    left out and counted in ``dropped_classes`` and ``notes``.  The model predicts with all its
    classes; ``restricted_accuracy`` is the accuracy when only the classes the data has may be
    predicted (the most probable of them).

    Parameters
    ----------
    model : DLFERS
        A fitted model (e.g. :func:`dlfers.load` or :func:`dlfers.pretrained`).
    test : path or sequence of paths
        Labelled data sets (JAFFE, or folders per class).
    aliases : mapping of str to str or None, default None
        Label aliases (see :func:`dlfers.data.sources.load_datasets`).
    subject_pattern : str, re.Pattern or None, default None
        How subjects are read from file names (see :func:`dlfers.data.sources.load_datasets`).
    precropped_side : int, default PRECROPPED_SIDE
        Images of at most this side are pre-cropped faces (no detection).
    n_jobs : int, default 1
        Workers of the extraction.
    progress : bool, default False
        Show progress bars.
    scheduler : str or None, default None
        A Dask scheduler address for the extraction.
    model_name : str, default ""
        How the report names the model (its file, or "pretrained").

    Returns
    -------
    dict
        The keys of :func:`dlfers.evaluation.protocols.scores` (over the classes scored), with
        ``protocol`` "fitted", ``restricted_accuracy``, ``model``, ``model_classes``,
        ``dropped_classes``, ``n_images``, ``faces_found``, ``predictions``, ``labels``, ``notes``.

    Raises
    ------
    ValueError
        When the data share no class with the model.
    """
    t0 = time.perf_counter()
    te = load_datasets(test, aliases, subject_pattern, precropped_side, progress)
    y = np.asarray(te.dataset.labels)
    known = [str(c) for c in np.asarray(model.classes_).tolist()]
    keep = np.flatnonzero(np.isin(y, known))
    if not len(keep):
        raise ValueError(f"the data (classes {sorted(set(y.tolist()))}) share no class with the model (classes "
                         f"{known}) after aliasing; map their names onto each other with --alias FROM=TO")
    present = [c for c in known if c in set(y[keep].tolist())]
    with Executor(n_jobs, scheduler) as ex:
        pred, proba, found = predict_sources(model, te, keep, ex, progress)
    yk = y[keep]
    classes = class_order(sorted(set(present) | set(pred.tolist())))
    report: dict[str, Any] = scores(yk, pred, classes)
    cols = [known.index(c) for c in present]
    restricted = np.asarray(present)[np.argmax(proba[:, cols], axis=1)]
    report["restricted_accuracy"] = 100.0 * float(np.mean(restricted == yk))
    dropped = _dropped(y, known)
    desc = (f"fitted model {model_name or '(given)'} scored on all of {', '.join(te.names)} ({len(keep)} images; "
            f"classes {', '.join(present)}); no training")
    report.update(
        protocol="fitted", protocol_description=desc, n_folds=1, seed=None, model=model_name,
        model_classes=known, fold_accuracy=[report["overall_accuracy"]], n_images=int(len(keep)), faces_found=found,
        predictions=pred.tolist(), labels=yk.tolist(), subjects=np.asarray(te.dataset.subjects)[keep].tolist(),
        dropped_classes={"test": dropped}, data={"test": te.paths},
        skipped_files=[{"path": e.path, "error": e.problem} for e in te.dataset.errors],
        seconds={"total": round(time.perf_counter() - t0, 2), "extract": round(time.perf_counter() - t0, 2)},
    )
    _report_sources(report, te)
    if dropped:
        report["notes"].append("left out (classes the model does not know): "
                               + ", ".join(f"{c} ({n} images)" for c, n in dropped.items()))
    return report
