"""Cross-validated evaluation: person-dependent k-fold, person-independent LOSO and subject-grouped k-fold.

Descriptors depend on nothing learned, so they are computed once per image; every
learned part (codebooks, histogram scaling, SVMs; the baseline's scaler and SVM) is
fitted inside each training fold only.  The same folds score a baseline a user would
otherwise assemble: scikit-image HOG on the same cropped face + StandardScaler +
LinearSVC.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from .._util.parallel import Executor
from .._util.progress import progress_counter
from .._util.threads import one_thread_per_pool
from ..data.folders import EXPRESSIONS, Dataset, load_dataset
from ..model.batch import extract_features
from ..model.estimator import DLFERS

__all__ = ["PROTOCOLS", "evaluate", "make_splits", "scores", "hog_features", "format_report"]

#: protocol name -> description written into every report
PROTOCOLS = {
    "kfold": "person-dependent: stratified {folds}-fold cross-validation over images (shuffled, seed {seed})",
    "loso": "person-independent: leave-one-subject-out ({folds} folds, one per subject)",
    "group-kfold": "person-independent: subject-grouped stratified {folds}-fold cross-validation "
    "(StratifiedGroupKFold, shuffled, seed {seed}; no subject in two folds)",
}


def make_splits(
    labels: np.ndarray, subjects: np.ndarray, protocol: str = "kfold", folds: int = 10, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays of every fold of ``protocol`` ("kfold", "loso" or "group-kfold").

    "group-kfold" keeps each subject in one fold (``StratifiedGroupKFold``, shuffled with ``seed``);
    subjects of different data sets must have different ids (see :func:`dlfers.data.sources.load_datasets`).

    Parameters
    ----------
    labels : ndarray of shape (n,)
        Class labels.
    subjects : ndarray of shape (n,)
        Subject ids.
    protocol : str, default='kfold'
        "kfold", "loso" or "group-kfold".
    folds : int, default=10
        Folds of "kfold" and "group-kfold".
    seed : int, default=0
        Shuffling seed.

    Returns
    -------
    list of (ndarray, ndarray)
        (train, test) index arrays per fold.
    """
    import warnings

    from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold

    x = np.zeros((len(labels), 1))
    if protocol in ("kfold", "group-kfold"):
        check_folds(labels, folds, seed)
    if protocol == "kfold":
        with warnings.catch_warnings():  # check_folds said it in the option's words
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            return list(StratifiedKFold(int(folds), shuffle=True, random_state=seed).split(x, labels))
    if protocol == "group-kfold":
        n_subjects = len(np.unique(subjects))
        if n_subjects < int(folds):
            raise ValueError(f"subject-grouped {folds}-fold needs at least {folds} subjects, the data have "
                             f"{n_subjects}; use fewer --folds or loso")
        return list(StratifiedGroupKFold(int(folds), shuffle=True, random_state=seed).split(x, labels, subjects))
    if protocol == "loso":
        if len(np.unique(subjects)) < 2:
            raise ValueError("leave-one-subject-out needs at least 2 subjects")
        return list(LeaveOneGroupOut().split(x, labels, subjects))
    raise ValueError(f"protocol must be one of {sorted(PROTOCOLS)}, got {protocol!r}")


