"""Reproduce the paper's JAFFE experiments (Tables 1-3, overall accuracy, model choice).

Every number is an out-of-fold accuracy under a stated protocol, computed exactly as
:func:`dlfers.evaluate.evaluate` computes it for the same configuration, folds and seed:
the shared work is cached, never approximated.

* Descriptors depend only on preprocessing (detection, δ, γ, face size, wavelet, step,
  σ), so they are extracted once per crop setting, for the face and the fused image.
  A configuration whose layout uses only one of them takes that half of the rows, and its
  region ids are recomputed from the deterministic grid (:func:`layout_features`).
* A fold's codebook depends on the training descriptors and the codebook parameters only,
  so configurations that differ in layout, pooling or SVM share one k-means and one
  nearest-word encoding per fold; each pools the cached word labels into its own
  histograms (word counts are integers, so the histograms are bit-identical).
* SVMs are fitted per configuration and fold.  Folds run in threads (the kernels, k-means
  and LIBSVM release the GIL) with BLAS/OpenMP pools limited to one thread each, which is
  also what ``evaluate(n_jobs=-1)`` does in its worker processes.

Nested cross-validation chooses "the best configuration" without looking at test folds:
each outer training fold is split again (stratified, ``inner_folds``), every candidate is
scored on those inner folds only, and the winner is refitted on the outer training fold
and scored once on the outer test fold.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._parallel import Executor, resolve_jobs
from .datasets import Dataset, load_dataset
from .evaluate import PROTOCOLS, class_order, extract_features, hog_features, make_splits, scores

__all__ = [
    "TABLE_COLUMNS",
    "NESTED_CANDIDATES",
    "Column",
    "layout_features",
    "reproduce",
    "CVEngine",
]

#: DLFERS parameters that determine the descriptors (the cache key of an extraction)
PREP_PARAMS = ("detect", "delta", "gamma", "on_missing", "face_size", "wavelet", "wavelet_level", "step",
               "sigma", "backend")
#: descriptor dimensions, and the work of one SVM fit relative to one default codebook + encoding
KINDS_DIM = {"tisf": 128, "tipm": 64}
SVM_COST = 0.1
#: DLFERS parameters that determine a fold's codebook (besides the descriptor rows used)
CODEBOOK_PARAMS = ("n_words", "per_class", "max_samples", "random_state")


@dataclass(frozen=True)
class Column:
    """One column of a table: the paper's name and the parameters it changes."""

    name: str
    params: dict[str, Any] = field(hash=False)
    description: str = ""


def _crop(name: str) -> dict[str, Any]:
    from .face import CROP_PRESETS

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
    """The default DLFERS parameters (without ``progress``), updated by ``overrides``."""
    from .pipeline import DLFERS

    p = {k: v for k, v in DLFERS().get_params().items() if k != "progress"}
    unknown = set(overrides or {}) - set(p)
    if unknown:
        raise ValueError(f"unknown DLFERS parameters {sorted(unknown)}; known: {sorted(p)}")
    p.update(overrides or {})
    return p


# ----------------------------------------------------------------------------- features per layout
def _grid_regions(layout: Any, face_size: int, step: int) -> tuple[np.ndarray, int]:
    """Region ids (N, L) of the rows a layout uses, as :meth:`DLFERS.face_features` lays them out."""
    from .descriptors import DescriptorSpec, grid_points, grid_shape

    ny, nx = grid_shape(face_size, face_size, step)
    pts = grid_points(ny, nx, DescriptorSpec("tisf", step))
    sources = (["face"] if layout.face else []) + (["fused"] if layout.fused else [])
    nlev = max(len(layout.face), len(layout.fused))
    parts = []
    for s in sources:
        r = layout.assign(pts, (face_size, face_size), s)
        if r.shape[1] < nlev:
            r = np.hstack([r, np.full((r.shape[0], nlev - r.shape[1]), -1, np.int32)])
        parts.append(r)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.int32), ny * nx


def _rows(layout: Any, n_grid: int) -> slice:
    """Rows of a face+fused feature set that a layout uses (face rows come first)."""
    start = 0 if layout.face else n_grid
    stop = 2 * n_grid if layout.fused else n_grid
    return slice(start, stop)


