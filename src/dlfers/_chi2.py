"""χ² distances between histogram sets, the inner loop of the χ² SVM kernel.

d(a, b) = Σ_k (a_k − b_k)² / (a_k + b_k), terms with a_k + b_k = 0 count 0.
Numba (compiled on first use) when available, else a chunked NumPy version.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["chi2_distances"]

_numba_fn: Any = None


def _numpy_chi2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty((a.shape[0], b.shape[0]), np.float64)
    for i in range(a.shape[0]):
        s = a[i][None, :] + b
        d = a[i][None, :] - b
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(s > 0, d * d / np.where(s > 0, s, 1), 0)
        out[i] = t.sum(1, dtype=np.float64)
    return out


def _get_numba() -> Any:
    global _numba_fn
    if _numba_fn is None:
        try:
            import numba

            # branch-free so that it vectorises: a + b = 0 implies a − b = 0, and 0 / tiny = 0
            @numba.njit(cache=True, nogil=True, fastmath=True)
            def _chi2(a, b, out):  # type: ignore[no-untyped-def]
                tiny = np.float32(1e-30)
                for i in range(a.shape[0]):
                    for j in range(b.shape[0]):
                        acc = np.float32(0.0)
                        for k in range(a.shape[1]):
                            d = a[i, k] - b[j, k]
                            acc += d * d / (a[i, k] + b[j, k] + tiny)
                        out[i, j] = acc

            _numba_fn = _chi2
        except ImportError:
            _numba_fn = False
    return _numba_fn


def chi2_distances(a: np.ndarray, b: np.ndarray, backend: str = "auto") -> np.ndarray:
    """χ² distances (n_a, n_b) float64 between rows of non-negative (n_a, F), (n_b, F)."""
    a = np.ascontiguousarray(a, np.float32)
    b = np.ascontiguousarray(b, np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected (n, F) and (m, F) arrays, got {a.shape} and {b.shape}")
    fn: Any = _get_numba() if backend != "numpy" else False
    if not fn:
        return _numpy_chi2(a, b)
    out = np.empty((a.shape[0], b.shape[0]), np.float64)
    fn(a, b, out)
    return out
