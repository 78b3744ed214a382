"""Ablation of the additions beyond the paper, and the nested-CV figure of a choice among them.

Rows: the base configuration (the DLFERS defaults unless given), each addition of
:data:`ADDITIONS` alone, and all of them together; columns: accuracy and macro-F1 under
each protocol of :func:`dlfers.evaluate.evaluate` (stratified 10-fold and
leave-one-subject-out by default), on the same folds for every row.

Descriptors depend on nothing learned, so they are extracted once per preprocessing
configuration (with every descriptor kind any row uses) and shared by the rows and both
protocols; every learned part is fitted inside each training fold, as in ``evaluate``.

:func:`nested_cv` scores the *choice* of a configuration: inside each outer training fold
an inner cross-validation (stratified k-fold for the "kfold" protocol, subject-grouped
k-fold for "loso") picks one of the candidates, which is then fitted on the whole outer
training fold and scored on the outer test fold.  That figure carries no selection on
the test folds; the ablation rows themselves are each a fixed configuration, so picking
the best row afterwards would be a selection on the test folds.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._parallel import Executor
from .datasets import Dataset, load_dataset
from .evaluate import _run_fold, evaluate, extract_features, make_splits

__all__ = ["ADDITIONS", "ALL_KINDS", "ablation_rows", "run_ablation", "nested_cv", "macro_f1", "format_markdown",
           "format_csv"]

#: addition name -> the parameters that switch it on
ADDITIONS: dict[str, dict[str, Any]] = {
    "align": {"align": True},
    "mirror": {"mirror": True},
    "multiscale": {"descriptors": "tisf+tipm+tisf2+tipm2"},
}
#: every descriptor kind a row may use: extracted once per preprocessing configuration
ALL_KINDS = "tisf+tipm+tisf2+tipm2"


def ablation_rows(base: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Row name -> DLFERS parameters: "default" (``base``), "+name" per addition, "all"."""
    b = dict(base or {})
    rows = {"default": b}
    for name, on in ADDITIONS.items():
        rows[f"+{name}"] = {**b, **on}
    rows["all"] = {**b, **{k: v for on in ADDITIONS.values() for k, v in on.items()}}
    return rows


def macro_f1(y_true: Sequence[Any] | np.ndarray, y_pred: Sequence[Any] | np.ndarray) -> float:
    """Macro-averaged F1 (percent) over the classes present in ``y_true``."""
    from sklearn.metrics import f1_score

    labels = sorted(set(np.asarray(y_true).tolist()))
    return 100.0 * float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


class _FeatureCache:
    """Features of a data set per preprocessing configuration (every kind of :data:`ALL_KINDS`)."""

    def __init__(self, ds: Dataset, executor: Executor, progress: bool) -> None:
        self.ds, self.executor, self.progress = ds, executor, progress
        self._feats: dict[tuple[Any, ...], list[Any]] = {}

    def get(self, params: Mapping[str, Any]) -> list[Any]:
        from .pipeline import DLFERS

        model = DLFERS(**{**params, "descriptors": ALL_KINDS})
        key = model.spec().descriptor_key
        if key not in self._feats:
            self._feats[key] = extract_features(model, self.ds.images, self.executor, self.progress)
        return self._feats[key]


