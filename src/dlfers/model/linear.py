"""Linear SVMs on explicit additive-kernel feature maps: training linear in the number of faces.

An additive kernel K(x, s) = Σ_b k(x_b, s_b) of non-negative histograms with a homogeneous
k(x, s) = sqrt(x s) κ-transform has an explicit finite approximation φ (Vedaldi & Zisserman,
"Efficient additive kernels via explicit feature maps", PAMI 2012): K(x, s) ≈ φ(x)·φ(s).
A linear SVM on φ(x) then approximates the kernel SVM, trains in O(n) and keeps only
weights (no support vectors, so no training face is stored), and predicts in
O(features).  The map is the one of scikit-learn's ``AdditiveChi2Sampler`` (the same
layout and sampling interval), extended to the intersection kernel by its own spectrum
κ(λ) = 2 / (π (1 + 4λ²)); for χ², κ(λ) = sech(πλ).

The solver is dual coordinate descent for the L2-regularised squared-hinge loss
(Hsieh et al., ICML 2008, LIBLINEAR's ``-s 1``, scikit-learn's ``LinearSVC`` default),
one-vs-rest with a regularised bias feature of value 1, on float32 CSR rows: LIBLINEAR
itself needs a float64 copy and 16 bytes per non-zero, more memory than 30,000 faces'
maps leave on a small machine.  It is compiled with Numba (classes in parallel); the
NumPy backend and the tests use ``sklearn.svm.LinearSVC`` on the same problem
(:func:`fit_ovr`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .classify import calibrated_proba, fit_temperature, read_calibration

__all__ = ["MAPS", "MAP_STEPS", "additive_map", "map_width", "fit_ovr", "LinearMapSVC"]

#: the additive kernels with a feature map ("linear": the identity, no map)
MAPS = ("chi2", "intersection", "linear")
#: samples of the kernel's spectrum: 1 + 2 (MAP_STEPS - 1) values per histogram bin
MAP_STEPS = 2
_INTERVAL = {1: 0.8, 2: 0.5, 3: 0.4}  # scikit-learn's AdditiveChi2Sampler sampling intervals


def _spectrum(kernel: str, lam: float) -> float:
    if kernel == "chi2":
        return 1.0 / math.cosh(math.pi * lam)
    if kernel == "intersection":
        return 2.0 / (math.pi * (1.0 + 4.0 * lam * lam))
    raise ValueError(f"no feature map for kernel {kernel!r}; expected one of {MAPS}")


def map_width(n_features: int, kernel: str, steps: int = MAP_STEPS) -> int:
    """Width of the mapped features of ``n_features`` histogram bins.

    Parameters
    ----------
    n_features : int
        Histogram bins F.
    kernel : {'chi2', 'intersection', 'linear'}
        The map's kernel.
    steps : int, default=MAP_STEPS
        Spectrum samples.

    Returns
    -------
    int
        F for "linear", else F * (2 * steps - 1).
    """
    return n_features if kernel == "linear" else n_features * (2 * steps - 1)


def additive_map(x: Any, kernel: str, steps: int = MAP_STEPS) -> Any:
    """The explicit feature map of an additive kernel, row by row.

    Parameters
    ----------
    x : ndarray of shape (n, F) or scipy.sparse CSR matrix, non-negative
        Histograms (power-normalised SPOF histograms, texture channels).
    kernel : {'chi2', 'intersection', 'linear'}
        The additive kernel; "linear" returns ``x`` (as float32).
    steps : int, default=MAP_STEPS
        Spectrum samples; the map has ``2 * steps - 1`` values per bin, in blocks
        ``[sqrt part | cos part j=1 | sin part j=1 | ...]`` of F columns each
        (scikit-learn's layout).

    Returns
    -------
    ndarray of shape (n, map_width(F)), float32, or CSR float32 for CSR input
        φ(x) with φ(x)·φ(s) ≈ Σ_b k(x_b, s_b); zeros map to zeros.

    Raises
    ------
    ValueError
        For a negative or non-finite value, or an unknown kernel.
    """
    import scipy.sparse as sp

    if kernel not in MAPS:
        raise ValueError(f"no feature map for kernel {kernel!r}; expected one of {MAPS}")
    if steps not in _INTERVAL:
        raise ValueError(f"map steps must be one of {sorted(_INTERVAL)}, got {steps!r}")
    sparse = sp.issparse(x)
    if sparse:
        x = sp.csr_matrix(x, dtype=np.float32)
        vals = x.data
    else:
        x = np.asarray(x, np.float32)
        if x.ndim != 2:
            raise ValueError(f"expected (n, F) histograms, got an array of shape {x.shape}")
        vals = x
    if vals.size and not (np.isfinite(vals).all() and vals.min() >= 0):
        raise ValueError(f"the {kernel} feature map needs finite non-negative histograms")
    if kernel == "linear":
        return x
    interval = _INTERVAL[steps]

    def parts(v: np.ndarray) -> list[np.ndarray]:
        v64 = v.astype(np.float64)
        nz = v64 > 0
        logv = np.log(np.where(nz, v64, 1.0)) * interval
        out = [np.sqrt(v64 * interval * _spectrum(kernel, 0.0))]
        for j in range(1, steps):
            factor = np.sqrt(2.0 * v64 * interval * _spectrum(kernel, j * interval))
            out.append(np.where(nz, factor * np.cos(j * logv), 0.0))
            out.append(np.where(nz, factor * np.sin(j * logv), 0.0))
        return [p.astype(np.float32) for p in out]

    if not sparse:
        return np.hstack(parts(vals))
    blocks = parts(vals)
    mats = [sp.csr_matrix((b, x.indices, x.indptr), shape=x.shape) for b in blocks]
    out = sp.hstack(mats, format="csr", dtype=np.float32)
    out.sort_indices()
    return out


# ----------------------------------------------------------------------------- the solver
_DCD: dict[str, Any] = {}


def _dcd_kernels() -> dict[str, Any]:
    """The Numba dual coordinate descent on dense and CSR rows (compiled on first use, cached on disk)."""
    if _DCD:
        return _DCD
    import numba

    @numba.njit(parallel=True, cache=True, nogil=True, fastmath=True)
    def solve_dense(x, rows, labels, n_classes, nf, C, tol, max_epochs, seed, alpha_io, w_io, epochs_out):  # type: ignore[no-untyped-def]  # noqa: E501  # pragma: no cover
        # LIBLINEAR's solve_l2r_l1l2_svc for the squared hinge (no upper bound on alpha), with its shrinking
        m = rows.shape[0]
        diag = 0.5 / C
        qii = np.empty(m)
        for j in range(m):
            i = rows[j]
            q = 1.0 + diag  # the bias feature, and the squared hinge's diagonal
            for p in range(nf):
                q += x[i, p] * x[i, p]
            qii[j] = q
        for k in numba.prange(n_classes):
            w = w_io[k]
            alpha = alpha_io[k]
            yi = np.empty(m)
            for j in range(m):
                yi[j] = 1.0 if labels[j] == k else -1.0
            np.random.seed(seed + k)
            order = np.arange(m)
            active = m
            pg_max_old = np.inf
            e = 0
            while e < max_epochs:
                np.random.shuffle(order[:active])
                pg_max, pg_min = -np.inf, np.inf
                t = 0
                while t < active:
                    j = order[t]
                    i = rows[j]
                    g = w[nf]
                    for p in range(nf):
                        g += w[p] * x[i, p]
                    g = yi[j] * g - 1.0 + diag * alpha[j]
                    pg = 0.0
                    if alpha[j] == 0.0:
                        if g > pg_max_old:  # at its bound and pushed outward: leave it out until the end
                            active -= 1
                            order[t], order[active] = order[active], order[t]
                            continue
                        if g < 0.0:
                            pg = g
                    else:
                        pg = g
                    pg_max, pg_min = max(pg_max, pg), min(pg_min, pg)
                    if abs(pg) > 1e-12:
                        old = alpha[j]
                        alpha[j] = max(old - g / qii[j], 0.0)
                        step = (alpha[j] - old) * yi[j]
                        for p in range(nf):
                            w[p] += step * x[i, p]
                        w[nf] += step
                    t += 1
                e += 1
                if pg_max - pg_min <= tol:
                    if active == m:
                        break
                    active = m  # converged on the active set: check every row once more
                    pg_max_old = np.inf
                    continue
                pg_max_old = pg_max if pg_max > 0 else np.inf
            epochs_out[k] = e

    @numba.njit(parallel=True, cache=True, nogil=True, fastmath=True)
    def solve_csr(indptr, indices, data, rows, labels, n_classes, nf, C, tol, max_epochs, seed, alpha_io, w_io, epochs_out):  # type: ignore[no-untyped-def]  # noqa: E501  # pragma: no cover
        # LIBLINEAR's solve_l2r_l1l2_svc for the squared hinge (no upper bound on alpha), with its shrinking
        m = rows.shape[0]
        diag = 0.5 / C
        qii = np.empty(m)
        for j in range(m):
            i = rows[j]
            q = 1.0 + diag  # the bias feature, and the squared hinge's diagonal
            for p in range(indptr[i], indptr[i + 1]):
                q += data[p] * data[p]
            qii[j] = q
        for k in numba.prange(n_classes):
            w = w_io[k]
            alpha = alpha_io[k]
            yi = np.empty(m)
            for j in range(m):
                yi[j] = 1.0 if labels[j] == k else -1.0
            np.random.seed(seed + k)
            order = np.arange(m)
            active = m
            pg_max_old = np.inf
            e = 0
            while e < max_epochs:
                np.random.shuffle(order[:active])
                pg_max, pg_min = -np.inf, np.inf
                t = 0
                while t < active:
                    j = order[t]
                    i = rows[j]
                    g = w[nf]
                    for p in range(indptr[i], indptr[i + 1]):
                        g += w[indices[p]] * data[p]
                    g = yi[j] * g - 1.0 + diag * alpha[j]
                    pg = 0.0
                    if alpha[j] == 0.0:
                        if g > pg_max_old:  # at its bound and pushed outward: leave it out until the end
                            active -= 1
                            order[t], order[active] = order[active], order[t]
                            continue
                        if g < 0.0:
                            pg = g
                    else:
                        pg = g
                    pg_max, pg_min = max(pg_max, pg), min(pg_min, pg)
                    if abs(pg) > 1e-12:
                        old = alpha[j]
                        alpha[j] = max(old - g / qii[j], 0.0)
                        step = (alpha[j] - old) * yi[j]
                        for p in range(indptr[i], indptr[i + 1]):
                            w[indices[p]] += step * data[p]
                        w[nf] += step
                    t += 1
                e += 1
                if pg_max - pg_min <= tol:
                    if active == m:
                        break
                    active = m  # converged on the active set: check every row once more
                    pg_max_old = np.inf
                    continue
                pg_max_old = pg_max if pg_max > 0 else np.inf
            epochs_out[k] = e

    _DCD["dense"] = solve_dense
    _DCD["csr"] = solve_csr
    return _DCD


def fit_ovr(x: Any, y_index: np.ndarray, n_classes: int, C: float, *, rows: np.ndarray | None = None,
            tol: float = 0.1, max_epochs: int = 1000, random_state: int = 0, solver: str = "numba",
            warm: tuple[np.ndarray, np.ndarray] | None = None,
            duals: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-vs-rest linear SVMs (squared hinge, L2, regularised bias of value 1), LIBLINEAR's problem.

    Parameters
    ----------
    x : ndarray of shape (n, D), float32, or CSR matrix
        Training rows (mapped features).
    y_index : ndarray of shape (m,), int
        Class index of each training row, in ``range(n_classes)``.
    n_classes : int
        Number of classes (>= 2).
    C : float
        Soft-margin penalty (> 0).
    rows : ndarray of shape (m,), int, or None, default None
        The rows of ``x`` to train on (None: all; no copy of ``x`` is made).
    tol : float, default=0.1
        Stop when the projected gradient's spread is below ``tol`` (LIBLINEAR's rule and default).
    max_epochs : int, default=200
        Passes over the data at most.
    random_state : int, default=0
        Seed of the visiting order (class c uses ``random_state + c``).
    solver : {'numba', 'liblinear'}, default='numba'
        The compiled dual coordinate descent (LIBLINEAR's, with its shrinking), or scikit-learn's
        ``LinearSVC`` (same objective).
    warm : tuple of ndarray or None, default None
        (duals (n_classes, m), weights (n_classes, D + 1)) to start from (numba only), e.g. the
        solution of a subset of the rows with zero duals for the others.
    duals : dict or None, default None
        Receives ``alpha`` (n_classes, m) and ``w`` (n_classes, D + 1, bias last) of the solution
        (numba only), to warm-start another fit.

    Returns
    -------
    coef : ndarray of shape (n_classes, D), float32
    intercept : ndarray of shape (n_classes,), float64
    epochs : ndarray of shape (n_classes,), int64
        Passes each class took (``max_epochs``: not converged to ``tol``).
    """
    import scipy.sparse as sp

    if not (C > 0 and math.isfinite(C)):
        raise ValueError(f"C must be a finite number > 0, got {C!r}")
    y_index = np.asarray(y_index, np.int64)
    n = x.shape[0]
    rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    if rows.shape != y_index.shape:
        raise ValueError(f"{rows.shape[0]} rows but {y_index.shape[0]} labels")
    if solver == "liblinear":
        from sklearn.svm import LinearSVC

        svc = LinearSVC(C=C, loss="squared_hinge", dual=True, tol=min(tol, 1e-3), max_iter=max(1000, max_epochs),
                        random_state=random_state)
        svc.fit(x[rows], y_index)
        coef = np.asarray(svc.coef_, np.float32)
        icpt = np.asarray(svc.intercept_, np.float64)
        if n_classes == 2:  # LinearSVC keeps one machine for two classes
            coef = np.vstack([-coef, coef])
            icpt = np.concatenate([-icpt, icpt])
        return coef, icpt, np.full(n_classes, int(svc.n_iter_), np.int64)
    if solver != "numba":
        raise ValueError(f"solver must be 'numba' or 'liblinear', got {solver!r}")
    nf = x.shape[1]
    w = np.zeros((n_classes, nf + 1))
    alpha = np.zeros((n_classes, rows.shape[0]))
    if warm is not None:  # a solution of a subset of these rows: its duals (0 elsewhere) and weights
        alpha[:] = warm[0]
        w[:] = warm[1]
    epochs = np.zeros(n_classes, np.int64)
    args = (float(C), float(tol), int(max_epochs), int(random_state), alpha, w, epochs)
    if sp.issparse(x):
        csr = sp.csr_matrix(x, dtype=np.float32)
        _dcd_kernels()["csr"](csr.indptr, csr.indices, csr.data, rows, y_index, n_classes, nf, *args)
    else:
        dense = np.require(x, np.float32, "C")
        _dcd_kernels()["dense"](dense, rows, y_index, n_classes, nf, *args)
    if duals is not None:
        duals.update(alpha=alpha, w=w)
    return np.ascontiguousarray(w[:, :nf], np.float32), np.ascontiguousarray(w[:, nf]), epochs


# ----------------------------------------------------------------------------- the classifier
class LinearMapSVC:
    """A linear one-vs-rest SVM on the explicit feature map of an additive kernel.

    The drop-in for :class:`dlfers.model.classify.KernelSVC` of ``classifier="linear"``:
    ``decision_function``, ``predict``, ``predict_proba``, ``predict_with_proba`` and a
    plain-array state, but weights only (``coef_`` (k, map_width(F)) float32,
    ``intercept_`` (k,) float64).

    Parameters
    ----------
    kernel : {'chi2', 'intersection', 'linear'}, default='chi2'
        The additive kernel whose map the rows go through ("linear": none).
    C : float, default=0.01
        Soft-margin penalty.
    probability : bool, default=False
        Calibrate probabilities: softmax(a · scores) with one temperature a > 0 fitted on
        the scores of a held-out fifth of the training set (stratified) under a model
        trained on the other four fifths (Guo et al., ICML 2017); the label never
        contradicts the probabilities.
    random_state : int, default=0
        Seed of the solver's visiting order and of the calibration split.
    steps : int, default=MAP_STEPS
        Spectrum samples of the map (:func:`additive_map`).
    solver : {'numba', 'liblinear'}, default='numba'
        See :func:`fit_ovr` (not saved: the estimator that owns the SVM sets it).
    """

    kind = "linear"

    def __init__(self, kernel: str = "chi2", C: float = 0.01, probability: bool = False, random_state: int = 0,
                 steps: int = MAP_STEPS, *, solver: str = "numba") -> None:
        self.kernel = kernel
        self.C = C
        self.probability = probability
        self.random_state = random_state
        self.steps = steps
        self.solver = solver

    def fit(self, x: Any, y: np.ndarray) -> LinearMapSVC:
        """Fit on non-negative histograms.

        Parameters
        ----------
        x : ndarray of shape (n, F), float32, or CSR matrix
            Histograms.
        y : ndarray of shape (n,)
            Labels.

        Returns
        -------
        LinearMapSVC
            self, fitted.
        """
        return self.fit_mapped(additive_map(x, self.kernel, self.steps), y, int(x.shape[1]))

    def fit_mapped(self, phi: Any, y: np.ndarray, n_features_in: int) -> LinearMapSVC:
        """Fit on histograms already mapped (:func:`additive_map` with this kernel and steps).

        Parameters
        ----------
        phi : ndarray of shape (n, map_width(F)), float32, or CSR matrix
            The mapped training rows.
        y : ndarray of shape (n,)
            Labels.
        n_features_in : int
            F, the histogram width before the map.

        Returns
        -------
        LinearMapSVC
            self, fitted.
        """
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        k = len(self.classes_)
        if k < 2:
            raise ValueError(f"need at least 2 classes to fit, got {k}")
        if phi.shape[1] != map_width(n_features_in, self.kernel, self.steps):
            raise ValueError(f"{phi.shape[1]} mapped columns do not map {n_features_in} features")
        yi = np.searchsorted(self.classes_, y)
        self.n_features_in_ = int(n_features_in)
        self.n_fit_ = int(phi.shape[0])
        warm = self._calibrate(phi, yi) if self.probability else None
        self.coef_, self.intercept_, self.n_epochs_ = fit_ovr(phi, yi, k, float(self.C), warm=warm,
                                                              random_state=int(self.random_state), solver=self.solver)
        return self

    def _calibrate(self, phi: Any, yi: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Fit the temperature; returns the held-in model's duals (0 for the held-out rows) and weights,
        from which the fit on every row starts (the same optimum, reached in a few passes)."""

        k = len(self.classes_)
        self.calib_intercept_ = np.zeros(k)
        counts = np.array([np.count_nonzero(yi == c) for c in range(k)])
        if counts.min() < 5:  # too few faces for a held-out fifth of every class
            self.calib_coef_ = np.eye(k)
            return None
        rng = np.random.default_rng(self.random_state)
        held = np.zeros(len(yi), bool)
        for c in range(k):
            idx = np.flatnonzero(yi == c)
            held[rng.choice(idx, max(1, len(idx) // 5), replace=False)] = True
        duals: dict[str, np.ndarray] = {}
        kept = np.flatnonzero(~held)
        coef, icpt, _ = fit_ovr(phi, yi[~held], k, float(self.C), rows=kept, duals=duals,
                                random_state=int(self.random_state), solver=self.solver)
        scores = np.asarray(phi[np.flatnonzero(held)] @ coef.T, np.float64) + icpt
        a = fit_temperature(scores, yi[held], (-7.0, 7.0))
        self.calib_coef_ = np.ascontiguousarray(a * np.eye(k))
        if not duals:  # liblinear: no duals to start from
            return None
        alpha = np.zeros((k, len(yi)))
        alpha[:, kept] = duals["alpha"]
        return alpha, duals["w"]

    # ----------------------------------------------------------------- prediction
    def mapped(self, x: Any) -> Any:
        """φ(x) of histograms, checked against the fitted width.

        Parameters
        ----------
        x : ndarray of shape (n, F), float32, or CSR matrix
            Histograms.

        Returns
        -------
        ndarray of shape (n, map_width(F)), float32, or CSR matrix
        """
        if x.ndim != 2 or x.shape[1] != self.n_features_in_:
            raise ValueError(f"expected (n, {self.n_features_in_}) features, got an array of shape {x.shape}")
        return additive_map(x, self.kernel, self.steps)

    def decision_function(self, x: Any) -> np.ndarray:
        """One-vs-rest scores w_c · φ(x) + b_c, summed in float64 (as the explanations).

        Parameters
        ----------
        x : ndarray of shape (n, F), float32, or CSR matrix
            Histograms.

        Returns
        -------
        ndarray of shape (n, k), float64
        """
        w = self.__dict__.get("_w64")
        if w is None or w.shape[::-1] != self.coef_.shape:
            w = self.__dict__["_w64"] = np.ascontiguousarray(self.coef_.T, np.float64)
        out = np.empty((x.shape[0], len(self.classes_)))
        for a in range(0, x.shape[0], 256):  # bounded float64 temporaries
            phi = self.mapped(x[a : a + 256])
            out[a : a + 256] = np.asarray(phi @ w if not hasattr(phi, "tocsr") else phi.tocsr() @ w) + self.intercept_
        return out

    def _top(self, scores: np.ndarray) -> np.ndarray:
        top: np.ndarray = self.classes_[np.argmax(scores, axis=1)]  # ties to the lower class index
        return top

    def _proba(self, scores: np.ndarray) -> np.ndarray:
        return calibrated_proba(self, scores)

    def predict(self, x: Any) -> np.ndarray:
        """The class of the highest score.

        Parameters
        ----------
        x : ndarray of shape (n, F), float32, or CSR matrix
            Histograms.

        Returns
        -------
        ndarray of shape (n,)
            Labels (values of ``classes_``).
        """
        return self._top(self.decision_function(x))

    def predict_proba(self, x: Any) -> np.ndarray:
        """Calibrated class probabilities.

        Parameters
        ----------
        x : ndarray of shape (n, F), float32, or CSR matrix
            Histograms.

        Returns
        -------
        ndarray of shape (n, k), float64
            Columns as ``classes_``.
        """
        return self._proba(self.decision_function(x))

    def predict_with_proba(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` and :meth:`predict_proba` from one pass.

        Parameters
        ----------
        x : ndarray of shape (n, F), float32, or CSR matrix
            Histograms.

        Returns
        -------
        labels : ndarray of shape (n,)
        probabilities : ndarray of shape (n, k), float64
        """
        s = self.decision_function(x)
        return self._top(s), self._proba(s)

    def class_evidence(self, x: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact per-group evidence: (n, G, k) float64 with Σ_g + intercept = :meth:`decision_function`.

        Parameters
        ----------
        x : ndarray of shape (n, F), float32
            Histograms.
        bounds : ndarray of shape (G + 1,), int64
            Bin bounds of the groups (regions), 0 to F.

        Returns
        -------
        evidence : ndarray of shape (n, G, k), float64
        intercept : ndarray of shape (k,), float64
        """
        x = np.asarray(x, np.float32)
        f = self.n_features_in_
        if int(bounds[-1]) != f:
            raise ValueError(f"region bounds up to {int(bounds[-1])} do not fit a model of {f} features")
        phi = np.asarray(self.mapped(x), np.float64)
        blocks = phi.shape[1] // f
        # each bin's mapped values (one per block) times its weights, summed: (n, F, k)
        contrib = sum(phi[:, None, b * f:(b + 1) * f].transpose(0, 2, 1)
                      * self.coef_[:, b * f:(b + 1) * f].T.astype(np.float64)[None] for b in range(blocks))
        ev = np.add.reduceat(contrib, bounds[:-1].astype(np.int64), axis=1)
        empty = np.diff(bounds) == 0
        if empty.any():
            ev[:, empty] = 0.0
        return ev, np.asarray(self.intercept_, np.float64)

    # ----------------------------------------------------------------- plain-array state
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able scalars and plain arrays: ``classes`` (k,), ``coef`` (k, D) float32,
        ``intercept`` (k,) float64 and, when calibrated, ``calib_coef`` (k, k), ``calib_intercept`` (k,)."""
        if not hasattr(self, "coef_"):
            raise AttributeError("LinearMapSVC is not fitted")
        meta = {"type": "linear", "kernel": self.kernel, "C": float(self.C), "probability": bool(self.probability),
                "random_state": int(self.random_state), "steps": int(self.steps),
                "n_features_in": int(self.n_features_in_), "n_fit": int(self.n_fit_)}
        arrays = {"classes": np.asarray(self.classes_), "coef": self.coef_, "intercept": self.intercept_}
        if hasattr(self, "calib_coef_"):
            arrays["calib_coef"] = self.calib_coef_
            arrays["calib_intercept"] = self.calib_intercept_
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> LinearMapSVC:
        """Rebuild a fitted classifier from :meth:`get_state` output.

        Parameters
        ----------
        meta : dict
            The JSON-able scalars.
        arrays : dict of str to ndarray
            The arrays.

        Returns
        -------
        LinearMapSVC
            The fitted classifier.

        Raises
        ------
        ValueError
            A missing entry, an unknown kernel, or arrays whose shapes, dtypes or values do not fit.
        """
        try:
            svm = cls(str(meta["kernel"]), float(meta["C"]), bool(meta["probability"]), int(meta["random_state"]),
                      int(meta["steps"]))
            f, n_fit = int(meta["n_features_in"]), int(meta["n_fit"])
            classes, coef, icpt = arrays["classes"], arrays["coef"], arrays["intercept"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"incomplete linear SVM state: {type(exc).__name__}: {exc}") from None
        if svm.kernel not in MAPS:
            raise ValueError(f"unknown feature map {svm.kernel!r}; expected one of {MAPS}")
        if svm.steps not in _INTERVAL or f < 1:
            raise ValueError(f"map steps {svm.steps} or feature count {f} out of range")
        k = classes.shape[0] if classes.ndim == 1 else -1
        width = map_width(f, svm.kernel, svm.steps)
        if k < 2:
            raise ValueError(f"classes must be a 1-D array of at least 2 labels, got shape {classes.shape}")
        if coef.shape != (k, width) or coef.dtype != np.float32:
            raise ValueError(f"coef must be ({k}, {width}) float32, got {coef.dtype}{coef.shape}")
        if icpt.shape != (k,) or icpt.dtype != np.float64:
            raise ValueError(f"intercept must be ({k},) float64, got {icpt.dtype}{icpt.shape}")
        if not (np.isfinite(coef).all() and np.isfinite(icpt).all()):
            raise ValueError("the linear SVM's weights hold NaN or infinite values")
        svm.classes_, svm.coef_, svm.intercept_ = classes, coef, icpt
        svm.n_features_in_, svm.n_fit_ = f, n_fit
        read_calibration(svm, arrays, k)
        return svm
