"""The cross-validation engine of ``dlfers reproduce``: many configurations, shared work, the estimator's stages.

Every prediction is what :func:`dlfers.evaluation.protocols.evaluate` gives for the same
configuration and folds: the engine calls the same stage functions as
:meth:`DLFERS.fit_features` (:func:`dlfers.model.stages.fit_kind_codebook`,
:func:`dlfers.model.codebook.spof_histograms` with :func:`dlfers.model.stages.histogram_options`,
:func:`dlfers.model.stages.fit_svms`), with the settings read from the spec there, and only
caches their outputs, under the keys of :class:`dlfers.model.spec.Spec`:

* descriptors under ``descriptor_key``: extracted once per preprocessing, for the face
  and the fused image and every kind, by a DLFERS built from exactly the key's
  parameters (detector settings included); a layout takes its rows
  (:func:`dlfers.features.regions.source_rows`) and its region ids (:func:`dlfers.features.regions.region_ids`);
* a fold's codebooks and nearest words under ``codebook_key``: configurations that differ
  in layout, pooling or SVM share one k-means and one encoding per fold, and pool the
  cached words through :func:`dlfers.model.codebook.spof_histograms` (word counts are
  integers: the histograms are bit-identical to encoding again);
* predictions under ``svm_key``.

A configuration the caches above do not describe (mirror augmentation, texture channels,
second-scale kinds: the fit reads more than the paper kinds' codes) takes the estimator's
own path: its features are extracted once per preprocessing, layout and kinds by
:func:`dlfers.model.batch.extract_features`, and each fold is fitted by
:meth:`DLFERS.fit_features` and predicted by :meth:`DLFERS.predict_features`, as ``evaluate``
does; only the features and the predictions are cached.

Folds run in threads (the kernels, k-means and LIBSVM release the GIL) with BLAS/OpenMP
pools limited to one thread each (:func:`dlfers._util.threads.one_thread_per_pool`), as
``evaluate(n_jobs=-1)`` does in its worker processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..._util.parallel import Executor, resolve_jobs
from ..._util.threads import one_thread_per_pool
from ...data.folders import Dataset
from ...features.descriptors import PAPER_KINDS, grid_shape
from ...features.regions import region_ids, source_rows
from ...model import codebook, stages
from ...model.batch import extract_features
from ...model.codebook import spof_histograms
from ...model.estimator import DLFERS
from ...model.spec import Spec

__all__ = ["CVEngine", "layout_features", "SVM_COST", "uses_the_estimators_fit"]

#: the work of one SVM fit relative to one default codebook + encoding (progress and scheduling)
SVM_COST = 0.1


def uses_the_estimators_fit(spec: Spec) -> bool:
    """Whether ``spec`` is fitted by :meth:`DLFERS.fit_features` itself (see the module docstring).

    Parameters
    ----------
    spec : Spec
        A configuration.

    Returns
    -------
    bool
        True for the estimator's fit.
    """
    return bool(spec.get("mirror")) or bool(spec.textures) or bool(set(spec.kinds) - set(PAPER_KINDS))


def _estimator_key(spec: Spec) -> tuple[Any, ...]:
    """What the estimator path's features depend on: the descriptor key, the layout's sources and the kinds."""
    return ("estimator", spec.descriptor_key, spec.layout.sources, spec.get("layout"), spec.kinds)


# ----------------------------------------------------------------------------- features per layout
def layout_features(full: Sequence[Any], layout: str, face_size: int, step: int) -> list[Any]:
    """Features for ``layout`` derived from features extracted with face and fused levels.

    Parameters
    ----------
    full : sequence of object
        :class:`dlfers.model.estimator.Features` extracted by a DLFERS whose layout has both
        face and fused levels (e.g. ``"whole+fused"``) and the same face size and step.
    layout : str
        The target layout.
    face_size : int
        Face size of the extraction.
    step : int
        Grid stride of the extraction.

    Returns
    -------
    The features ``DLFERS(layout=layout, ...).extract`` returns for the same images
    (descriptor rows are views of ``full``'s).
    """

    ny, nx = grid_shape(int(face_size), int(face_size), int(step))
    n_grid = ny * nx
    regions = region_ids(layout, (int(face_size), int(face_size)), int(step))
    rows = source_rows(layout, n_grid)
    out = []
    for f in full:
        n = next(iter(f.descriptors.values())).shape[0]
        if n != 2 * n_grid:
            raise ValueError(f"expected {2 * n_grid} face+fused descriptors per image, got {n}; extract with a "
                             "layout that has face and fused levels and the same face_size and step")
        out.append(replace(f, descriptors={k: d[rows] for k, d in f.descriptors.items()}, regions=regions.copy()))
    return out


# ----------------------------------------------------------------------------- the engine
@dataclass
class _Codes:
    """One fold's codebooks and the nearest words of its images: kind -> per image (N,) ints (None: not needed)."""

    codebooks: dict[str, np.ndarray]
    words: dict[str, list[np.ndarray | None]]


@dataclass
class _Task:
    """One fold of one split for every configuration that shares its codebooks."""

    split: str
    fold: int
    configs: list[Spec]
    cost: float  # work units, for the progress bar and for scheduling (heaviest first)


#: (configuration, split name, folds or None for all)
Job = tuple["dict[str, Any] | Spec", str, "Sequence[int] | None"]


class CVEngine:
    """Out-of-fold predictions of many DLFERS configurations on one data set, sharing work.

    Descriptors are cached per ``Spec.descriptor_key``, codebooks and word labels per
    (``codebook_key``, split, fold), predictions per (``svm_key``, split, fold).

    Parameters
    ----------
    dataset : Dataset
        The loaded data set.
    n_jobs : int, default=-1
        Worker threads (-1: all cores).
    on_step : callable or None, default=None
        Called with a finished fold task's work units (progress; see :meth:`plan`).
    executor : Executor or None, default=None
        Where descriptors are extracted instead of the worker threads, e.g. an
        :class:`dlfers._util.parallel.Executor` on a Dask cluster (set it while it is open).
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
        """Register the (train, test) folds ``name`` (indices into the data set).

        Parameters
        ----------
        name : str
            The split's name.
        splits : sequence of (ndarray, ndarray)
            (train, test) index arrays per fold.
        """
        self.splits[name] = [(np.asarray(tr), np.asarray(te)) for tr, te in splits]

    @staticmethod
    def spec(params: dict[str, Any] | Spec) -> Spec:
        """The validated configuration of ``params`` (a full DLFERS parameter dict).

        Parameters
        ----------
        params : dict or Spec
            A full DLFERS parameter dict, or its validated Spec.

        Returns
        -------
        Spec
            The configuration.
        """
        return params if isinstance(params, Spec) else Spec.from_params(params)

    def prep_key(self, params: dict[str, Any] | Spec) -> tuple[Any, ...]:
        """The cache key of the descriptors (:attr:`Spec.descriptor_key`).

        Parameters
        ----------
        params : dict or Spec
            A full DLFERS parameter dict, or its validated Spec.

        Returns
        -------
        tuple
            The cache key.
        """
        return self.spec(params).descriptor_key

    def features(self, params: dict[str, Any] | Spec) -> list[Any]:
        """Face+fused features (every descriptor kind) of each image for ``params``' preprocessing.

        Parameters
        ----------
        params : dict or Spec
            A full DLFERS parameter dict, or its validated Spec.

        Returns
        -------
        list of Features
            One per image.
        """
        spec = self.spec(params)
        if spec.descriptor_key not in self._feats:
            self._extract(spec)
        return self._feats[spec.descriptor_key]

    def estimator_features(self, params: dict[str, Any] | Spec) -> list[Any]:
        """The features ``DLFERS(**params).extract`` gives every image (the estimator path, cached).

        Parameters
        ----------
        params : dict or Spec
            A full DLFERS parameter dict, or its validated Spec.

        Returns
        -------
        list of Features
            One per image.
        """
        spec = self.spec(params)
        key = _estimator_key(spec)
        with self._lock:
            if key in self._feats:
                return self._feats[key]
        t0 = time.perf_counter()
        model = DLFERS(**{**spec.params, "progress": False, "n_jobs": None})
        feats = extract_features(model, self.ds.images, self.executor or Executor(1))
        with self._lock:
            self._feats[key] = feats
            self.seconds["extract"] += time.perf_counter() - t0
        return feats

    def faces(self, params: dict[str, Any] | Spec) -> list[np.ndarray]:
        """The preprocessed faces (kept from the extraction, for the HOG baseline).

        Parameters
        ----------
        params : dict or Spec
            A full DLFERS parameter dict, or its validated Spec.

        Returns
        -------
        list of ndarray
            One preprocessed face per image.
        """
        spec = self.spec(params)
        self.features(spec)
        return self._faces[spec.descriptor_key]

    def _extract(self, spec: Spec) -> None:

        t0 = time.perf_counter()
        # exactly the parameters of the key: what is not in it cannot change the descriptors
        model = DLFERS(**dict(spec.descriptor_key), layout="whole+fused", descriptors="+".join(PAPER_KINDS))
        model.spec()
        images = self.ds.images

        def one(i: int) -> tuple[Any, np.ndarray]:
            face, box, found = model.preprocess(images[i])
            return model.face_features(face, box, found), face

        if self.executor is not None:  # the same features, computed by the executor's workers
            out = [(f, f.face) for f in extract_features(model, images, self.executor)]
        else:
            with ThreadPoolExecutor(self.n_jobs) as ex:
                out = list(ex.map(one, range(len(images))))
        self._feats[spec.descriptor_key] = [f for f, _ in out]
        self._faces[spec.descriptor_key] = [face for _, face in out]
        self.seconds["extract"] += time.perf_counter() - t0

    # ------------------------------------------------------------------ codebooks and codes
    def code_key(self, params: dict[str, Any] | Spec, split: str, fold: int) -> tuple[Any, ...]:
        """What a fold's codebooks depend on: :attr:`Spec.codebook_key` and the fold.

        Parameters
        ----------
        params : dict or Spec
            A full DLFERS parameter dict, or its validated Spec.
        split : str
            A split name registered by :meth:`add_split`.
        fold : int
            Fold index in the split.

        Returns
        -------
        tuple
            The cache key.
        """
        return (self.spec(params).codebook_key, split, fold)

    def _rows(self, spec: Spec) -> slice:
        feats = self.features(spec)
        return source_rows(spec.layout, next(iter(feats[0].descriptors.values())).shape[0] // 2)

    def _codes_for(self, spec: Spec, split: str, fold: int) -> _Codes:
        """Codebooks and word labels of the fold's images, as :meth:`DLFERS.fit_features` fits them (cached)."""

        key = self.code_key(spec, split, fold)
        with self._lock:
            if key in self._codes:
                return self._codes[key]
        feats = self.features(spec)
        rows = self._rows(spec)
        tr, te = self.splits[split][fold]
        options = stages.histogram_options(spec)
        codes = _Codes({}, {})
        for i, kind in enumerate(spec.kinds):
            t0 = time.perf_counter()
            cb = stages.fit_kind_codebook([feats[j].descriptors[kind][rows] for j in tr], self.y[tr], spec, i)
            t1 = time.perf_counter()
            sq = codebook.codeword_sqnorms(cb)
            dtype = np.int16 if cb.shape[0] <= np.iinfo(np.int16).max else np.int32
            words: list[np.ndarray | None] = [None] * len(feats)
            # soft assignment pools distances, not nearest words: its histograms are encoded afresh
            for j in np.union1d(tr, te) if options["soft"] == 1 and options["precision"] == "float32" else ():
                words[j] = codebook.encode_words(feats[j].descriptors[kind][rows], cb, sq,
                                                 options["backend"]).astype(dtype)
            codes.codebooks[kind] = cb
            codes.words[kind] = words
            with self._lock:
                self.seconds["codebooks"] += t1 - t0
                self.seconds["encode"] += time.perf_counter() - t1
        with self._lock:
            self._codes[key] = codes
        return codes

    def _histograms(self, spec: Spec, codes: _Codes, idx: np.ndarray) -> dict[str, np.ndarray]:
        """Per kind, the SPOF histograms (len(idx), n_regions·K) float32 of images ``idx``."""

        feats = self.features(spec)
        rows = self._rows(spec)
        fs, step = int(spec.get("face_size")), int(spec.get("step"))
        regions = region_ids(spec.layout, (fs, fs), step)
        out = {}
        options = stages.histogram_options(spec)
        for kind in spec.kinds:
            descs = [feats[j].descriptors[kind][rows] for j in idx]
            if options["soft"] != 1 or options["precision"] != "float32":
                out[kind] = spof_histograms(descs, [regions] * len(idx), spec.n_regions, codes.codebooks[kind],
                                            **options)
                continue
            words = []
            for j in idx:
                w = codes.words[kind][j]
                if w is None:
                    raise RuntimeError(f"image {j} was not encoded for this fold")
                words.append(w)
            out[kind] = spof_histograms(descs, [regions] * len(idx), spec.n_regions, codes.codebooks[kind],
                                        words=words, **options)
        return out

    def _fit_predict_estimator(self, spec: Spec, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        """Fit ``DLFERS(**spec)`` on the fold's training features and predict its test features."""
        t0 = time.perf_counter()
        feats = self.estimator_features(spec)
        model = DLFERS(**{**spec.params, "progress": False, "n_jobs": None})
        model.fit_features([feats[j] for j in tr], self.y[tr])
        pred = np.asarray(model.predict_features([feats[j] for j in te]))
        with self._lock:
            self.seconds["svm"] += time.perf_counter() - t0
        return pred

    def _fit_predict(self, spec: Spec, codes: _Codes, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        """Fit the SVM(s) of ``spec`` on ``tr`` and predict ``te``, as :meth:`DLFERS.fit_features`."""

        t0 = time.perf_counter()
        fused = stages.fit_svms(self._histograms(spec, codes, tr), self.y[tr], spec, probability=False)
        pred = np.asarray(fused.predict(self._histograms(spec, codes, te)))
        with self._lock:
            self.seconds["svm"] += time.perf_counter() - t0
        return pred

    # ------------------------------------------------------------------ running
    def _pred_key(self, params: dict[str, Any] | Spec, split: str, fold: int) -> tuple[Any, ...]:
        return (self.spec(params).svm_key, split, fold)

    def _code_cost(self, spec: Spec, split: str, fold: int) -> float:
        """Work units of a fold's codebooks and encoding (1: k-means + encoding of the default fold)."""
        tr, te = self.splits[split][fold]
        rows = (0.5 if spec.layout.face else 0.0) + (0.5 if spec.layout.fused else 0.0)
        size = (int(spec.get("face_size")) / 128) ** 2 * (2 / int(spec.get("step"))) ** 2
        dims = sum(spec.dims.values()) / 192
        return dims * size * (0.4 * len(tr) + 0.6 * rows * (len(tr) + len(te))) / len(self.y) * (
            int(spec.get("n_words")) / 30)

    def plan(self, jobs: Iterable[Job]) -> list[_Task]:
        """Fold tasks still to run for ``(params, split, folds or None for all)`` jobs, heaviest first.

        Configurations that share a fold's codebooks go into one task.

        Parameters
        ----------
        jobs : iterable of (params, split, folds or None)
            What to compute.

        Returns
        -------
        list of fold tasks
            Heaviest first.
        """
        groups: dict[tuple[Any, ...], _Task] = {}
        seen = set()
        for params, split, folds in jobs:
            spec = self.spec(params)
            for fold in range(len(self.splits[split])) if folds is None else folds:
                pk = self._pred_key(spec, split, fold)
                if pk in self._preds or pk in seen:
                    continue
                seen.add(pk)
                ck = ("estimator", *pk) if uses_the_estimators_fit(spec) else self.code_key(spec, split, fold)
                if ck not in groups:
                    cost = 0.0 if ck in self._codes else self._code_cost(spec, split, fold)
                    groups[ck] = _Task(split, fold, [], cost)
                groups[ck].configs.append(spec)
                groups[ck].cost += SVM_COST
        return sorted(groups.values(), key=lambda t: -t.cost)

    def run(self, tasks: Sequence[_Task]) -> None:
        """Run fold tasks in worker threads, BLAS/OpenMP pools limited to one thread each.

        Parameters
        ----------
        tasks : sequence of fold tasks
            From :meth:`plan`.
        """

        def work(task: _Task) -> None:
            tr, te = self.splits[task.split][task.fold]
            if uses_the_estimators_fit(task.configs[0]):  # one configuration per task
                spec = task.configs[0]
                pred = self._fit_predict_estimator(spec, tr, te)
                with self._lock:
                    self._preds[self._pred_key(spec, task.split, task.fold)] = pred
                self.on_step(task.cost)
                return
            codes = self._codes_for(task.configs[0], task.split, task.fold)
            for spec in task.configs:
                pred = self._fit_predict(spec, codes, tr, te)
                with self._lock:
                    self._preds[self._pred_key(spec, task.split, task.fold)] = pred
            self.on_step(task.cost)

        with one_thread_per_pool():
            for spec in {t.configs[0].descriptor_key: t.configs[0] for t in tasks
                         if not uses_the_estimators_fit(t.configs[0])}.values():
                self.features(spec)
            for spec in {_estimator_key(t.configs[0]): t.configs[0] for t in tasks
                         if uses_the_estimators_fit(t.configs[0])}.values():
                self.estimator_features(spec)
            if self.n_jobs == 1 or len(tasks) <= 1:
                for t in tasks:
                    work(t)
                return
            with ThreadPoolExecutor(self.n_jobs) as ex:
                for f in [ex.submit(work, t) for t in tasks]:
                    f.result()

    def predictions(self, params: dict[str, Any] | Spec, split: str) -> np.ndarray:
        """Out-of-fold predictions (n_images,) of ``params`` on ``split`` (runs what is missing).

        Parameters
        ----------
        params : dict or Spec
            A full DLFERS parameter dict, or its validated Spec.
        split : str
            A split name registered by :meth:`add_split`.

        Returns
        -------
        ndarray of shape (n_images,)
            Out-of-fold predictions.
        """
        self.run(self.plan([(params, split, None)]))
        out = np.full(len(self.y), "", dtype=self.y.dtype)
        for f, (_, te) in enumerate(self.splits[split]):
            out[te] = self._preds[self._pred_key(params, split, f)]
        return out

    def fold_prediction(self, params: dict[str, Any] | Spec, split: str, fold: int) -> np.ndarray:
        """Test predictions of ``params`` on one fold (runs it if missing).

        Parameters
        ----------
        params : dict or Spec
            A full DLFERS parameter dict, or its validated Spec.
        split : str
            A split name registered by :meth:`add_split`.
        fold : int
            Fold index in the split.

        Returns
        -------
        ndarray
            The fold's test predictions.
        """
        self.run(self.plan([(params, split, [fold])]))
        return self._preds[self._pred_key(params, split, fold)]