def check_folds(labels: np.ndarray, folds: int, seed: int) -> None:
    """Refuse ``folds`` and ``seed`` that k-fold cannot use, naming the options (``--folds``, ``--seed``).

    Raises ValueError for ``folds`` < 2 or more than the images of the largest class, and a seed
    outside 0 .. 2**32 - 1; warns (RuntimeWarning) when the smallest class has fewer images than
    folds (some test folds then lack it).

    Parameters
    ----------
    labels : ndarray of shape (n,)
        The labels to split.
    folds : int
        Folds asked for.
    seed : int
        The shuffling seed asked for.
    """
    import warnings

    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds (--folds) must be an integer >= 2, got {folds!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed (--seed) must be an integer from 0 to 2**32 - 1, got {seed!r}")
    names, counts = np.unique(np.asarray(labels).astype(str), return_counts=True)
    if len(counts) and folds > counts.max():
        raise ValueError(f"folds (--folds) {folds} is more than the {counts.max()} images of the largest class "
                         f"({names[counts.argmax()]}); use --folds {counts.max()} or fewer")
    if len(counts) and folds > counts.min():
        warnings.warn(f"folds (--folds) {folds} is more than the {counts.min()} images of the smallest class "
                      f"({names[counts.argmin()]}): some test folds have none of it", RuntimeWarning, stacklevel=3)


def class_order(labels: Sequence[str] | np.ndarray) -> list[str]:
    """The classes present, in the paper's order for JAFFE names, else sorted.

    Parameters
    ----------
    labels : sequence of str
        Labels.

    Returns
    -------
    list of str
        The classes present, in order.
    """
    present = set(np.asarray(labels).tolist())
    known = [c for c in EXPRESSIONS if c in present]
    return known + sorted(present - set(known))


def scores(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Overall accuracy, macro-F1, per-class recall and F1 (percent) and the confusion matrix (rows: truth).

    ``per_class`` and ``per_class_recall`` are the same figures (the share of each true
    class recognised); macro-F1 is the unweighted mean of the per-class F1 over ``classes``
    (a class never predicted nor present counts 0).

    Parameters
    ----------
    y_true : ndarray of shape (n,)
        True labels.
    y_pred : ndarray of shape (n,)
        Predicted labels.
    classes : sequence of str
        The classes, in report order.

    Returns
    -------
    dict of str to object
        JSON-ready scores.
    """
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(y_true, y_pred, labels=list(classes))
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    per_class = {c: (100.0 * cm[i, i] / support[i]) if support[i] else float("nan") for i, c in enumerate(classes)}
    f1 = {c: 200.0 * cm[i, i] / (support[i] + predicted[i]) if support[i] + predicted[i] else 0.0
          for i, c in enumerate(classes)}
    return {
        "overall_accuracy": 100.0 * float(np.mean(np.asarray(y_true) == np.asarray(y_pred))),
        "macro_f1": float(np.mean(list(f1.values()))) if f1 else float("nan"),
        "per_class": per_class,
        "per_class_recall": dict(per_class),
        "per_class_f1": f1,
        "confusion_matrix": cm.tolist(),
        "classes": list(classes),
    }


def hog_features(faces: Sequence[np.ndarray]) -> np.ndarray:
    """scikit-image HOG (9 orientations, 8x8 cells, 2x2 blocks) of each face: (n, F).

    Parameters
    ----------
    faces : sequence of ndarray
        Preprocessed faces, all the same shape.

    Returns
    -------
    ndarray of shape (n, F)
        HOG features.
    """
    from skimage.feature import hog

    return np.stack(
        [hog(f, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), feature_vector=True) for f in faces]
    ).astype(np.float32)


def _baseline_model() -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    return make_pipeline(StandardScaler(), LinearSVC(C=1.0, max_iter=10000, random_state=0))


def _run_fold(model: Any, feats: Sequence[Any], y: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Labels of the ``test`` items by a clone of ``model`` fitted on ``train``, by the rule of
    :meth:`DLFERS.predict` (the most probable class)."""
    from sklearn.base import clone

    # folds are the unit of parallelism: OpenMP/BLAS threads inside a fold (k-means) only
    # oversubscribe the cores the other folds use
    with one_thread_per_pool():
        m = clone(model).fit_features([feats[i] for i in train], y[train])
        return np.asarray(m.predict_features([feats[i] for i in test]))


def _run_baseline_fold(x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    with one_thread_per_pool():
        return np.asarray(_baseline_model().fit(x[train], y[train]).predict(x[test]))


def evaluate(
    data: str | os.PathLike[str] | Dataset,
    protocol: str = "kfold",
    folds: int = 10,
    seed: int = 0,
    model: Any = None,
    baseline: bool = True,
    n_jobs: int = 1,
    progress: bool = False,
    features: Sequence[Any] | None = None,
    scheduler: str | None = None,
    splits: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Cross-validate a DLFERS model (default configuration unless ``model`` is given).

    Parameters
    ----------
    data : str or os.PathLike or Dataset
        A data set folder (JAFFE or folder-per-class) or a loaded :class:`Dataset`.
    protocol : str, default='kfold'
        "kfold" (person-dependent, stratified), "loso" or "group-kfold" (person-independent).
    folds : int, default=10
        Number of folds for "kfold" and "group-kfold" (LOSO has one fold per subject).
    seed : int, default=0
        Shuffling seed of the k-fold splits.
    model : DLFERS or None, default=None
        An unfitted :class:`dlfers.DLFERS` (its parameters are reported).
    baseline : bool, default=True
        Also score HOG + StandardScaler + LinearSVC on the same folds.
    n_jobs : int, default=1
        Local worker processes (-1: all cores) for the descriptors and the folds
        (joblib); the results do not depend on it.
    features : sequence of object or None, default=None
        Precomputed ``model.extract(images)`` to reuse (e.g. across configurations).
    scheduler : str or None, default=None
        Address of a running Dask scheduler: descriptors and folds run on its
        workers (``n_jobs`` is then ignored); the results are those of a local run.
    splits : sequence of tuple of (ndarray, ndarray) or None, default=None
        Precomputed (train, test) index arrays of ``protocol``'s folds, e.g. shared by
        several configurations (None: :func:`make_splits` of ``protocol``, ``folds``, ``seed``).
    executor : Executor or None, default=None
        An open :class:`dlfers._util.parallel.Executor` to run on (e.g. the one that extracted
        ``features``: one Dask connection per run); it is left open.  None: one made from
        ``n_jobs`` and ``scheduler`` for this call.
    progress : bool, default=False
        Show progress bars.

    Returns
    -------
    A JSON-ready dict: ``overall_accuracy``, ``macro_f1`` (percent), ``per_class`` (recall),
    ``per_class_recall``, ``per_class_f1``, ``confusion_matrix``
    (rows: true class, in ``classes`` order), ``fold_accuracy``, ``protocol``,
    ``baseline`` (the same keys), ``config``, ``n_images``, ``faces_found``,
    ``skipped_files``, ``seconds``.
    """

    t0 = time.perf_counter()
    ds = data if isinstance(data, Dataset) else load_dataset(data, progress=progress)
    if len(ds) == 0:
        raise ValueError("the data set has no readable images")
    model = DLFERS() if model is None else model
    y = np.asarray(ds.labels)
    classes = class_order(y)
    splits = (make_splits(y, np.asarray(ds.subjects), protocol, folds, seed) if splits is None
              else [(np.asarray(tr), np.asarray(te)) for tr, te in splits])
    with nullcontext(executor) if executor is not None else Executor(n_jobs, scheduler) as ex:
        feats = extract_features(model, ds.images, ex, progress) if features is None else list(features)
        if len(feats) != len(y):
            raise ValueError(f"{len(feats)} feature sets for {len(y)} images")
        t_extract = time.perf_counter() - t0

        # one step per fold of the protocol, as the user counts them (the baseline's folds,
        # a fraction of a second each, are not steps of their own)
        bar = progress_counter(len(splits), desc=f"{protocol} folds", disable=not progress)
        pred = np.empty(len(y), dtype=y.dtype)
        fold_acc = []
        folds_ex = ex if len(splits) > 1 else Executor(1)
        for (_, te), p in zip(splits, folds_ex.map(_run_fold, splits, shared=(model, feats, y), max_pending=0)):
            pred[te] = p
            fold_acc.append(100.0 * float(np.mean(p == y[te])))
            bar.update(1)
        bar.close()
    report: dict[str, Any] = scores(y, pred, classes)
    report["fold_accuracy"] = fold_acc
    report["predictions"] = pred.tolist()

    if baseline:
        faces = [f.face if getattr(f, "face", None) is not None else model.preprocess(im)[0]
                 for f, im in zip(feats, ds.images)]
        x = hog_features(faces)
        bpred = np.empty(len(y), dtype=y.dtype)
        for tr, te in splits:
            bpred[te] = _run_baseline_fold(x, y, tr, te)
        report["baseline"] = {
            "name": "scikit-image HOG (9 orientations, 8x8 cells, 2x2 blocks) + StandardScaler + LinearSVC",
            **scores(y, bpred, classes),
        }
    n_folds = len(splits)
    report.update(
        protocol=protocol,
        protocol_description=PROTOCOLS[protocol].format(folds=n_folds, seed=seed),
        n_folds=n_folds,
        seed=seed,
        config={k: v for k, v in model.get_params().items() if k not in ("progress",)},
        n_images=len(y),
        faces_found=int(sum(bool(getattr(f, "found", True)) for f in feats)),
        # eye alignment's fallbacks (unaligned crops); None when the model does not align
        eyes_not_found=(int(sum(getattr(f, "aligned", None) is False for f in feats))
                        if getattr(model, "align", False) else None),
        skipped_files=[{"path": e.path, "error": e.problem} for e in ds.errors],
        labels=y.tolist(),
        subjects=np.asarray(ds.subjects).tolist(),
        seconds={"extract": round(t_extract, 2), "total": round(time.perf_counter() - t0, 2)},
        data=str(Path(ds.paths[0]).parent) if ds.paths else None,
    )
    return report


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of a report from :func:`evaluate`: per-class recall and F1, accuracy, macro-F1.

    Parameters
    ----------
    report : dict of str to object
        A report of :func:`evaluate`.

    Returns
    -------
    str
        The table.
    """
    classes = report["classes"]
    lines = [f"protocol: {report['protocol_description']}", *report.get("notes", []),
             f"images: {report['n_images']} (faces found: {report['faces_found']}, "
             f"skipped files: {len(report['skipped_files'])})"]
    if report.get("eyes_not_found") is not None:
        lines.append(f"eye alignment: eyes not found in {report['eyes_not_found']} faces (unaligned crops used)")
    lines.append("")
    models = [("DLFERS", report)] + ([("HOG+SVM", report["baseline"])] if "baseline" in report else [])
    head = f"{'expression':<12}" + "".join(f"{n + ' recall %':>18}{'F1 %':>7}" for n, _ in models)
    lines += [head, "-" * len(head)]
    for c in classes:
        lines.append(f"{c:<12}" + "".join(
            f"{r['per_class'][c]:>18.2f}{r.get('per_class_f1', {}).get(c, float('nan')):>7.2f}" for _, r in models))
    lines.append("-" * len(head))
    lines.append((f"{'overall':<12}" + "".join(f"{r['overall_accuracy']:>18.2f}{'':>7}" for _, r in models)).rstrip())
    lines.append(f"{'macro-F1':<12}" + "".join(f"{'':>18}{r.get('macro_f1', float('nan')):>7.2f}" for _, r in models))
    lines += ["", "confusion matrix (rows: true, columns: predicted):"]
    width = max(6, max(len(c) for c in classes) + 1)
    lines.append(" " * width + "".join(f"{c[:width - 1]:>{width}}" for c in classes))
    for c, r in zip(classes, report["confusion_matrix"]):
        lines.append(f"{c[:width - 1]:<{width}}" + "".join(f"{v:>{width}}" for v in r))
    lines.append(f"\ntime: {report['seconds']['total']:.1f} s (descriptors {report['seconds']['extract']:.1f} s)")
    return "\n".join(lines)