def layout_features(full: Sequence[Any], layout: str, face_size: int, step: int) -> list[Any]:
    """Features for ``layout`` derived from features extracted with face and fused levels.

    Parameters
    ----------
    full : :class:`dlfers.pipeline.Features` extracted by a DLFERS whose layout has both
        face and fused levels (e.g. ``"whole+fused"``) and the same face size and step.
    layout : the target layout.

    Returns
    -------
    The features ``DLFERS(layout=layout, ...).extract`` returns for the same images
    (descriptor rows are views of ``full``'s).
    """
    from .regions import parse_layout

    lay = parse_layout(layout)
    regions, n_grid = _grid_regions(lay, int(face_size), int(step))
    rows = _rows(lay, n_grid)
    out = []
    for f in full:
        n = next(iter(f.descriptors.values())).shape[0]
        if n != 2 * n_grid:
            raise ValueError(f"expected {2 * n_grid} face+fused descriptors per image, got {n}; extract with a "
                             "layout that has face and fused levels and the same face_size and step")
        out.append(replace(f, descriptors={k: d[rows] for k, d in f.descriptors.items()}, regions=regions.copy()))
    return out


# ----------------------------------------------------------------------------- the engine
def _kinds(params: dict[str, Any]) -> tuple[str, ...]:
    return tuple(k.strip() for k in str(params["descriptors"]).split("+") if k.strip())


