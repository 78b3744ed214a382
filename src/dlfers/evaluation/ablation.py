"""Ablation of the additions beyond the paper, and the nested-CV figure of a choice among them.

Rows: the base configuration (the DLFERS defaults unless given), each addition of
:data:`ADDITIONS` switched on alone ("+name") or, where the base has it, off ("no-name"), and
all of them together; columns: accuracy and macro-F1 under
each protocol of :func:`dlfers.evaluation.protocols.evaluate` (stratified 10-fold and
leave-one-subject-out by default; subject-grouped k-fold on request), on the same folds
for every row.  Several data set folders are joined as ``dlfers evaluate A B`` joins them
(:func:`dlfers.data.sources.load_datasets`: label aliases, subjects kept apart per data set,
pre-cropped face sets without detection), and each row also gets the figures of each
data set's own images.

Descriptors depend on nothing learned, so they are extracted once per preprocessing
configuration (with every descriptor kind any row uses) and shared by the rows and the
protocols; every learned part is fitted inside each training fold, as in ``evaluate``.

:func:`nested_cv` scores the *choice* of a configuration: inside each outer training fold
an inner cross-validation (stratified k-fold for the "kfold" protocol, subject-grouped
k-fold for "loso" and "group-kfold") picks one of the candidates, which is then fitted on the whole outer
training fold and scored on the outer test fold.  That figure carries no selection on
the test folds; the ablation rows themselves are each a fixed configuration, so picking
the best row afterwards would be a selection on the test folds.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._util.parallel import Executor
from ..data.folders import Dataset
from ..data.sources import PRECROPPED_SIDE, DataSources, extract_sources, load_datasets
from ..features.descriptors import KIND_SCALE, KINDS
from ..features.texture import TEXTURE_KINDS
from ..model.estimator import DLFERS
from .crossdata import Paths, per_dataset_scores
from .protocols import PROTOCOLS, _run_fold, evaluate, make_splits

__all__ = ["ADDITIONS", "ALL_KINDS", "ablation_rows", "run_ablation", "nested_cv", "macro_f1", "format_markdown",
           "format_csv"]

#: addition name -> (parameter, value): a flag switched on, or a member of a '+'-joined set
#: ("descriptors": the second-scale kinds of :data:`~dlfers.features.descriptors.KIND_SCALE`, together;
#: "texture": each channel of :data:`~dlfers.features.texture.TEXTURE_KINDS`, alone)
ADDITIONS: dict[str, tuple[str, Any]] = {
    "align": ("align", True),
    "mirror": ("mirror", True),
    "multiscale": ("descriptors", "+".join(k for k in KINDS if KIND_SCALE.get(k, 1) > 1)),
    **{kind: ("texture", kind) for kind in TEXTURE_KINDS},
}
#: every descriptor kind and texture channel a row may use: extracted once per preprocessing configuration
ALL_KINDS = "+".join(KINDS)
ALL_TEXTURES = "+".join(TEXTURE_KINDS)
#: the '+'-joined parameters, each member in its canonical order
_SETS = {"descriptors": tuple(ALL_KINDS.split("+")), "texture": TEXTURE_KINDS}


def _members(value: Any) -> list[str]:
    return [] if value in (None, "none") else str(value).split("+")


def _has(params: Mapping[str, Any], name: str) -> bool:
    key, value = ADDITIONS[name]
    if key in _SETS:
        return set(_members(value)) <= set(_members(params[key]))
    return bool(params[key]) == bool(value)


def _switched(params: Mapping[str, Any], name: str, on: bool) -> dict[str, Any]:
    """``params`` with addition ``name`` on or off."""
    key, value = ADDITIONS[name]
    if key not in _SETS:
        return {**params, key: value if on else not value}
    have = set(_members(params[key]))
    have = have | set(_members(value)) if on else have - set(_members(value))
    joined = "+".join(m for m in _SETS[key] if m in have)
    return {**params, key: joined or "none"}


def ablation_rows(base: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Row name -> DLFERS parameters: "default" (``base``), then per addition "+name" (``base`` with it)
    or, where ``base`` has it, "no-name" (``base`` without it), and "all" (every addition on).

    Only the parameters ``base`` gives and those a row changes are listed (the rest are DLFERS's defaults).

    Parameters
    ----------
    base : mapping of str to object or None, default=None
        DLFERS parameters of the "default" row (None: the defaults).

    Returns
    -------
    dict of str to dict
        Row name -> its DLFERS parameters.
    """

    b = dict(base or {})
    full = {**DLFERS().get_params(), **b}
    rows = {"default": b}
    for name, (key, _) in ADDITIONS.items():
        on = not _has(full, name)
        rows[f"+{name}" if on else f"no-{name}"] = {**b, key: _switched(full, name, on)[key]}
    every = dict(full)
    for name in ADDITIONS:
        every = _switched(every, name, True)
    rows["all"] = {**b, **{key: every[key] for key, _ in ADDITIONS.values()}}
    return rows


