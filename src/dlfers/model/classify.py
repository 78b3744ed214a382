"""SVM classification of SPOF histograms and TISF/TIPM fusion (paper Sec. 3.3, Eq. 9-10).

LIBSVM (scikit-learn's ``SVC``) with a linear, RBF, χ² or histogram-intersection
kernel.  Non-linear histogram kernels are given to LIBSVM as precomputed Gram
matrices; the fitted model keeps only its support vectors, so prediction costs
one kernel row per support vector.

Prediction does not call LIBSVM: the fitted solution is kept as plain arrays
(support vectors, dual coefficients, intercepts, support counts per class) and the
one-vs-one decision values, LIBSVM's votes and scikit-learn's "ovr"-shaped decision
function are computed with NumPy.  The same arrays are what :mod:`dlfers.model.file`
saves, so a model loaded from disk runs exactly the code an in-memory one runs.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import _kernels

__all__ = ["KERNELS", "FUSIONS", "chi2_distances", "kernel_matrix", "KernelSVC", "fusion_inputs", "fit_fused",
           "fit_temperature", "calibrated_proba", "read_calibration",
           "FusedSVMs"]

KERNELS = ("linear", "rbf", "chi2", "intersection")
#: "feature": one SVM on the concatenated histograms of every kind; "decision": one SVM per
#: kind, class probabilities averaged (paper Sec. 3.3)
FUSIONS = ("feature", "decision")


def _histogram_pair(a: np.ndarray, b: np.ndarray, kernel: str) -> tuple[np.ndarray, np.ndarray]:
    a32 = np.ascontiguousarray(a, np.float32)
    b32 = np.ascontiguousarray(b, np.float32)
    if a32.ndim != 2 or b32.ndim != 2 or a32.shape[1] != b32.shape[1]:
        raise ValueError(f"{kernel} kernel of arrays shaped {a32.shape} and {b32.shape}: expected (n, F) and (m, F)")
    return a32, b32


def chi2_distances(a: np.ndarray, b: np.ndarray, backend: str | None = "auto") -> np.ndarray:
    """χ² distances (n_a, n_b) float64 between the rows of non-negative (n_a, F) and (n_b, F) arrays.

    d(a, b) = Σ_k (a_k − b_k)² / (a_k + b_k), terms with a_k + b_k = 0 count 0
    (the ``chi2`` kernel of ``backend``).

    Parameters
    ----------
    a : ndarray of shape (n_a, F)
        Non-negative rows.
    b : ndarray of shape (n_b, F)
        Non-negative rows.
    backend : str or None, default='auto'
        Kernel backend (:mod:`dlfers._kernels`; "auto" or None: the first available).

    Returns
    -------
    ndarray of shape (n_a, n_b), dtype float64
        The χ² distances.
    """

    a32, b32 = _histogram_pair(a, b, "chi2")
    out = np.empty((a32.shape[0], b32.shape[0]))
    _kernels.get(backend).chi2(a32, b32, out)
    return out


def kernel_matrix(a: np.ndarray, b: np.ndarray, kernel: str, gamma: float, backend: str | None = "auto") -> np.ndarray:
    """Gram matrix K(a_i, b_j): (n_a, n_b) float64.

    chi2: exp(-γ Σ (a−b)²/(a+b)); intersection: Σ min(a, b); rbf: exp(-γ‖a−b‖²).
    The χ² and intersection sums run in the kernels of ``backend`` (see :mod:`dlfers._kernels`).

    Parameters
    ----------
    a : ndarray of shape (n_a, F)
        Rows.
    b : ndarray of shape (n_b, F)
        Rows.
    kernel : str
        One of :data:`KERNELS`.
    gamma : float
        Kernel width of chi2 and rbf (unused by intersection).
    backend : str or None, default='auto'
        Kernel backend (:mod:`dlfers._kernels`; "auto" or None: the first available).

    Returns
    -------
    ndarray of shape (n_a, n_b), dtype float64
        The Gram matrix.
    """
    if kernel == "chi2":
        return np.exp(-gamma * chi2_distances(a, b, backend))
    if kernel == "intersection":  # float32 minima (exact), summed by the compiled kernel

        a32, b32 = _histogram_pair(a, b, "intersection")
        out = np.empty((a32.shape[0], b32.shape[0]))
        _kernels.get(backend).intersection(a32, b32, out)
        return out
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if kernel == "linear":
        return a @ b.T
    if kernel == "rbf":
        d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
        return np.exp(-gamma * np.maximum(d, 0))
    raise ValueError(f"unknown kernel {kernel!r}; expected one of {KERNELS}")


def _inverse_mean(dist: np.ndarray) -> float:
    """1 / mean off-diagonal distance (1.0 for fewer than two samples or all zero)."""
    if dist.shape[0] < 2:
        return 1.0
    m = float(dist[np.triu_indices_from(dist, 1)].mean())
    return 1.0 / m if m > 0 else 1.0


@functools.lru_cache(maxsize=8)
def _pair_matrices(n_cls: int) -> tuple[np.ndarray, np.ndarray]:
    first, second = np.triu_indices(n_cls, 1)  # (0,1), (0,2), ..., (k-2,k-1), as LIBSVM
    eye = np.eye(n_cls)
    a, b = eye[first], eye[second]
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


class KernelSVC:
    """A LIBSVM classifier over a precomputed kernel that keeps its support vectors.

    Parameters
    ----------
    kernel : str, default='chi2'
        One of :data:`KERNELS`.
    C : float, default=10.0
        Soft-margin penalty.
    gamma : float or None, default=None
        Kernel width for rbf and chi2; None uses 1 / mean training distance.
    probability : bool, default=False
        Calibrate class probabilities: a multinomial logistic regression
        on out-of-fold decision values (3-fold inside the training set), stored as
        ``calib_coef_`` (n_classes, n_classes) and ``calib_intercept_`` (n_classes,).
    backend : str or None, default='auto'
        Kernel backend of the χ² and intersection Gram matrices (not saved: the
        estimator that owns the SVM sets it).
    random_state : int, default=0
        Seed of the calibration's folds.
    """

    def __init__(self, kernel: str = "chi2", C: float = 10.0, gamma: float | None = None,
                 probability: bool = False, random_state: int = 0, *, backend: str | None = "auto") -> None:
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.probability = probability
        self.random_state = random_state
        self.backend = backend

    def fit(self, x: np.ndarray, y: np.ndarray) -> KernelSVC:
        """Fit the SVM (and its calibration when ``probability``) on histograms ``x`` and labels ``y``.

        Parameters
        ----------
        x : ndarray of shape (n, F), dtype float32
            Histograms, one row per sample.
        y : ndarray of shape (n,)
            Labels.

        Returns
        -------
        KernelSVC
            self.
        """
        from sklearn.svm import SVC

        if self.kernel not in KERNELS:
            raise ValueError(f"unknown kernel {self.kernel!r}; expected one of {KERNELS}")
        x = np.asarray(x, np.float32)
        self._pair_w: np.ndarray | None = None  # derived from the new solution on first use
        if self.kernel == "chi2":  # one distance matrix for both the width and the Gram matrix
            dist = chi2_distances(x, x, self.backend)
            self.gamma_ = float(self.gamma) if self.gamma is not None else _inverse_mean(dist)
            gram = np.exp(-self.gamma_ * dist)
        else:
            self.gamma_ = float(self.gamma) if self.gamma is not None else self._auto_gamma(x)
            gram = kernel_matrix(x, x, self.kernel, self.gamma_, self.backend)
        self.svc_ = SVC(kernel="precomputed", C=self.C)
        self.svc_.fit(gram, y)
        self.classes_ = self.svc_.classes_
        self.n_fit_ = x.shape[0]
        self.support_ = self.svc_.support_.astype(np.int64)
        self.support_vectors_ = np.ascontiguousarray(x[self.support_])
        self.n_support_ = self.svc_.n_support_.astype(np.int64)
        # LIBSVM's own sign convention (scikit-learn flips both for two classes):
        # ovo value of pair (i, j) = Σ coef·K + intercept, positive votes for class i
        sign = -1.0 if len(self.classes_) == 2 else 1.0
        self.ovo_coef_ = np.ascontiguousarray(sign * np.asarray(self.svc_.dual_coef_, np.float64))
        self.ovo_intercept_ = np.ascontiguousarray(sign * np.asarray(self.svc_.intercept_, np.float64))
        if self.probability:
            self._calibrate(gram, np.asarray(y))
        return self

    def _calibrate(self, gram: np.ndarray, y: np.ndarray) -> None:
        """Temperature scaling of the one-vs-rest scores (Guo et al., ICML 2017).

        probabilities = softmax(a · ovr), with one a > 0 fitted by minimising the log-loss
        of out-of-fold scores (a stratified 3-fold refit of the SVM inside the training
        data).  A single positive factor keeps the order of the scores, so the most
        probable class is the class with the highest one-vs-rest score: the label shown
        beside the probabilities never contradicts them.  Stored as ``calib_coef_ = a·I``
        and ``calib_intercept_ = 0`` (the model-file layout of a general calibration).
        """
        from sklearn.model_selection import StratifiedKFold
        from sklearn.svm import SVC

        k = len(self.classes_)
        self.calib_intercept_ = np.zeros(k)
        n_splits = min(3, int(np.unique(y, return_counts=True)[1].min()))
        if n_splits < 2:  # too few samples per class: plain softmax of the scores
            self.calib_coef_ = np.eye(k)
            return
        oof = np.zeros((len(y), k))
        cv = StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state)
        for tr, te in cv.split(gram, y):
            s = SVC(kernel="precomputed", C=self.C).fit(gram[np.ix_(tr, tr)], y[tr])
            dec = s.decision_function(gram[np.ix_(te, tr)])
            if dec.ndim == 1:  # binary: one decision value for the second class
                dec = np.stack([-dec, dec], axis=1)
            oof[np.ix_(te, np.searchsorted(self.classes_, s.classes_))] = dec
        a = fit_temperature(oof, np.searchsorted(self.classes_, y), (-7.0, 5.0))
        # C order, as a loaded model holds them: the same BLAS path gives the same bits
        self.calib_coef_ = np.ascontiguousarray(a * np.eye(k))

    def _auto_gamma(self, x: np.ndarray) -> float:
        if self.kernel != "rbf":
            return 1.0
        x = x.astype(np.float64)
        sq = (x * x).sum(1)
        return _inverse_mean(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0))

    def _kernel_rows(self, x: np.ndarray) -> np.ndarray:
        """K(x, support vectors): (n, n_SV) float64."""
        x = np.asarray(x, np.float32)
        if x.ndim != 2 or x.shape[1] != self.support_vectors_.shape[1]:
            raise ValueError(
                f"expected (n, {self.support_vectors_.shape[1]}) features, got an array of shape {x.shape}"
            )
        return kernel_matrix(x, self.support_vectors_, self.kernel, self.gamma_, getattr(self, "backend", "auto"))

    def ovo_decision(self, x: np.ndarray) -> np.ndarray:
        """LIBSVM's one-vs-one decision values (n, k(k-1)/2) float64, pairs (0,1), (0,2), ..., (k-2,k-1).

        A positive value votes for the first class of the pair.

        Parameters
        ----------
        x : ndarray of shape (n, F), dtype float32
            Histograms, one row per sample.

        Returns
        -------
        ndarray of shape (n, k(k-1)/2), dtype float64
            One-vs-one decision values.
        """
        return self._kernel_rows(x) @ self._pair_weights() + self.ovo_intercept_

    def _pair_weights(self) -> np.ndarray:
        """(n_SV, n_pairs) float64: the dual coefficient of each support vector in each
        one-vs-one problem, 0 where it takes no part (so one product gives every pair)."""
        cached: np.ndarray | None = getattr(self, "_pair_w", None)
        if cached is not None:
            return cached
        n_cls = len(self.classes_)
        start = np.concatenate([[0], np.cumsum(self.n_support_)])
        w = np.zeros((self.ovo_coef_.shape[1], n_cls * (n_cls - 1) // 2))
        p = 0
        for i in range(n_cls):
            si = slice(start[i], start[i + 1])
            for j in range(i + 1, n_cls):
                sj = slice(start[j], start[j + 1])
                w[si, p] = self.ovo_coef_[j - 1, si]
                w[sj, p] = self.ovo_coef_[i, sj]
                p += 1
        self._pair_w = w
        return w

    def _pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(n_pairs, k) float64 one-hot matrices of each pair's first and second class."""
        return _pair_matrices(len(self.classes_))

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """One-vs-rest decision values (n, n_classes) (two columns ±d for two classes).

        As scikit-learn's ``SVC(decision_function_shape="ovr")``: votes plus the summed
        one-vs-one confidences squashed into (-1/3, 1/3).

        Parameters
        ----------
        x : ndarray of shape (n, F), dtype float32
            Histograms, one row per sample.

        Returns
        -------
        ndarray of shape (n, n_classes), dtype float64
            One-vs-rest values.
        """
        return self._ovr(self.ovo_decision(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Labels (n,): the class with the highest one-vs-rest score (:meth:`decision_function`:
        the one-vs-one votes, ties broken by the summed confidences; then the lower class
        index), which is also the most probable class of :meth:`predict_proba`.

        Parameters
        ----------
        x : ndarray of shape (n, F), dtype float32
            Histograms, one row per sample.

        Returns
        -------
        ndarray of shape (n,)
            Predicted labels.
        """
        return self._top(self._ovr(self.ovo_decision(x)))

    def predict_vote(self, x: np.ndarray) -> np.ndarray:
        """Labels (n,) by LIBSVM's one-vs-one vote alone (ties to the lower class index), as
        ``sklearn.svm.SVC.predict``; never shown beside probabilities.

        Parameters
        ----------
        x : ndarray of shape (n, F), dtype float32
            Histograms, one row per sample.

        Returns
        -------
        ndarray of shape (n,)
            Labels by one-vs-one vote.
        """
        return self._vote(self.ovo_decision(x))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities (n, n_classes); columns as ``classes_``.

        Parameters
        ----------
        x : ndarray of shape (n, F), dtype float32
            Histograms, one row per sample.

        Returns
        -------
        ndarray of shape (n, n_classes), dtype float64
            Calibrated probabilities.
        """
        return self._proba(self._ovr(self.ovo_decision(x)))

    def predict_with_proba(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` and :meth:`predict_proba` from one kernel evaluation.

        Parameters
        ----------
        x : ndarray of shape (n, F), dtype float32
            Histograms, one row per sample.

        Returns
        -------
        labels : ndarray of shape (n,)
            As :meth:`predict`.
        proba : ndarray of shape (n, n_classes), dtype float64
            As :meth:`predict_proba`.
        """
        ovr = self._ovr(self.ovo_decision(x))
        return self._top(ovr), self._proba(ovr)

    def _top(self, ovr: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(ovr, axis=1)]  # ties to the lower class index

    def _vote(self, dec: np.ndarray) -> np.ndarray:
        first, second = self._pairs()
        pos = dec > 0  # LIBSVM: a zero value votes for the second class
        votes = pos @ first + ~pos @ second
        return self.classes_[np.argmax(votes, axis=1)]  # ties to the lower class index

    def _ovr(self, dec: np.ndarray) -> np.ndarray:
        if len(self.classes_) == 2:
            return np.concatenate([dec, -dec], axis=1)
        first, second = self._pairs()
        conf = dec @ (first - second)
        pos = dec >= 0  # scikit-learn's transform: a zero value votes for the first
        votes = pos @ first + ~pos @ second
        return votes + conf / (3 * (np.abs(conf) + 1))

    def _proba(self, ovr: np.ndarray) -> np.ndarray:
        return calibrated_proba(self, ovr)

    # ----------------------------------------------------------------- plain-array state
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted classifier as JSON-able scalars and plain arrays (see :meth:`from_state`).

        Arrays: ``classes`` (k,), ``support_vectors`` (n_SV, F) float32, ``support`` (n_SV,)
        int64, ``n_support`` (k,) int64, ``ovo_coef`` (k-1, n_SV) float64, ``ovo_intercept``
        (k(k-1)/2,) float64 and, when calibrated, ``calib_coef`` (k, k) and
        ``calib_intercept`` (k,) float64.
        """
        if not hasattr(self, "ovo_coef_"):
            raise AttributeError("KernelSVC is not fitted")
        meta = {"kernel": self.kernel, "C": float(self.C), "gamma": None if self.gamma is None else float(self.gamma),
                "probability": bool(self.probability), "random_state": int(self.random_state),
                "gamma_": float(self.gamma_), "n_fit": int(self.n_fit_)}
        arrays = {"classes": np.asarray(self.classes_), "support_vectors": self.support_vectors_,
                  "support": self.support_, "n_support": self.n_support_,
                  "ovo_coef": self.ovo_coef_, "ovo_intercept": self.ovo_intercept_}
        if hasattr(self, "calib_coef_"):
            arrays["calib_coef"] = self.calib_coef_
            arrays["calib_intercept"] = self.calib_intercept_
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], backend: str | None = "auto"
                   ) -> KernelSVC:
        """Rebuild a fitted classifier from :meth:`get_state` output (``backend``: see the class).

        Parameters
        ----------
        meta : dict of str to object
            The JSON-able part of :meth:`get_state`.
        arrays : dict of str to ndarray
            Its arrays, name -> array.
        backend : str or None, default='auto'
            Kernel backend of the Gram matrices.

        Returns
        -------
        KernelSVC
            A fitted classifier.

        Raises
        ------
        ValueError
            A missing entry or arrays whose shapes or dtypes do not fit together.
        """
        try:
            svc = cls(str(meta["kernel"]), float(meta["C"]), None if meta["gamma"] is None else float(meta["gamma"]),
                      bool(meta["probability"]), int(meta["random_state"]), backend=backend)
            gamma_, n_fit = float(meta["gamma_"]), int(meta["n_fit"])
            classes, sv = arrays["classes"], arrays["support_vectors"]
            support, n_support = arrays["support"], arrays["n_support"]
            coef, icpt = arrays["ovo_coef"], arrays["ovo_intercept"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"incomplete SVM state: {type(exc).__name__}: {exc}") from None
        if svc.kernel not in KERNELS:
            raise ValueError(f"unknown kernel {svc.kernel!r}; expected one of {KERNELS}")
        if not np.isfinite(gamma_):
            raise ValueError(f"kernel width must be finite, got {gamma_}")
        k = classes.shape[0] if classes.ndim == 1 else -1
        n_sv = sv.shape[0] if sv.ndim == 2 else -1
        checks = [
            (k >= 2, f"classes must be a 1-D array of at least 2 labels, got shape {classes.shape}"),
            (sv.ndim == 2 and sv.dtype == np.float32, f"support_vectors must be (n_SV, F) float32, got "
             f"{sv.dtype}{sv.shape}"),
            (n_support.shape == (k,) and n_support.dtype.kind in "iu" and bool((n_support >= 0).all())
             and int(n_support.sum()) == n_sv, f"n_support {n_support.shape} must count the {n_sv} support "
             f"vectors of {k} classes"),
            (support.shape == (n_sv,) and support.dtype.kind in "iu", f"support must be ({n_sv},) integers"),
            (coef.shape == (k - 1, n_sv) and coef.dtype == np.float64, f"ovo_coef must be ({k - 1}, {n_sv}) "
             f"float64, got {coef.dtype}{coef.shape}"),
            (icpt.shape == (k * (k - 1) // 2,) and icpt.dtype == np.float64, f"ovo_intercept must be "
             f"({k * (k - 1) // 2},) float64, got {icpt.dtype}{icpt.shape}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)
        for name in ("support_vectors", "ovo_coef", "ovo_intercept"):
            if not np.isfinite(arrays[name]).all():
                raise ValueError(f"{name} holds NaN or infinite values")
        svc.classes_, svc.support_vectors_ = classes, sv
        svc.support_, svc.n_support_ = support.astype(np.int64), n_support.astype(np.int64)
        svc.ovo_coef_, svc.ovo_intercept_ = coef, icpt
        svc.gamma_, svc.n_fit_ = gamma_, n_fit
        read_calibration(svc, arrays, k)
        return svc


# ----------------------------------------------------------------------------- calibration
def fit_temperature(scores: np.ndarray, truth: np.ndarray, bounds: tuple[float, float]) -> float:
    """The temperature a > 0 minimising the log-loss of softmax(a · scores) (Guo et al., ICML 2017).

    Parameters
    ----------
    scores : ndarray of shape (n, k), float64
        Held-out (or out-of-fold) one-vs-rest scores.
    truth : ndarray of shape (n,), int
        The true class index of each row.
    bounds : tuple of float
        The search interval of log(a).

    Returns
    -------
    float
    """
    from scipy.optimize import minimize_scalar

    def log_loss(log_a: float) -> float:
        z = np.exp(log_a) * scores
        z -= z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(truth)), truth]))

    return float(np.exp(minimize_scalar(log_loss, bounds=bounds, method="bounded").x))


def calibrated_proba(svm: Any, scores: np.ndarray) -> np.ndarray:
    """Class probabilities (n, k) float64: softmax of ``scores`` through ``svm``'s calibration arrays.

    Parameters
    ----------
    svm : KernelSVC or LinearMapSVC
        A classifier with ``calib_coef_`` (k, k) and ``calib_intercept_`` (k,).
    scores : ndarray of shape (n, k), float64
        Its one-vs-rest scores.

    Returns
    -------
    ndarray of shape (n, k), float64

    Raises
    ------
    AttributeError
        When the classifier was fitted without ``probability=True``.
    """
    if not hasattr(svm, "calib_coef_"):
        raise AttributeError("predict_proba needs probability=True at fit time")
    z = scores @ svm.calib_coef_.T + svm.calib_intercept_
    z -= z.max(axis=1, keepdims=True)
    e: np.ndarray = np.exp(z)
    p: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return p


def read_calibration(svm: Any, arrays: dict[str, np.ndarray], k: int) -> None:
    """Set ``svm``'s calibration from a saved state's ``calib_coef`` (k, k) and ``calib_intercept`` (k,).

    Parameters
    ----------
    svm : KernelSVC or LinearMapSVC
        The classifier being rebuilt (its ``probability`` says whether they must be there).
    arrays : dict of str to ndarray
        The saved arrays.
    k : int
        The number of classes.

    Raises
    ------
    ValueError
        Arrays of the wrong shape or dtype, non-finite values, or none where ``probability`` is True.
    """
    if "calib_coef" in arrays or "calib_intercept" in arrays:
        cc, ci = arrays.get("calib_coef"), arrays.get("calib_intercept")
        if (cc is None or ci is None or cc.shape != (k, k) or ci.shape != (k,)
                or cc.dtype != np.float64 or ci.dtype != np.float64):
            raise ValueError(f"calibration must be ({k}, {k}) and ({k},) float64 arrays")
        if not (np.isfinite(cc).all() and np.isfinite(ci).all()):
            raise ValueError("calibration holds NaN or infinite values")
        svm.calib_coef_, svm.calib_intercept_ = cc, ci
    elif svm.probability:
        raise ValueError("probability=True but no calibration arrays")


# ----------------------------------------------------------------------------- fusion (Eq. 9-10)
def fusion_inputs(encodings: dict[str, np.ndarray], fusion: str) -> dict[str, np.ndarray]:
    """SVM name -> its input: the one rule that turns per-kind histograms into SVM inputs.

    Parameters
    ----------
    encodings : dict of str to ndarray
        Kind -> (n, F_kind) float32 histograms, in the model's kind order.
    fusion : str
        "feature" (one SVM named "tisf+tipm" on the concatenation) or "decision"
        (one SVM per kind); one kind is always a single SVM.

    Returns
    -------
    dict of str to ndarray
        SVM name -> its (n, F) input.
    """
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
    if fusion == "feature" or len(encodings) == 1:
        return {"+".join(encodings): np.hstack(list(encodings.values()))}
    return dict(encodings)


class FusedSVMs:
    """The SVMs of one fusion rule, fitted and used together.

    Parameters
    ----------
    svms : dict of str to KernelSVC
        SVM name (see :func:`fusion_inputs`) -> fitted :class:`KernelSVC`.
    classes : ndarray of shape (k,)
        Class labels, sorted (as every SVM's ``classes_``).
    fusion : {'feature', 'decision'}
        The fusion rule.

    Attributes
    ----------
    svms : SVM name (see :func:`fusion_inputs`) -> fitted :class:`KernelSVC`.
    classes : (k,) class labels, sorted (as every SVM's ``classes_``).
    fusion : "feature" or "decision".
    """

    def __init__(self, svms: dict[str, Any], classes: np.ndarray, fusion: str) -> None:
        self.svms = svms
        self.classes = classes
        self.fusion = fusion

    def _pairs(self, encodings: dict[str, np.ndarray]) -> list[tuple[KernelSVC, np.ndarray]]:
        inputs = fusion_inputs(encodings, self.fusion)
        if list(inputs) != list(self.svms):
            raise ValueError(f"encodings give SVM inputs {list(inputs)}, the model has {list(self.svms)}")
        return [(svm, inputs[name]) for name, svm in self.svms.items()]

    def predict_proba(self, encodings: dict[str, np.ndarray]) -> np.ndarray:
        """Class probabilities (n, k) float64: the SVMs' calibrated probabilities averaged.

        Parameters
        ----------
        encodings : dict of str to ndarray of shape (n, F), dtype float32
            Each SVM input channel's histograms (:func:`fusion_inputs`).

        Returns
        -------
        ndarray of shape (n, k), dtype float64
            Averaged calibrated probabilities.
        """
        return np.mean([svm.predict_proba(x) for svm, x in self._pairs(encodings)], axis=0)

    def decision_function(self, encodings: dict[str, np.ndarray]) -> np.ndarray:
        """Decision values (n, k): the SVMs' one-vs-rest values averaged.

        Parameters
        ----------
        encodings : dict of str to ndarray of shape (n, F), dtype float32
            Each SVM input channel's histograms (:func:`fusion_inputs`).

        Returns
        -------
        ndarray of shape (n, k), dtype float64
            Averaged one-vs-rest values.
        """
        return np.mean([svm.decision_function(x) for svm, x in self._pairs(encodings)], axis=0)

    def predict_with_proba(self, encodings: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Labels (n,) as :meth:`predict` and probabilities (n, k) as :meth:`predict_proba`, one kernel pass.

        Parameters
        ----------
        encodings : dict of str to ndarray of shape (n, F), dtype float32
            Each SVM input channel's histograms (:func:`fusion_inputs`).

        Returns
        -------
        labels : ndarray of shape (n,)
            Predicted labels.
        proba : ndarray of shape (n, k), dtype float64
            Class probabilities.
        """
        pairs = [svm.predict_with_proba(x) for svm, x in self._pairs(encodings)]
        if len(pairs) == 1:
            return pairs[0]
        proba = np.mean([p for _, p in pairs], axis=0)
        return self.classes[np.argmax(proba, axis=1)], proba

    def predict(self, encodings: dict[str, np.ndarray]) -> np.ndarray:
        """Labels (n,): the most probable class of :meth:`predict_proba` (ties to the lower class
        index).  For one SVM that is its highest one-vs-rest score (see :meth:`KernelSVC.predict`).

        Parameters
        ----------
        encodings : dict of str to ndarray of shape (n, F), dtype float32
            Each SVM input channel's histograms (:func:`fusion_inputs`).

        Returns
        -------
        ndarray of shape (n,)
            Predicted labels.
        """
        pairs = self._pairs(encodings)
        if len(pairs) == 1:
            svm, x = pairs[0]
            return svm.predict(x)
        return self.classes[np.argmax(self.predict_proba(encodings), axis=1)]


def fit_fused(
    encodings: dict[str, np.ndarray],
    y: np.ndarray,
    kernel: str,
    C: float,
    gamma: float | None,
    fusion: str,
    random_state: int,
    probability: bool = True,
    backend: str | None = "auto",
) -> FusedSVMs:
    """Fit the SVM(s) of a fusion rule on per-kind histograms (the classification stage).

    Parameters
    ----------
    encodings : kind -> (n, F_kind) float32 training histograms.
    y : (n,) labels.
    kernel, C, gamma, random_state : see :class:`KernelSVC`.
    fusion : str
        See :func:`fusion_inputs`.
    probability : bool, default=True
        Calibrate every SVM (needed for ``predict_proba``); decision fusion
        calibrates whatever this says, as its labels come from probabilities.
    backend : str or None, default='auto'
        Kernel backend of the Gram matrices.

    Returns
    -------
    FusedSVMs
        The fitted SVM(s).
    """
    inputs = fusion_inputs(encodings, fusion)
    calibrate = probability or len(inputs) > 1
    svms = {name: KernelSVC(kernel, C, gamma, calibrate, int(random_state), backend=backend).fit(x, y)
            for name, x in inputs.items()}
    return FusedSVMs(svms, np.unique(y), fusion)