def _freeze(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


@dataclass
class _Codes:
    """Nearest-word labels of one fold's codebooks: kind -> per image (N,) ints (None: not needed)."""

    labels: dict[str, list[np.ndarray | None]]
    n_words: dict[str, int]


@dataclass
class _Task:
    """One fold of one split for every configuration that shares its codebooks."""

    split: str
    fold: int
    configs: list[dict[str, Any]]
    cost: float  # work units, for the progress bar and for scheduling (heaviest first)


Job = tuple[dict[str, Any], str, Sequence[int] | None]


class CVEngine:
    """Out-of-fold predictions of many DLFERS configurations on one data set, sharing work.

    Descriptors are cached per preprocessing, word labels per (descriptor rows, codebook
    parameters, split, fold), predictions per (configuration, split, fold).

    Parameters
    ----------
    dataset : the loaded data set.
    n_jobs : worker threads (-1: all cores).
    on_step : called with a finished fold task's work units (progress; see :meth:`plan`).
    executor : where descriptors are extracted instead of the worker threads, e.g. an
        :class:`dlfers._parallel.Executor` on a Dask cluster (set it while it is open).
    """

    def __init__(self, dataset: Dataset, n_jobs: int = -1, on_step: Callable[[float], Any] | None = None,
                 executor: Executor | None = None) -> None:
        self.ds = dataset
        self.executor = executor
        self.y = np.asarray(dataset.labels)
        self.n_jobs = resolve_jobs(n_jobs)
        self.on_step = on_step or (lambda n: None)
        self.splits: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._feats: dict[tuple[Any, ...], list[Any]] = {}
        self._faces: dict[tuple[Any, ...], list[np.ndarray]] = {}
        self._codes: dict[tuple[Any, ...], _Codes] = {}
        self._preds: dict[tuple[Any, ...], np.ndarray] = {}
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {"extract": 0.0, "codebooks": 0.0, "encode": 0.0, "svm": 0.0}

    # ------------------------------------------------------------------ splits and features
    def add_split(self, name: str, splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        """Register the (train, test) folds ``name`` (indices into the data set)."""
        self.splits[name] = [(np.asarray(tr), np.asarray(te)) for tr, te in splits]

    @staticmethod
    def prep_key(params: dict[str, Any]) -> tuple[Any, ...]:
        """The parameters that determine the descriptors."""
        return tuple(params[k] for k in PREP_PARAMS)

    def features(self, params: dict[str, Any]) -> list[Any]:
        """Face+fused features (every descriptor kind) of each image for ``params``' preprocessing."""
        key = self.prep_key(params)
        if key not in self._feats:
            self._extract(params)
        return self._feats[key]

    def faces(self, params: dict[str, Any]) -> list[np.ndarray]:
        """The preprocessed faces (kept from the extraction, for the HOG baseline)."""
        self.features(params)
        return self._faces[self.prep_key(params)]

    def _extract(self, params: dict[str, Any]) -> None:
        from .descriptors import KINDS
        from .pipeline import DLFERS

        t0 = time.perf_counter()
        model = DLFERS(**{k: params[k] for k in PREP_PARAMS}, layout="whole+fused", descriptors="+".join(KINDS))
        model._validate_params()
        images = self.ds.images

        def one(i: int) -> tuple[Any, np.ndarray]:
            face, box, found = model.preprocess(images[i])
            return model.face_features(face, box, found), face

        if self.executor is not None:  # the same features, computed by the executor's workers
            out = [(f, f.face) for f in extract_features(model, images, self.executor)]
        else:
            with ThreadPoolExecutor(self.n_jobs) as ex:
                out = list(ex.map(one, range(len(images))))
        key = self.prep_key(params)
        self._feats[key] = [f for f, _ in out]
        self._faces[key] = [face for _, face in out]
        self.seconds["extract"] += time.perf_counter() - t0

    # ------------------------------------------------------------------ codebooks and codes
    def code_key(self, params: dict[str, Any], split: str, fold: int) -> tuple[Any, ...]:
        """What a fold's codebooks depend on: descriptor rows, kinds, codebook parameters, fold."""
        from .regions import parse_layout

        lay = parse_layout(params["layout"])
        return (self.prep_key(params), bool(lay.face), bool(lay.fused), _kinds(params),
                tuple(params[k] for k in CODEBOOK_PARAMS), split, fold)

    def _codes_for(self, params: dict[str, Any], split: str, fold: int) -> _Codes:
        """Word labels of the fold's images, as :meth:`DLFERS.fit_features` would encode them (cached)."""
        from .codebook import encode_histograms, fit_codebook
        from .regions import parse_layout

        key = self.code_key(params, split, fold)
        with self._lock:
            if key in self._codes:
                return self._codes[key]
        feats = self.features(params)
        rows = _rows(parse_layout(params["layout"]), next(iter(feats[0].descriptors.values())).shape[0] // 2)
        tr, te = self.splits[split][fold]
        codes = _Codes({}, {})
        for i, kind in enumerate(_kinds(params)):
            t0 = time.perf_counter()
            cb = fit_codebook([feats[j].descriptors[kind][rows] for j in tr], self.y[tr], int(params["n_words"]),
                              bool(params["per_class"]), int(params["max_samples"]), int(params["random_state"]) + i)
            t1 = time.perf_counter()
            sq = np.einsum("ij,ij->i", cb, cb).astype(np.float32)
            dtype = np.int16 if cb.shape[0] <= np.iinfo(np.int16).max else np.int32
            labels: list[np.ndarray | None] = [None] * len(feats)
            for j in np.union1d(tr, te):
                d = feats[j].descriptors[kind][rows]
                lab, _ = encode_histograms(d, np.empty((d.shape[0], 0), np.int32), 1, cb, sq, params["backend"])
                labels[j] = lab.astype(dtype)
            codes.labels[kind] = labels
            codes.n_words[kind] = int(cb.shape[0])
            with self._lock:
                self.seconds["codebooks"] += t1 - t0
                self.seconds["encode"] += time.perf_counter() - t1
        with self._lock:
            self._codes[key] = codes
        return codes

    def _histograms(self, params: dict[str, Any], codes: _Codes, idx: np.ndarray) -> list[np.ndarray]:
        """Per kind, the SPOF histograms (len(idx), n_regions·K) float32 of images ``idx``."""
        from .codebook import normalise_histograms
        from .regions import parse_layout

        lay = parse_layout(params["layout"])
        regions, _ = _grid_regions(lay, int(params["face_size"]), int(params["step"]))
        valid = regions >= 0
        out = []
        for kind in _kinds(params):
            k = codes.n_words[kind]
            x = np.empty((len(idx), lay.n_regions * k), np.float32)
            for r, j in enumerate(idx):
                lab = codes.labels[kind][j]
                if lab is None:
                    raise RuntimeError(f"image {j} was not encoded for this fold")
                flat = (regions * k + lab.astype(np.int64)[:, None])[valid]
                hist = np.bincount(flat, minlength=lay.n_regions * k).astype(np.float32)
                x[r] = normalise_histograms(hist.reshape(lay.n_regions, k), float(params["power"]))
            out.append(x)
        return out

    def _fit_predict(self, params: dict[str, Any], codes: _Codes, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        """Fit the SVM(s) of ``params`` on ``tr`` and predict ``te``, as :meth:`DLFERS.fit_features`."""
        from .classify import KernelSVC

        t0 = time.perf_counter()
        a, b = self._histograms(params, codes, tr), self._histograms(params, codes, te)
        inputs = [(np.hstack(a), np.hstack(b))] if params["fusion"] == "feature" or len(a) == 1 else list(zip(a, b))
        ytr = self.y[tr]
        svms = [KernelSVC(params["kernel"], params["C"], params["svm_gamma"], len(inputs) > 1,
                          int(params["random_state"])).fit(x, ytr) for x, _ in inputs]
        if len(svms) == 1:
            pred = np.asarray(svms[0].predict(inputs[0][1]))
        else:  # decision fusion: calibrated probabilities averaged
            prob = np.mean([s.predict_proba(x) for s, (_, x) in zip(svms, inputs)], axis=0)
            pred = np.unique(ytr)[np.argmax(prob, axis=1)]
        with self._lock:
            self.seconds["svm"] += time.perf_counter() - t0
        return pred

    # ------------------------------------------------------------------ running
    @staticmethod
    def _pred_key(params: dict[str, Any], split: str, fold: int) -> tuple[Any, ...]:
        return (_freeze(params), split, fold)

    def _code_cost(self, params: dict[str, Any], split: str, fold: int) -> float:
        """Work units of a fold's codebooks and encoding (1: k-means + encoding of the default fold)."""
        from .regions import parse_layout

        lay = parse_layout(params["layout"])
        tr, te = self.splits[split][fold]
        rows = (0.5 if lay.face else 0.0) + (0.5 if lay.fused else 0.0)
        size = (int(params["face_size"]) / 128) ** 2 * (2 / int(params["step"])) ** 2
        dims = sum(KINDS_DIM[k] for k in _kinds(params)) / 192
        return dims * size * (0.4 * len(tr) + 0.6 * rows * (len(tr) + len(te))) / len(self.y) * (
            int(params["n_words"]) / 30)

    def plan(self, jobs: Iterable[Job]) -> list[_Task]:
        """Fold tasks still to run for ``(params, split, folds or None for all)`` jobs, heaviest first.

        Configurations that share a fold's codebooks go into one task.
        """
        groups: dict[tuple[Any, ...], _Task] = {}
        seen = set()
        for params, split, folds in jobs:
            for fold in range(len(self.splits[split])) if folds is None else folds:
                pk = self._pred_key(params, split, fold)
                if pk in self._preds or pk in seen:
                    continue
                seen.add(pk)
                ck = self.code_key(params, split, fold)
                if ck not in groups:
                    cost = 0.0 if ck in self._codes else self._code_cost(params, split, fold)
                    groups[ck] = _Task(split, fold, [], cost)
                groups[ck].configs.append(params)
                groups[ck].cost += SVM_COST
        return sorted(groups.values(), key=lambda t: -t.cost)

    def run(self, tasks: Sequence[_Task]) -> None:
        """Run fold tasks in worker threads, BLAS/OpenMP pools limited to one thread each."""
        from threadpoolctl import threadpool_limits

        def work(task: _Task) -> None:
            codes = self._codes_for(task.configs[0], task.split, task.fold)
            tr, te = self.splits[task.split][task.fold]
            for params in task.configs:
                pred = self._fit_predict(params, codes, tr, te)
                with self._lock:
                    self._preds[self._pred_key(params, task.split, task.fold)] = pred
            self.on_step(task.cost)

        with threadpool_limits(1):
            for params in {self.prep_key(t.configs[0]): t.configs[0] for t in tasks}.values():
                self.features(params)
            if self.n_jobs == 1 or len(tasks) <= 1:
                for t in tasks:
                    work(t)
                return
            with ThreadPoolExecutor(self.n_jobs) as ex:
                for f in [ex.submit(work, t) for t in tasks]:
                    f.result()

    def predictions(self, params: dict[str, Any], split: str) -> np.ndarray:
        """Out-of-fold predictions (n_images,) of ``params`` on ``split`` (runs what is missing)."""
        self.run(self.plan([(params, split, None)]))
        out = np.full(len(self.y), "", dtype=self.y.dtype)
        for f, (_, te) in enumerate(self.splits[split]):
            out[te] = self._preds[self._pred_key(params, split, f)]
        return out

    def fold_prediction(self, params: dict[str, Any], split: str, fold: int) -> np.ndarray:
        """Test predictions of ``params`` on one fold (runs it if missing)."""
        self.run(self.plan([(params, split, [fold])]))
        return self._preds[self._pred_key(params, split, fold)]


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
    from .evaluate import _run_baseline_fold

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
    from .paper import paper_mean, paper_table

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
) -> dict[str, Any]:
    """Run the paper's experiments; with ``out``, write report.md, CSVs, PNG plots and results.json.

    Parameters
    ----------
    data : JAFFE folder or a loaded :class:`Dataset`.
    out : output folder (created); None only computes.
    tables : which of "table1", "table2", "table3" to run (each varies one factor of ``base``).
    folds, seed : the person-dependent stratified k-fold protocol of the tables, of the
        overall figure and of the outer loop of the nested choice (as ``dlfers evaluate``).
    base : DLFERS parameters every configuration starts from (default: the package default).
    loso : also run ``base`` leave-one-subject-out (person-independent).
    nested : choose among ``candidates`` by nested CV with ``inner_folds`` inner folds.
    baseline : score the HOG + LinearSVC baseline on the overall protocols (as ``evaluate``).
    n_jobs : worker threads (-1: all cores); the results do not depend on it.
    progress : one progress bar over the whole run.
    scheduler : address of a Dask scheduler: the descriptors are extracted on its workers
        (the fold tasks still run in local threads); the results do not depend on it.

    Returns
    -------
    The JSON-ready results (what ``out/results.json`` holds).

    Raises
    ------
    ValueError
        Unknown table names or DLFERS parameters, fewer than 2 folds, no candidates, no images.
    """
    from tqdm.auto import tqdm

    from .paper import CITATION, OVERALL_ACCURACY, paper_table

    t_start, cpu_start, load_start = time.perf_counter(), time.process_time(), _load()
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


# ----------------------------------------------------------------------------- outputs
def _load() -> float | None:
    """The 1-minute load average (other work on the machine), where the OS reports one."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _f(v: float | None, signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    return f"{v:+.2f}" if signed else f"{v:.2f}"


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    import csv

    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else (round(v, 4) if isinstance(v, float) else v) for v in row])


def _table_rows(tab: dict[str, Any], classes: Sequence[str]) -> Iterable[list[Any]]:
    for col in tab["columns"]:
        for c in classes:
            yield [col["name"], c, col["per_class"][c], col["paper"]["per_class"][c],
                   col["difference"]["per_class"][c]]
        yield [col["name"], "mean of classes", col["mean_class_accuracy"], col["paper"]["mean"],
               col["difference"]["mean"]]
        yield [col["name"], "overall (per image)", col["overall_accuracy"], None, None]


def _short_protocol(description: str) -> str:
    """'stratified 10-fold' from a protocol description."""
    import re

    m = re.search(r"stratified \d+-fold", description)
    return m.group(0) if m else description.split(":")[0]


def _plot_table(tab: dict[str, Any], classes: Sequence[str], path: Path, protocol: str) -> str:
    from .plots import grouped_bars, save_png

    groups = list(classes) + ["mean"]
    ours = {c["name"]: {**c["per_class"], "mean": c["mean_class_accuracy"]} for c in tab["columns"]}
    paper = {c["name"]: {**c["paper"]["per_class"], "mean": c["paper"]["mean"]} for c in tab["columns"]}
    title = f"{tab['title']}: this reproduction ({protocol}) vs the paper"
    save_png(grouped_bars([("this reproduction", ours), ("paper", paper)], groups, title), path, title)
    return title


def _plot_confusion(r: dict[str, Any], path: Path, what: str) -> str:
    from .plots import confusion_heatmap, save_png

    protocol = {"kfold": f"stratified {r['n_folds']}-fold, person-dependent",
                "loso": "leave-one-subject-out, person-independent",
                "nested": f"nested CV, outer stratified {r['n_folds']}-fold"}[r["protocol"]]
    title = f"Confusion matrix, {what}\n{protocol}: {r['overall_accuracy']:.2f}% correct"
    save_png(confusion_heatmap(r["confusion_matrix"], r["classes"], title), path, title)
    return title


def write_outputs(results: dict[str, Any], out: str | os.PathLike[str], plots: bool = True) -> dict[str, str]:
    """Write report.md, results.json, a CSV per table and the PNG plots into ``out``.

    Returns
    -------
    file name -> what it holds (also listed in report.md and results.json).
    """
    import json

    t0 = time.perf_counter()
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    classes = results["dataset"]["classes"]
    files: dict[str, str] = {}
    names = {"kfold": "default DLFERS", "loso": "default DLFERS", "nested": "nested-CV choice"}
    for t, tab in results["tables"].items():
        _write_csv(d / f"{t}.csv", ["configuration", "expression", "ours", "paper", "difference"],
                   _table_rows(tab, classes))
        files[f"{t}.csv"] = f"{tab['title']}: per expression, ours, the paper's, difference (points)"
        if plots:
            files[f"{t}.png"] = _plot_table(tab, classes, d / f"{t}.png", _short_protocol(tab["protocol_description"]))
    ov = results["overall"]
    if ov:
        rows = []
        for name, r in ov.items():
            b = r.get("baseline", {})
            rows += [[name, c, r["per_class"][c], b.get("per_class", {}).get(c)] for c in classes]
            rows.append([name, "overall (per image)", r["overall_accuracy"], b.get("overall_accuracy")])
        _write_csv(d / "overall.csv", ["protocol", "expression", "dlfers", "hog_baseline"], rows)
        files["overall.csv"] = "overall figures per protocol (DLFERS and the HOG baseline)"
    for name, r in ov.items():
        _write_csv(d / f"confusion_{name}.csv", ["true \\ predicted", *classes],
                   [[c, *row] for c, row in zip(classes, r["confusion_matrix"])])
        files[f"confusion_{name}.csv"] = f"confusion matrix, {names[name]}, {name} (rows: true class)"
        if plots:
            files[f"confusion_{name}.png"] = _plot_confusion(r, d / f"confusion_{name}.png", names[name])
    if "nested" in ov:
        cands = [c["name"] for c in ov["nested"]["candidates"]]
        _write_csv(d / "nested_folds.csv", ["fold", "chosen", "test_accuracy", *[f"inner: {c}" for c in cands]],
                   [[f["fold"], f["chosen"], f["test_accuracy"], *[f["inner_accuracy"][c] for c in cands]]
                    for f in ov["nested"]["folds"]])
        files["nested_folds.csv"] = "nested CV: the configuration each outer fold chose, inner accuracies"
    results["seconds"]["outputs"] = round(time.perf_counter() - t0, 2)
    results["seconds"]["total"] = round(results["seconds"]["total"] + results["seconds"]["outputs"], 2)
    files["report.md"] = "this report"
    files["results.json"] = "every figure of the report, the configurations and the protocols"
    results["files"] = files
    (d / "report.md").write_text(format_markdown(results))
    (d / "results.json").write_text(json.dumps(results, indent=1, default=_jsonable) + "\n")
    return files


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _changes(ch: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in ch.items()) or "none (the base configuration)"


_KERNEL_NAMES = {"chi2": "χ²-kernel", "intersection": "histogram-intersection-kernel", "rbf": "RBF-kernel",
                 "linear": "linear"}


def _run_time(results: dict[str, Any]) -> str:
    sec, m = results["seconds"], results["machine"]
    load = ""
    if m.get("load_average_start") is not None:
        busy = max(m["load_average_start"], m["load_average_end"] or 0) > (m["cpus"] or 1) + 0.5
        load = (f" The 1-minute load average was {m['load_average_start']:.1f} at the start and "
                f"{m['load_average_end']:.1f} at the end"
                + (f" (above {m['cpus']}: other work shared the CPUs)." if busy else "."))
    return (f"Run time: **{sec['total']:.0f} s** wall clock on {m['cpus']} CPUs ({m['worker_threads']} worker "
            f"threads), {sec.get('cpu', float('nan')):.0f} CPU seconds: descriptors {sec['extract']:.0f} s; summed "
            f"over threads, k-means {sec['codebooks']:.0f} s, encoding {sec['encode']:.0f} s, SVMs "
            f"{sec['svm']:.0f} s; writing the outputs {sec.get('outputs', 0):.0f} s.{load}")


def _summary(results: dict[str, Any]) -> list[str]:
    """Key figures: each table column's mean class accuracy beside the paper's, and the overall runs."""
    rows = []
    for tab in results["tables"].values():
        short = tab["title"].split(":")[0]
        for c in tab["columns"]:
            mark = "" if c["paper"]["mean_printed"] else "†"
            rows.append([short, c["name"], f"**{_f(c['mean_class_accuracy'])}**", f"{_f(c['paper']['mean'])}{mark}",
                         _f(c["difference"]["mean"], True)])
    paper = results["paper"]["overall_accuracy"]
    for name, r in results["overall"].items():
        rows.append(["overall", _OVERALL_WHAT[name], f"**{_f(r['mean_class_accuracy'])}**", _f(paper),
                     _f(r["mean_class_accuracy"] - paper, True)])
    if not rows:
        return []
    return (["## Summary", "", "Mean accuracy over the seven expressions (percent; the statistic of the paper's "
             "Average row), ours beside the paper's; † marks a mean we computed from the paper's per-expression "
             "values. Protocols are below.", ""]
            + _md_table(["table", "configuration", "ours", "paper", "ours − paper"], rows) + [""])


_OVERALL_WHAT = {"kfold": "base configuration, stratified k-fold (person-dependent)",
                 "loso": "base configuration, leave-one-subject-out (person-independent)",
                 "nested": "nested-CV choice, stratified k-fold (person-dependent)"}


def format_markdown(results: dict[str, Any]) -> str:
    """The Markdown report: every table beside the paper's, protocols, differences, plots."""
    classes = results["dataset"]["classes"]
    base = results["base_config"]
    ds = results["dataset"]
    L: list[str] = ["# DLFERS on JAFFE: reproduction of the paper's experiments", ""]
    L += [f"Paper: {results['paper']['citation']}.", "",
          f"Data: {ds['n_images']} images of {ds['n_subjects']} subjects ({ds['path']}); images per class: "
          + ", ".join(f"{c} {n}" for c, n in ds["class_counts"].items())
          + (f"; {len(ds['skipped_files'])} unreadable files skipped." if ds["skipped_files"] else "."), "",
          _run_time(results), ""]
    L += _summary(results)
    L += ["## How the numbers were obtained", "",
          "- Every accuracy is an out-of-fold test accuracy (percent); nothing was tuned on a test fold. "
          "Codebooks (k-means), histograms and SVMs are fitted inside each training fold only.",
          f"- **Tables 1-3** and the overall figure: {results['protocols']['kfold']}; the same folds for every "
          "column. This is person-dependent (a subject's other images are in the training folds), as the paper's "
          "JAFFE figures most likely are: the paper states no protocol.",
          "- Each table varies **one factor** of the base configuration, the full DLFERS system: "
          f"descriptors {base['descriptors']} with {base['fusion']}-level fusion, per-expression k-means "
          f"codebooks ({base['n_words']} words each), a {_KERNEL_NAMES.get(base['kernel'], base['kernel'])} "
          f"SVM (C={base['C']}), and the SPOF layout `{base['layout']}` (fused* levels pool the fused "
          "eyes+mouth image). All parameters:",
          "", "  " + ", ".join(f"`{k}={v}`" for k, v in base.items()), "",
          "- The paper's per-expression values are copied from its Tables 1-3 (`dlfers.paper`). It prints an "
          "average row for Table 1 only; for Tables 2-3, *paper mean* is the mean of its per-expression values "
          "(marked †). *Mean of classes* is the same statistic for us; *overall* is per image.",
          "- Cells read **ours** (paper; difference in points). With about 30 test images per expression, one "
          "image is 3.3 points of a class accuracy and the binomial standard error of a class accuracy near 90% "
          "is about 5.5 points; for the mean of 213 images it is about 2 points.", ""]
    for t, tab in results["tables"].items():
        cols = tab["columns"]
        L += [f"## {tab['title']}", "", f"Varies: {tab['varies']}. Protocol: {tab['protocol_description']}.", ""]
        L += [f"- **{c['name']}**: {c['description']} (changes {_changes(c['changes'])})" for c in cols] + [""]
        rows = [[c] + [f"**{_f(col['per_class'][c])}** ({_f(col['paper']['per_class'][c])}; "
                       f"{_f(col['difference']['per_class'][c], True)})" for col in cols] for c in classes]
        dag = "" if cols[0]["paper"]["mean_printed"] else "†"
        rows.append(["mean of classes"] + [f"**{_f(col['mean_class_accuracy'])}** ({_f(col['paper']['mean'])}{dag}; "
                                           f"{_f(col['difference']['mean'], True)})" for col in cols])
        rows.append(["overall (per image)"] + [f"**{_f(col['overall_accuracy'])}**" for col in cols])
        L += _md_table(["expression"] + [c["name"] for c in cols], rows) + [""]
        best_ours = max(cols, key=lambda c: c["mean_class_accuracy"])
        best_paper = max(cols, key=lambda c: c["paper"]["mean"])
        diffs = [(col["difference"]["per_class"][c], col["name"], c) for col in cols for c in classes
                 if col["difference"]["per_class"][c] is not None]
        worst = max(diffs, key=lambda x: abs(x[0])) if diffs else None
        spread = (max(c["mean_class_accuracy"] for c in cols) - min(c["mean_class_accuracy"] for c in cols),
                  max(c["paper"]["mean"] for c in cols) - min(c["paper"]["mean"] for c in cols))
        L += ["Difference from the paper (ours − paper, mean of classes): "
              + "; ".join(f"{c['name']} {_f(c['difference']['mean'], True)}" for c in cols) + ". "
              f"Best column: ours **{best_ours['name']}** ({_f(best_ours['mean_class_accuracy'])}), the paper's "
              f"**{best_paper['name']}** ({_f(best_paper['paper']['mean'])})"
              + ("" if worst is None else f"; the largest single difference is {_f(worst[0], True)} points "
                 f"({worst[2]}, {worst[1]})") + f". The columns' means span {spread[0]:.2f} points here and "
              f"{spread[1]:.2f} points in the paper.", ""]
        if t + ".png" in results.get("files", {}):
            L += [f"![{tab['title']}]({t}.png)", ""]
    ov = results["overall"]
    if ov:
        L += ["## Overall accuracy", "",
              f"The paper's overall figure is {results['paper']['overall_accuracy']:.2f}% (its Table 1, scaling "
              "factor 3, i.e. the base configuration), with no protocol stated.", ""]
        L += ["The k-fold row is Table 1's *Scaling Factor 3* column (the same configuration and folds).", ""]
        head = ["protocol", "DLFERS overall", "mean of classes", "overall − paper", "HOG baseline"]
        rows = []
        what = {"kfold": "base configuration, person-dependent", "loso": "base configuration, person-independent",
                "nested": "configuration chosen by nested CV, person-dependent"}
        for name, r in ov.items():
            rows.append([f"{name} ({what[name]})", f"**{_f(r['overall_accuracy'])}**", _f(r["mean_class_accuracy"]),
                         _f(r["difference_to_paper"], True),
                         _f(r["baseline"]["overall_accuracy"]) if "baseline" in r else "–"])
        L += _md_table(head, rows) + [""]
        L += [f"- **{name}**: {r['protocol_description']}." for name, r in ov.items()] + [""]
        if any("baseline" in r for r in ov.values()):
            L += ["HOG baseline: " + next(r["baseline"]["name"] for r in ov.values() if "baseline" in r)
                  + ", on the same crop and folds.", ""]
        rows = [[c] + [_f(r["per_class"][c]) for r in ov.values()] for c in classes]
        L += ["Per expression:", ""] + _md_table(["expression"] + list(ov), rows) + [""]
        for name, r in ov.items():
            L += [f"### Confusion matrix: {name} ({what[name]})", "", "Rows: true class; columns: predicted.", ""]
            L += _md_table(["true \\ predicted"] + classes,
                           [[c] + [str(v) for v in row] for c, row in zip(classes, r["confusion_matrix"])]) + [""]
            if f"confusion_{name}.png" in results.get("files", {}):
                L += [f"![confusion matrix {name}](confusion_{name}.png)", ""]
        if "nested" in ov:
            n = ov["nested"]
            L += ["### Best configuration by nested cross-validation", "", n["protocol_description"] + ".", "",
                  "Candidates: " + "; ".join(f"**{c['name']}** ({_changes(c['changes'])})" for c in n["candidates"])
                  + ".", ""]
            cands = [c["name"] for c in n["candidates"]]
            rows = [[str(f["fold"]), f["chosen"], _f(f["test_accuracy"])] + [_f(f["inner_accuracy"][c]) for c in cands]
                    for f in n["folds"]]
            L += _md_table(["outer fold", "chosen", "outer test %"] + [f"inner: {c}" for c in cands], rows) + [""]
            counts: dict[str, int] = {}
            for f in n["folds"]:
                counts[f["chosen"]] = counts.get(f["chosen"], 0) + 1
            L += [f"Outer accuracy of the chosen configurations: **{_f(n['overall_accuracy'])}%** "
                  f"({_f(n['difference_to_paper'], True)} points from the paper's "
                  f"{results['paper']['overall_accuracy']:.2f}%); chosen: "
                  + ", ".join(f"{k} ({v} fold{'s' if v > 1 else ''})"
                              for k, v in sorted(counts.items(), key=lambda kv: -kv[1])) + ".", ""]
    L += ["## Files", ""] + [f"- `{k}`: {v}" for k, v in results.get("files", {}).items()] + [""]
    return "\n".join(L)
