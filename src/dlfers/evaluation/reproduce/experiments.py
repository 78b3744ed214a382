"""Reproduce the paper's JAFFE experiments (Tables 1-3, overall accuracy, model choice).

This module holds the experiment catalogue (:data:`TABLE_COLUMNS`, :data:`NESTED_CANDIDATES`)
and the runner, :func:`reproduce`.  The shared work runs in
:class:`dlfers.evaluation.reproduce.engine.CVEngine` and the files are written by
:mod:`dlfers.evaluation.reproduce.report`.

Every number is an out-of-fold accuracy under a stated protocol, computed exactly as
:func:`dlfers.evaluation.protocols.evaluate` computes it for the same configuration, folds and seed:
the engine calls the estimator's own stages and caches their outputs under the stage
keys of :class:`dlfers.model.spec.Spec`, never approximating them.

Nested cross-validation chooses "the best configuration" without looking at test folds:
each outer training fold is split again (stratified, ``inner_folds``), every candidate is
scored on those inner folds only, and the winner is refitted on the outer training fold
and scored once on the outer test fold.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..._util.outputs import check_output_dir
from ..._util.parallel import Executor
from ...data.folders import Dataset, load_dataset
from ...model.estimator import DLFERS
from ...model.presets import CROP_PRESETS
from ..protocols import PROTOCOLS, _run_baseline_fold, class_order, hog_features, make_splits, scores
from .engine import SVM_COST, CVEngine, Job, layout_features
from .paper import CITATION, OVERALL_ACCURACY, paper_mean, paper_table
from .report import REPORT_FILES, format_markdown, write_outputs

__all__ = [
    "TABLE_COLUMNS",
    "NESTED_CANDIDATES",
    "Column",
    "base_params",
    "layout_features",
    "reproduce",
    "CVEngine",
    "write_outputs",
    "format_markdown",
]

@dataclass(frozen=True)
class Column:
    """One column of a table: the paper's name and the parameters it changes.

    Parameters
    ----------
    name : str
        The paper's column name.
    params : dict of str to object, default=field(hash=False)
        The DLFERS parameters it changes.
    description : str, default=''
        What it is, for reports.
    """

    name: str
    params: dict[str, Any] = field(hash=False)
    description: str = ""


def _crop(name: str) -> dict[str, Any]:

    detect, delta, gamma = CROP_PRESETS[name]
    return {"detect": detect, "delta": delta, "gamma": gamma}


#: table id -> (what the table varies, its columns); every other parameter is the base configuration's
TABLE_COLUMNS: dict[str, tuple[str, tuple[Column, ...]]] = {
    "table1": ("the face crop (detection and δ, γ of Eq. 1-4)", (
        Column("Scaled Image", _crop("scaled"), "no detection: the whole frame"),
        Column("Entire Face", _crop("face"), "detected face box, no crop (δ=0, γ=0)"),
        Column("Scaling Factor 1", _crop("factor1"), "detected face, δ=0.10, γ=0.7"),
        Column("Scaling Factor 2", _crop("factor2"), "detected face, δ=0.12, γ=0.15"),
        Column("Scaling Factor 3", _crop("factor3"), "detected face, δ=0.15, γ=0.15"),
    )),
    "table2": ("the SPOF patch layout (one segmentation level, no fused eyes+mouth image)", (
        Column("Patches 1", {"layout": "whole"}, "layout whole: the face unsegmented"),
        Column("Patches 2", {"layout": "halves"}, "layout halves: upper and lower half"),
        Column("Patches 16", {"layout": "grid4"}, "layout grid4: 4x4 grid"),
        Column("Patches 4 (upper part)", {"layout": "upper4"}, "layout upper4: 2x2 grid over the upper half"),
        Column("Patches 4 (lower part)", {"layout": "lower4"}, "layout lower4: 2x2 grid over the lower half"),
    )),
    "table3": ("the codebook size: D k-means words per expression (7·D words in all)", tuple(
        Column(f"Clusters {d}", {"n_words": d}, f"n_words={d} per expression ({7 * d} words)")
        for d in (20, 40, 60, 80, 100)
    )),
}

#: candidates of the nested model choice, fixed before any result was seen: the base configuration
#: and Table 2's five layouts.  The layouts share one codebook per inner fold (they differ only in
#: pooling), so six candidates cost two k-means and two encodings per inner fold.
NESTED_CANDIDATES: tuple[Column, ...] = (
    Column("default", {}, "the base configuration"),
    *TABLE_COLUMNS["table2"][1],
)


def base_params(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``paper`` preset's DLFERS parameters (without ``progress``), updated by ``overrides``.

    Parameters
    ----------
    overrides : dict of str to object or None, default=None
        Parameters over the preset's (None: none).

    Returns
    -------
    dict of str to object
        Every DLFERS parameter.

    Raises
    ------
    ValueError
        For an unknown parameter name (the message lists the known ones).  Every setting the
        estimator accepts is accepted (mirror, texture and second-scale kinds take the estimator's
        own fit, :func:`dlfers.evaluation.reproduce.engine.uses_the_estimators_fit`).
    """

    p = {k: v for k, v in DLFERS.from_preset("paper").get_params().items() if k != "progress"}
    unknown = set(overrides or {}) - set(p)
    if unknown:
        raise ValueError(f"unknown DLFERS parameters {sorted(unknown)}; known: {sorted(p)}")
    p.update(overrides or {})
    return p


