"""SVM classification of SPOF histograms and TISF/TIPM fusion (paper Sec. 3.3, Eq. 9-10).

LIBSVM (scikit-learn's ``SVC``) with a linear, RBF, χ² or histogram-intersection
kernel.  Non-linear histogram kernels are given to LIBSVM as precomputed Gram
matrices; the fitted model keeps only its support vectors, so prediction costs
one kernel row per support vector.
"""

from __future__ import annotations

import numpy as np

__all__ = ["KERNELS", "kernel_matrix", "KernelSVC"]

KERNELS = ("linear", "rbf", "chi2", "intersection")


def kernel_matrix(a: np.ndarray, b: np.ndarray, kernel: str, gamma: float) -> np.ndarray:
    """Gram matrix K(a_i, b_j): (n_a, n_b) float64.

    chi2: exp(-γ Σ (a−b)²/(a+b)); intersection: Σ min(a, b); rbf: exp(-γ‖a−b‖²).
    """
    if kernel == "chi2":
        from ._chi2 import chi2_distances

        return np.exp(-gamma * chi2_distances(a, b))
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if kernel == "linear":
        return a @ b.T
    if kernel == "rbf":
        d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
        return np.exp(-gamma * np.maximum(d, 0))
    if kernel == "intersection":
        out = np.empty((a.shape[0], b.shape[0]))
        for i in range(a.shape[0]):
            out[i] = np.minimum(a[i][None, :], b).sum(1)
        return out
    raise ValueError(f"unknown kernel {kernel!r}; expected one of {KERNELS}")


def _inverse_mean(dist: np.ndarray) -> float:
    """1 / mean off-diagonal distance (1.0 for fewer than two samples or all zero)."""
    if dist.shape[0] < 2:
        return 1.0
    m = float(dist[np.triu_indices_from(dist, 1)].mean())
    return 1.0 / m if m > 0 else 1.0


class KernelSVC:
    """A LIBSVM classifier over a precomputed kernel that keeps its support vectors.

    Parameters
    ----------
    kernel : one of :data:`KERNELS`.
    C : soft-margin penalty.
    gamma : kernel width for rbf and chi2; None uses 1 / mean training distance.
    probability : calibrate class probabilities: a multinomial logistic regression
        on out-of-fold decision values (3-fold inside the training set), stored as
        ``calib_coef_`` (n_classes, n_classes) and ``calib_intercept_`` (n_classes,).
    """

    def __init__(self, kernel: str = "chi2", C: float = 10.0, gamma: float | None = None,
                 probability: bool = False, random_state: int = 0) -> None:
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.probability = probability
        self.random_state = random_state

    def fit(self, x: np.ndarray, y: np.ndarray) -> KernelSVC:
        from sklearn.svm import SVC

        if self.kernel not in KERNELS:
            raise ValueError(f"unknown kernel {self.kernel!r}; expected one of {KERNELS}")
        x = np.asarray(x, np.float32)
        if self.kernel == "chi2":  # one distance matrix for both the width and the Gram matrix
            from ._chi2 import chi2_distances

            dist = chi2_distances(x, x)
            self.gamma_ = float(self.gamma) if self.gamma is not None else _inverse_mean(dist)
            gram = np.exp(-self.gamma_ * dist)
        else:
            self.gamma_ = float(self.gamma) if self.gamma is not None else self._auto_gamma(x)
            gram = kernel_matrix(x, x, self.kernel, self.gamma_)
        self.svc_ = SVC(kernel="precomputed", C=self.C)
        self.svc_.fit(gram, y)
        self.classes_ = self.svc_.classes_
        self.n_fit_ = x.shape[0]
        self.support_vectors_ = x[self.svc_.support_]
        if self.probability:
            self._calibrate(gram, np.asarray(y))
        return self

    def _calibrate(self, gram: np.ndarray, y: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold
        from sklearn.svm import SVC

        k = len(self.classes_)
        n_splits = min(3, int(np.unique(y, return_counts=True)[1].min()))
        if n_splits < 2:  # too few samples per class: plain softmax of decision values
            self.calib_coef_ = np.eye(k)
            self.calib_intercept_ = np.zeros(k)
            return
        oof = np.zeros((len(y), k))
        cv = StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state)
        for tr, te in cv.split(gram, y):
            s = SVC(kernel="precomputed", C=self.C).fit(gram[np.ix_(tr, tr)], y[tr])
            dec = s.decision_function(gram[np.ix_(te, tr)])
            if dec.ndim == 1:  # binary: one decision value for the second class
                dec = np.stack([-dec, dec], axis=1)
            oof[np.ix_(te, np.searchsorted(self.classes_, s.classes_))] = dec
        lr = LogisticRegression(C=1.0, max_iter=1000).fit(oof, y)
        coef, icpt = lr.coef_.astype(np.float64), lr.intercept_.astype(np.float64)
        if coef.shape[0] == 1:  # binary: softmax of (0, s) is the logistic probability of class 1
            coef = np.vstack([np.zeros_like(coef), coef])
            icpt = np.concatenate([[0.0], icpt])
        self.calib_coef_ = coef
        self.calib_intercept_ = icpt

    def _auto_gamma(self, x: np.ndarray) -> float:
        if self.kernel != "rbf":
            return 1.0
        x = x.astype(np.float64)
        sq = (x * x).sum(1)
        return _inverse_mean(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0))

    def _gram(self, x: np.ndarray) -> np.ndarray:
        k = kernel_matrix(np.asarray(x, np.float32), self.support_vectors_, self.kernel, self.gamma_)
        full = np.zeros((k.shape[0], self.n_fit_))
        full[:, self.svc_.support_] = k
        return full

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """One-vs-rest decision values (n, n_classes) (two columns ±d for two classes)."""
        d = self.svc_.decision_function(self._gram(x))
        return np.stack([-d, d], axis=1) if d.ndim == 1 else d

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.svc_.predict(self._gram(x))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities (n, n_classes); columns as ``classes_``."""
        if not hasattr(self, "calib_coef_"):
            raise AttributeError("predict_proba needs probability=True at fit time")
        z = self.decision_function(x) @ self.calib_coef_.T + self.calib_intercept_
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