def macro_f1(y_true: Sequence[Any] | np.ndarray, y_pred: Sequence[Any] | np.ndarray) -> float:
    """Macro-averaged F1 (percent) over the classes present in ``y_true``.

    Parameters
    ----------
    y_true : sequence of shape (n,)
        True labels.
    y_pred : sequence of shape (n,)
        Predicted labels.

    Returns
    -------
    float
        Percent.
    """
    from sklearn.metrics import f1_score

    labels = sorted(set(np.asarray(y_true).tolist()))
    return 100.0 * float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


class _FeatureCache:
    """Features of the data sets per preprocessing configuration (every kind of :data:`ALL_KINDS`).

    One configuration's features of a large union take gigabytes (JAFFE + CK+48: 3.1 GB),
    so the runner drops each as soon as no remaining row needs it.
    """

    def __init__(self, src: DataSources, executor: Executor, progress: bool) -> None:
        self.src, self.executor, self.progress = src, executor, progress
        self._feats: dict[tuple[Any, ...], list[Any]] = {}

    @staticmethod
    def _model(params: Mapping[str, Any]) -> Any:

        return DLFERS(**{**params, "descriptors": ALL_KINDS, "texture": ALL_TEXTURES})  # rows ignore what they lack

    def key(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The preprocessing configuration of ``params`` (rows with one key share features)."""
        return tuple(self._model(params).spec().descriptor_key)

    def get(self, params: Mapping[str, Any]) -> list[Any]:
        key = self.key(params)
        if key not in self._feats:  # pre-cropped sets without face detection, as evaluate
            self._feats[key] = extract_sources(self._model(params), self.src, self.executor, self.progress)
        return self._feats[key]

    def drop(self, key: tuple[Any, ...]) -> None:
        self._feats.pop(key, None)


def _one_source(ds: Dataset) -> DataSources:
    """A loaded :class:`Dataset` as the only data set, named "data"."""
    info = [dict(name="data", path="", n_images=len(ds), classes=sorted(set(np.asarray(ds.labels).tolist())),
                 n_subjects=len(set(np.asarray(ds.subjects).tolist())), precropped=False)]
    return DataSources(ds, np.zeros(len(ds), dtype=int), ["data"], [""], [False], info)


def run_ablation(
    data: Paths | Dataset | DataSources,
    protocols: Sequence[str] = ("kfold", "loso"),
    folds: int = 10,
    seed: int = 0,
    base: Mapping[str, Any] | None = None,
    nested: Sequence[str] = (),
    inner_folds: int = 3,
    n_jobs: int = 1,
    progress: bool = False,
    rows: Sequence[str] | None = None,
    aliases: Mapping[str, str] | None = None,
    subject_pattern: str | re.Pattern[str] | None = None,
    precropped_side: int = PRECROPPED_SIDE,
) -> dict[str, Any]:
    """The ablation table of one data set or the union of several and, for ``nested`` candidates,
    their nested-CV figure.

    Parameters
    ----------
    data : Paths or Dataset or DataSources
        A data set folder, several (joined by :func:`dlfers.data.sources.load_datasets`:
        label aliases, subjects kept apart per data set, pre-cropped face sets extracted
        without detection), a loaded :class:`Dataset` or :class:`DataSources`.
    protocols : sequence of str, default=('kfold', 'loso')
        Protocols of :func:`dlfers.evaluation.protocols.evaluate` ("kfold", "loso",
        "group-kfold"; the table's column groups).
    folds, seed : optional
        The "kfold" and "group-kfold" protocols' folds and shuffling seed.
    base : mapping of str to object or None, default=None
        DLFERS parameters of the "default" row (None: the DLFERS defaults).
    nested : sequence of str, default=()
        Row names (of :func:`ablation_rows`) the nested CV chooses among; empty: none.
        Ties go to the first listed.
    inner_folds : int, default=3
        Folds of the inner cross-validation.
    n_jobs : int, default=1
        Local worker processes (-1: all cores) for descriptors and folds.
    rows : sequence of str or None, default=None
        The row names to score (None: all; empty: none, e.g. for the nested figure alone).
    aliases, subject_pattern, precropped_side : optional
        As :func:`dlfers.data.sources.load_datasets`
        (for folders only).
    progress : bool, default=False
        Show progress bars.

    Returns
    -------
    A JSON-ready dict: ``rows`` (name -> ``params``, and per protocol ``accuracy``,
    ``macro_f1`` (percent), ``fold_accuracy``, ``per_dataset`` (data set name ->
    ``accuracy``, ``macro_f1`` of its images)), ``faces_found``, ``eyes_not_found`` (per
    preprocessing of each row, None without alignment), ``nested`` (per protocol, see
    :func:`nested_cv`), ``test_folds`` (per protocol, the test indices of each fold, shared
    by every row), ``datasets`` (one summary per data set), ``notes``, ``n_images``,
    ``protocols``, ``seconds``.

    Raises
    ------
    ValueError
        An unknown protocol or nested row name, too few subjects for a protocol, or an
        empty data set.
    """
    t0 = time.perf_counter()
    bad = [p for p in protocols if p not in PROTOCOLS]
    if bad:
        raise ValueError(f"unknown protocols {bad}; protocols are {sorted(PROTOCOLS)}")
    every = ablation_rows(base)
    unknown = [n for n in [*nested, *(rows or ())] if n not in every]
    if unknown:
        raise ValueError(f"unknown rows or nested candidates {unknown}; rows are {list(every)}")
    if isinstance(data, DataSources):
        src = data
    elif isinstance(data, Dataset):
        src = _one_source(data)
    else:
        src = load_datasets(data, aliases, subject_pattern, precropped_side, progress)
    ds = src.dataset
    if len(ds) == 0:
        raise ValueError("the data set has no readable images")
    scored = {n: p for n, p in every.items() if rows is None or n in rows}

    y, groups = np.asarray(ds.labels), np.asarray(ds.subjects)
    splits = {p: make_splits(y, groups, p, folds, seed) for p in protocols}  # every row on the same folds
    out: dict[str, Any] = {"rows": {}, "protocols": list(protocols), "n_images": len(y), "folds": folds,
                           "seed": seed, "nested": {}, "datasets": src.info, "notes": list(src.notes),
                           "test_folds": {p: [te.tolist() for _, te in s] for p, s in splits.items()}}
    with Executor(n_jobs) as ex:
        cache = _FeatureCache(src, ex, progress)
        # rows grouped by preprocessing (in order of first use), each group's features dropped
        # after its last row unless the nested CV needs them: one group in memory at a time
        keys = {n: cache.key(p) for n, p in scored.items()}
        first = list(dict.fromkeys(keys.values()))
        order = sorted(scored, key=lambda n: first.index(keys[n]))
        keep = {cache.key(every[n]) for n in nested}
        for i, name in enumerate(order):
            params = scored[name]
            feats = cache.get(params)
            model = DLFERS(**params)
            row: dict[str, Any] = {"params": {k: v for k, v in params.items()}}
            for protocol in protocols:
                rep = evaluate(ds, protocol, folds, seed, model=model, baseline=False, n_jobs=n_jobs,
                               features=feats, progress=progress, splits=splits[protocol], executor=ex)
                per_set = per_dataset_scores(rep, src)
                row[protocol] = {"accuracy": rep["overall_accuracy"], "macro_f1": macro_f1(y, rep["predictions"]),
                                 "fold_accuracy": rep["fold_accuracy"],
                                 "per_dataset": {n: {"accuracy": r["overall_accuracy"], "macro_f1": r["macro_f1"]}
                                                 for n, r in per_set.items()}}
            row["faces_found"] = int(sum(bool(f.found) for f in feats))
            row["eyes_not_found"] = (int(sum(f.aligned is False for f in feats)) if model.align else None)
            out["rows"][name] = row
            del feats
            if keys[name] not in keep and all(keys[m] != keys[name] for m in order[i + 1:]):
                cache.drop(keys[name])
        out["rows"] = {n: out["rows"][n] for n in scored}  # the table's order
        if nested:
            candidates = {n: every[n] for n in nested}
            feats_of = {n: cache.get(p) for n, p in candidates.items()}
            for protocol in protocols:
                out["nested"][protocol] = nested_cv(ds, candidates, feats_of, protocol, folds, seed, inner_folds, ex,
                                                    splits[protocol])
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def _inner_splits(y: np.ndarray, groups: np.ndarray, protocol: str, folds: int,
                  seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    x = np.zeros((len(y), 1))
    if protocol in ("loso", "group-kfold"):  # subjects never split, as the outer protocol
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
    splits: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """Accuracy of choosing among ``candidates`` by inner CV inside each outer training fold.

    Parameters
    ----------
    ds : Dataset
        The data set (labels and subjects).
    candidates : mapping of str to mapping of str to object
        Name -> DLFERS parameters; ties go to the first.
    feats_of : mapping of str to sequence of object
        Name -> features of every image of ``ds`` for that candidate.
    protocol, folds, seed : optional
        The outer protocol, as :func:`dlfers.evaluation.protocols.make_splits`.
    inner_folds : int, default=3
        Inner folds (subject-grouped for "loso" and "group-kfold", stratified for "kfold").
    executor : Executor or None, default=None
        Runs the inner folds (None: serially).
    splits : sequence of tuple of (ndarray, ndarray) or None, default=None
        The outer folds, precomputed (None: :func:`dlfers.evaluation.protocols.make_splits`).

    Returns
    -------
    ``accuracy``, ``macro_f1`` (percent), ``fold_accuracy``, ``choices`` (the candidate
    each outer fold chose) and ``inner_accuracy`` (per outer fold, candidate -> percent).
    """

    ex = executor or Executor(1)
    y, groups = np.asarray(ds.labels), np.asarray(ds.subjects)
    names = list(candidates)
    models = {n: DLFERS(**candidates[n]) for n in names}
    pred = np.empty(len(y), dtype=y.dtype)
    choices, inner, fold_acc = [], [], []
    outer = make_splits(y, groups, protocol, folds, seed) if splits is None else splits
    for k, (tr, te) in enumerate(outer):
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


def _data_line(result: Mapping[str, Any]) -> str:
    sets = result.get("datasets") or []
    return "data: " + ", ".join(
        f"{d['name']} ({d['n_images']} images, {d['n_subjects']} subjects"
        + (", pre-cropped faces" if d.get("precropped") else "") + ")" for d in sets)


def format_markdown(result: Mapping[str, Any]) -> str:
    """The ablation table (and nested-CV figures) as Markdown, headed by the data sets it was run on;
    with several data sets, one accuracy column per data set and protocol besides the union's.

    Parameters
    ----------
    result : mapping of str to object
        A :func:`run_ablation` result.

    Returns
    -------
    str
        The Markdown table.
    """
    protocols = result["protocols"]
    names = [d["name"] for d in result.get("datasets") or []]
    per_set = names if len(names) > 1 else []
    head = "| configuration | " + " | ".join(
        f"{p} acc % | {p} macro-F1 %" + "".join(f" | {p} {n} acc %" for n in per_set) for p in protocols) + " |"
    lines = [_data_line(result), ""] if names else []
    lines += [head, "|---|" + ("---:|---:|" + "---:|" * len(per_set)) * len(protocols)]
    for name, row in result["rows"].items():
        cells = " | ".join(f"{row[p]['accuracy']:.2f} | {row[p]['macro_f1']:.2f}"
                           + "".join(f" | {row[p]['per_dataset'][n]['accuracy']:.2f}" for n in per_set)
                           for p in protocols)
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
    """One CSV line per (configuration, protocol, data): accuracy and macro-F1 (percent); ``data`` is
    the data sets joined by "+" for the union, and with several data sets each one's own images too.

    Parameters
    ----------
    result : mapping of str to object
        A :func:`run_ablation` result.

    Returns
    -------
    str
        The CSV text.
    """
    names = [d["name"] for d in result.get("datasets") or []]
    union = "+".join(names)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["configuration", "protocol", "data", "accuracy", "macro_f1"])
    for name, row in result["rows"].items():
        for p in result["protocols"]:
            w.writerow([name, p, union, f"{row[p]['accuracy']:.4f}", f"{row[p]['macro_f1']:.4f}"])
            for n in names if len(names) > 1 else []:
                r = row[p]["per_dataset"][n]
                w.writerow([name, p, n, f"{r['accuracy']:.4f}", f"{r['macro_f1']:.4f}"])
    for p, nres in result.get("nested", {}).items():
        w.writerow(["nested(" + "|".join(nres["candidates"]) + ")", p, union, f"{nres['accuracy']:.4f}",
                    f"{nres['macro_f1']:.4f}"])
    return buf.getvalue()