# ----------------------------------------------------------------------------- the experiments
def _report(y: np.ndarray, pred: np.ndarray, classes: list[str], splits: list[tuple[np.ndarray, np.ndarray]]
            ) -> dict[str, Any]:
    r = scores(y, pred, classes)
    r["mean_class_accuracy"] = float(np.mean([r["per_class"][c] for c in classes]))
    r["fold_accuracy"] = [100.0 * float(np.mean(pred[te] == y[te])) for _, te in splits]
    r["predictions"] = pred.tolist()
    return r


def _baseline(engine: CVEngine, params: dict[str, Any], split: str, classes: list[str]) -> dict[str, Any]:
    """HOG + StandardScaler + LinearSVC on the preprocessed faces, folds of ``split`` (as ``evaluate``)."""

    x = hog_features(engine.faces(params))
    y = engine.y
    pred = np.empty(len(y), dtype=y.dtype)
    for tr, te in engine.splits[split]:
        pred[te] = _run_baseline_fold(x, y, tr, te)
    return {"name": "scikit-image HOG (9 orientations, 8x8 cells, 2x2 blocks) + StandardScaler + LinearSVC",
            **scores(y, pred, classes)}


def _inner_splits(y: np.ndarray, train: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds of the outer training set ``train``, as indices into the data set."""
    from sklearn.model_selection import StratifiedKFold

    cv = StratifiedKFold(int(folds), shuffle=True, random_state=seed)
    return [(train[a], train[b]) for a, b in cv.split(np.zeros((len(train), 1)), y[train])]



def _table_entry(table: str, col: Column, params: dict[str, Any], r: dict[str, Any], classes: list[str]
                 ) -> dict[str, Any]:

    pt = paper_table(table)
    paper_pc = {c: pt["per_class"][col.name].get(c) for c in classes}
    pmean = paper_mean(table, col.name)
    return {
        "name": col.name, "description": col.description, "changes": dict(col.params), "config": params,
        **{k: r[k] for k in ("overall_accuracy", "mean_class_accuracy", "per_class", "confusion_matrix",
                             "fold_accuracy", "predictions")},
        "paper": {"per_class": paper_pc, "mean": pmean, "mean_printed": pt["average"] is not None},
        "difference": {
            "per_class": {c: None if v is None else r["per_class"][c] - v for c, v in paper_pc.items()},
            "mean": r["mean_class_accuracy"] - pmean,
        },
    }


def reproduce(
    data: str | os.PathLike[str] | Dataset,
    out: str | os.PathLike[str] | None = None,
    tables: Sequence[str] = ("table1", "table2", "table3"),
    folds: int = 10,
    seed: int = 0,
    base: dict[str, Any] | None = None,
    loso: bool = True,
    nested: bool = True,
    candidates: Sequence[Column] = NESTED_CANDIDATES,
    inner_folds: int = 3,
    baseline: bool = True,
    plots: bool = True,
    n_jobs: int = -1,
    progress: bool = False,
    scheduler: str | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Run the paper's experiments; with ``out``, write report.md, CSVs, PNG plots and results.json.

    Parameters
    ----------
    data : str or os.PathLike or Dataset
        JAFFE folder or a loaded :class:`Dataset`.
    out : str or os.PathLike or None, default=None
        Output folder (created); None only computes.
    tables : sequence of str, default=('table1', 'table2', 'table3')
        Which of "table1", "table2", "table3" to run (each varies one factor of ``base``).
    folds, seed : optional
        The person-dependent stratified k-fold protocol of the tables, of the
        overall figure and of the outer loop of the nested choice (as ``dlfers evaluate``).
    base : dict of str to object or None, default=None
        DLFERS parameters every configuration starts from, over the ``paper`` preset's.
    loso : bool, default=True
        Also run ``base`` leave-one-subject-out (person-independent).
    nested : bool, default=True
        Choose among ``candidates`` by nested CV with ``inner_folds`` inner folds.
    baseline : bool, default=True
        Score the HOG + LinearSVC baseline on the overall protocols (as ``evaluate``).
    n_jobs : int, default=-1
        Worker threads (-1: all cores); the results do not depend on it.
    progress : bool, default=False
        One progress bar over the whole run.
    scheduler : str or None, default=None
        Address of a Dask scheduler: the descriptors are extracted on its workers
        (the fold tasks still run in local threads); the results do not depend on it.
    candidates : sequence of Column, default=NESTED_CANDIDATES
        The configurations the nested CV chooses among.
    inner_folds : int, default=3
        Inner folds of the nested choice.
    plots : bool, default=True
        Write the PNG plots (with ``out``).
    overwrite : bool, default=False
        Replace the report files ``out`` already holds (checked before any work).

    Returns
    -------
    The JSON-ready results (what ``out/results.json`` holds).

    Raises
    ------
    ValueError
        Unknown table names or DLFERS parameters, fewer than 2 folds, no candidates, no images,
        or ``out`` inside the data folder or an existing file.
    FileExistsError
        ``out`` holds report files and ``overwrite`` is False.
    """
    from tqdm.auto import tqdm


    t_start, cpu_start, load_start = time.perf_counter(), time.process_time(), _load()
    if out is not None:  # before any work: never into the data, never over a report without overwrite
        check_output_dir(out, REPORT_FILES, () if isinstance(data, Dataset) else (data,), overwrite, "report folder")
    unknown = [t for t in tables if t not in TABLE_COLUMNS]
    if unknown:
        raise ValueError(f"unknown tables {unknown}; known: {', '.join(TABLE_COLUMNS)}")
    if int(folds) < 2 or int(inner_folds) < 2:
        raise ValueError(f"folds and inner_folds must be >= 2, got {folds} and {inner_folds}")
    if nested and not candidates:
        raise ValueError("the nested model choice needs at least one candidate")
    base_p = base_params(base)
    cand_params = [base_params({**(base or {}), **c.params}) for c in candidates]
    ds = data if isinstance(data, Dataset) else load_dataset(data, progress=progress)
    if len(ds) == 0:
        raise ValueError("the data set has no readable images")
    y = np.asarray(ds.labels)
    classes = class_order(y)
    subjects = np.asarray(ds.subjects)
    bar = tqdm(total=1, desc="reproduce: ", disable=not progress, leave=False, dynamic_ncols=True,
               bar_format="{desc}{percentage:3.0f}%|{bar}| {elapsed}<{remaining}")
    engine = CVEngine(ds, n_jobs, on_step=bar.update)
    kf = f"kfold{folds}-seed{seed}"
    engine.add_split(kf, make_splits(y, subjects, "kfold", folds, seed))
    jobs: list[Job] = [(base_p, kf, None)]
    table_params = {t: [{**base_p, **c.params} for c in TABLE_COLUMNS[t][1]] for t in tables}
    for t in tables:
        jobs += [(p, kf, None) for p in table_params[t]]
    if loso:
        engine.add_split("loso", make_splits(y, subjects, "loso"))
        jobs.append((base_p, "loso", None))
    inner = [f"{kf}/outer{k}/inner{inner_folds}" for k in range(folds)] if nested else []
    for name, (tr, _) in zip(inner, engine.splits[kf]):
        engine.add_split(name, _inner_splits(y, tr, inner_folds, seed))
        jobs += [(p, name, None) for p in cand_params]

    # one plan for everything known up front (heaviest fold tasks first), then the nested refits
    tasks = engine.plan(jobs)
    crops = {engine.prep_key(p): p for p, _, _ in jobs}
    extract_cost = 1.5 * len(ds) / 213
    bar.total = extract_cost * len(crops) + sum(t.cost for t in tasks) + (folds * (1 + SVM_COST) if nested else 0)
    bar.set_description(f"reproduce ({len(crops)} crops, {len(tasks)} fold tasks)")
    bar.refresh()
    with Executor(n_jobs, scheduler) as ex:
        engine.executor = ex if scheduler else None
        for p in crops.values():
            engine.features(p)
            bar.update(extract_cost)
    engine.executor = None
    with ThreadPoolExecutor(1) as side:  # the single-threaded HOG baselines overlap the fold tasks
        base_runs = {s: side.submit(_baseline, engine, base_p, s, classes)
                     for s in ((kf, "loso") if loso else (kf,))} if baseline else {}
        engine.run(tasks)
        baselines = {s: f.result() for s, f in base_runs.items()}

    protocols = {
        "kfold": PROTOCOLS["kfold"].format(folds=folds, seed=seed),
        "loso": PROTOCOLS["loso"].format(folds=len(engine.splits.get("loso", []))),
        "nested": f"nested cross-validation: outer person-dependent stratified {folds}-fold (shuffled, seed "
                  f"{seed}; the tables' folds); inside each outer training fold a stratified {inner_folds}-fold "
                  f"CV (seed {seed}) scores every candidate, the best (the first on ties) is refitted on the "
                  "whole outer training fold and tested once on the outer test fold",
    }
    results: dict[str, Any] = {
        "paper": {"citation": CITATION, "overall_accuracy": OVERALL_ACCURACY},
        "dataset": {"path": str(Path(ds.paths[0]).parent) if ds.paths else None, "n_images": int(len(y)),
                    "n_subjects": int(len(np.unique(subjects))), "classes": classes,
                    "class_counts": {c: int(np.sum(y == c)) for c in classes},
                    "skipped_files": [{"path": e.path, "error": e.problem} for e in ds.errors]},
        "protocols": protocols,
        "base_config": base_p,
        "tables": {},
        "overall": {},
    }
    for t in tables:
        varies, cols = TABLE_COLUMNS[t]
        entries = [_table_entry(t, c, p, _report(y, engine.predictions(p, kf), classes, engine.splits[kf]), classes)
                   for c, p in zip(cols, table_params[t])]
        results["tables"][t] = {"title": paper_table(t)["title"], "varies": varies, "protocol": "kfold",
                                "protocol_description": protocols["kfold"], "columns": entries}

    for name, split in (("kfold", kf), ("loso", "loso")):
        if split not in engine.splits:
            continue
        r = _report(y, engine.predictions(base_p, split), classes, engine.splits[split])
        r.update(protocol=name, protocol_description=protocols[name], n_folds=len(engine.splits[split]),
                 config=base_p, difference_to_paper=r["overall_accuracy"] - OVERALL_ACCURACY)
        if split in baselines:
            r["baseline"] = baselines[split]
        results["overall"][name] = r

    if nested:
        choice = []
        for name, (tr, _) in zip(inner, engine.splits[kf]):
            acc = [100.0 * float(np.mean(engine.predictions(p, name)[tr] == y[tr])) for p in cand_params]
            choice.append((int(np.argmax(acc)), acc))  # argmax: the first best on ties
        refits = engine.plan([(cand_params[b], kf, [k]) for k, (b, _) in enumerate(choice)])
        bar.update(folds * (1 + SVM_COST) - sum(t.cost for t in refits))
        engine.run(refits)
        pred = np.empty(len(y), dtype=y.dtype)
        per_fold = []
        for k, ((_, te), (b, acc)) in enumerate(zip(engine.splits[kf], choice)):
            pred[te] = engine.fold_prediction(cand_params[b], kf, k)
            per_fold.append({"fold": k, "chosen": candidates[b].name,
                             "inner_accuracy": dict(zip([c.name for c in candidates], acc)),
                             "test_accuracy": 100.0 * float(np.mean(pred[te] == y[te]))})
        r = _report(y, pred, classes, engine.splits[kf])
        r.update(protocol="nested", protocol_description=protocols["nested"], n_folds=folds,
                 inner_folds=int(inner_folds),
                 candidates=[{"name": c.name, "description": c.description, "changes": dict(c.params)}
                             for c in candidates],
                 folds=per_fold, difference_to_paper=r["overall_accuracy"] - OVERALL_ACCURACY)
        results["overall"]["nested"] = r
    bar.close()

    results["seconds"] = {"total": round(time.perf_counter() - t_start, 2),
                          "cpu": round(time.process_time() - cpu_start, 2),
                          **{k: round(v, 2) for k, v in engine.seconds.items()}}
    results["machine"] = {"cpus": os.cpu_count(), "worker_threads": engine.n_jobs, "scheduler": scheduler,
                          "load_average_start": load_start, "load_average_end": _load(),
                          "python": platform.python_version(), "platform": platform.platform()}
    if out is not None:
        write_outputs(results, out, plots=plots)
    return results


def _load() -> float | None:
    """The 1-minute load average (other work on the machine), where the OS reports one."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None
