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
from ..data.sources import PRECROPPED_SIDE, DataSources, extract_sources, load_datasets
from ..model.estimator import DLFERS
from .protocols import _baseline_model, class_order, evaluate, hog_features, scores

__all__ = ["evaluate_sets", "evaluate_transfer", "per_dataset_scores", "shared_classes"]

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
    with Executor(n_jobs, scheduler) as ex:
        ftr = extract_sources(model, tr, ex, progress, itr)
        fte = extract_sources(model, te, ex, progress, ite)
    t_extract = time.perf_counter() - t0
    from sklearn.base import clone

    fitted = clone(model).fit_features(ftr, ytr[itr])
    y = yte[ite]
    pred = np.asarray(fitted.predict_features(fte))
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
        n_images=len(ite), n_train=len(itr), faces_found=int(sum(bool(f.found) for f in fte)),
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