def run_ablation(
    data: str | os.PathLike[str] | Dataset,
    protocols: Sequence[str] = ("kfold", "loso"),
    folds: int = 10,
    seed: int = 0,
    base: Mapping[str, Any] | None = None,
    nested: Sequence[str] = (),
    inner_folds: int = 3,
    n_jobs: int = 1,
    progress: bool = False,
    rows: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The ablation table of ``data`` and, for ``nested`` candidates, their nested-CV figure.

    Parameters
    ----------
    data : a data set folder or a loaded :class:`Dataset`.
    protocols : protocols of :func:`dlfers.evaluate.evaluate` (the table's column groups).
    folds, seed : the "kfold" protocol's folds and shuffling seed.
    base : DLFERS parameters of the "default" row (None: the DLFERS defaults).
    nested : row names (of :func:`ablation_rows`) the nested CV chooses among; empty: none.
        Ties go to the first listed.
    inner_folds : folds of the inner cross-validation.
    n_jobs : local worker processes (-1: all cores) for descriptors and folds.
    rows : the row names to score (None: all; empty: none, e.g. for the nested figure alone).

    Returns
    -------
    A JSON-ready dict: ``rows`` (name -> ``params``, and per protocol ``accuracy``,
    ``macro_f1`` (percent), ``fold_accuracy``), ``faces_found``, ``eyes_not_found`` (per
    preprocessing of each row, None without alignment), ``nested`` (per protocol, see
    :func:`nested_cv`), ``n_images``, ``protocols``, ``seconds``.

    Raises
    ------
    ValueError
        An unknown protocol or nested row name, or an empty data set.
    """
    t0 = time.perf_counter()
    ds = data if isinstance(data, Dataset) else load_dataset(data, progress=progress)
    if len(ds) == 0:
        raise ValueError("the data set has no readable images")
    every = ablation_rows(base)
    unknown = [n for n in [*nested, *(rows or ())] if n not in every]
    if unknown:
        raise ValueError(f"unknown rows or nested candidates {unknown}; rows are {list(every)}")
    scored = {n: p for n, p in every.items() if rows is None or n in rows}
    from .pipeline import DLFERS

    y = np.asarray(ds.labels)
    out: dict[str, Any] = {"rows": {}, "protocols": list(protocols), "n_images": len(y), "folds": folds,
                           "seed": seed, "nested": {}}
    with Executor(n_jobs) as ex:
        cache = _FeatureCache(ds, ex, progress)
        for name, params in scored.items():
            feats = cache.get(params)
            model = DLFERS(**params)
            row: dict[str, Any] = {"params": {k: v for k, v in params.items()}}
            for protocol in protocols:
                rep = evaluate(ds, protocol, folds, seed, model=model, baseline=False, n_jobs=n_jobs,
                               features=feats, progress=progress)
                row[protocol] = {"accuracy": rep["overall_accuracy"], "macro_f1": macro_f1(y, rep["predictions"]),
                                 "fold_accuracy": rep["fold_accuracy"]}
            row["faces_found"] = int(sum(bool(f.found) for f in feats))
            row["eyes_not_found"] = (int(sum(f.aligned is False for f in feats)) if model.align else None)
            out["rows"][name] = row
        if nested:
            candidates = {n: every[n] for n in nested}
            feats_of = {n: cache.get(p) for n, p in candidates.items()}
            for protocol in protocols:
                out["nested"][protocol] = nested_cv(ds, candidates, feats_of, protocol, folds, seed, inner_folds, ex)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def _inner_splits(y: np.ndarray, groups: np.ndarray, protocol: str, folds: int,
                  seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    x = np.zeros((len(y), 1))
    if protocol == "loso":  # subjects never split, as the outer protocol
        return list(StratifiedGroupKFold(min(folds, len(np.unique(groups))), shuffle=True,
                                         random_state=seed).split(x, y, groups))
    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y))


def _fold_accuracy(model: Any, feats: Sequence[Any], y: np.ndarray, train: np.ndarray, test: np.ndarray) -> float:
    return float(np.mean(_run_fold(model, feats, y, train, test) == y[test]))


def nested_cv(
    ds: Dataset,
    candidates: Mapping[str, Mapping[str, Any]],
    feats_of: Mapping[str, Sequence[Any]],
    protocol: str = "kfold",
    folds: int = 10,
    seed: int = 0,
    inner_folds: int = 3,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Accuracy of choosing among ``candidates`` by inner CV inside each outer training fold.

    Parameters
    ----------
    ds : the data set (labels and subjects).
    candidates : name -> DLFERS parameters; ties go to the first.
    feats_of : name -> features of every image of ``ds`` for that candidate.
    protocol, folds, seed : the outer protocol, as :func:`dlfers.evaluate.make_splits`.
    inner_folds : inner folds (subject-grouped for "loso", stratified for "kfold").
    executor : runs the inner folds (None: serially).

    Returns
    -------
    ``accuracy``, ``macro_f1`` (percent), ``fold_accuracy``, ``choices`` (the candidate
    each outer fold chose) and ``inner_accuracy`` (per outer fold, candidate -> percent).
    """
    from .pipeline import DLFERS

    ex = executor or Executor(1)
    y, groups = np.asarray(ds.labels), np.asarray(ds.subjects)
    names = list(candidates)
    models = {n: DLFERS(**candidates[n]) for n in names}
    pred = np.empty(len(y), dtype=y.dtype)
    choices, inner, fold_acc = [], [], []
    for k, (tr, te) in enumerate(make_splits(y, groups, protocol, folds, seed)):
        splits = _inner_splits(y[tr], groups[tr], protocol, inner_folds, seed + k)
        scores: dict[str, float] = {}
        for n in names:
            sub = [feats_of[n][i] for i in tr]
            accs = list(ex.map(_fold_accuracy, splits, shared=(models[n], sub, y[tr]), max_pending=0))
            scores[n] = 100.0 * float(np.mean(accs))
        best = max(names, key=lambda n: (scores[n], -names.index(n)))
        p = _run_fold(models[best], feats_of[best], y, tr, te)
        pred[te] = p
        choices.append(best)
        inner.append(scores)
        fold_acc.append(100.0 * float(np.mean(p == y[te])))
    return {"accuracy": 100.0 * float(np.mean(pred == y)), "macro_f1": macro_f1(y, pred), "fold_accuracy": fold_acc,
            "choices": choices, "inner_accuracy": inner, "candidates": names, "inner_folds": inner_folds}


def format_markdown(result: Mapping[str, Any]) -> str:
    """The ablation table (and nested-CV figures) as Markdown."""
    protocols = result["protocols"]
    head = "| configuration | " + " | ".join(f"{p} acc % | {p} macro-F1 %" for p in protocols) + " |"
    lines = [head, "|---|" + "---:|---:|" * len(protocols)]
    for name, row in result["rows"].items():
        cells = " | ".join(f"{row[p]['accuracy']:.2f} | {row[p]['macro_f1']:.2f}" for p in protocols)
        lines.append(f"| {name} | {cells} |")
    for protocol, nres in result.get("nested", {}).items():
        counts = {n: nres["choices"].count(n) for n in nres["candidates"]}
        lines.append("")
        lines.append(f"nested CV ({protocol}, inner {nres['inner_folds']}-fold, choosing among "
                     f"{', '.join(nres['candidates'])}): accuracy {nres['accuracy']:.2f} %, macro-F1 "
                     f"{nres['macro_f1']:.2f} %; chosen per outer fold: "
                     + ", ".join(f"{n} {c}x" for n, c in counts.items()))
    return "\n".join(lines) + "\n"


def format_csv(result: Mapping[str, Any]) -> str:
    """One CSV line per (configuration, protocol): accuracy and macro-F1 (percent)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["configuration", "protocol", "accuracy", "macro_f1"])
    for name, row in result["rows"].items():
        for p in result["protocols"]:
            w.writerow([name, p, f"{row[p]['accuracy']:.4f}", f"{row[p]['macro_f1']:.4f}"])
    for p, nres in result.get("nested", {}).items():
        w.writerow(["nested(" + "|".join(nres["candidates"]) + ")", p, f"{nres['accuracy']:.4f}",
                    f"{nres['macro_f1']:.4f}"])
    return buf.getvalue()
