# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernel: χ² distances between histogram sets, d(a_i, b_j) = Σ_k (a_ik − b_jk)² / (a_ik + b_jk).

Same name, arguments and in-place output as ``_reference.chi2``: each term in float32,
terms with a_ik + b_jk <= 0 count 0, summed in float64 in k order (no fast-math: the
sum is the reference's to the last bit).  The innermost loop runs over the rows of ``b``
(a transposed copy, so it is contiguous): the (i, j) sums are independent, so the
compiler vectorises it without reordering any sum.
"""

import numpy as np


def chi2(const float[:, ::1] a, const float[:, ::1] b, double[:, ::1] out):
    """out[i, j] = χ² distance between rows a[i] (n_a, F) and b[j] (n_b, F)."""
    cdef Py_ssize_t na = a.shape[0], nb = b.shape[0], dim = a.shape[1], i, j, k
    out[:, :] = 0
    if na == 0 or nb == 0 or dim == 0:
        return
    cdef const float[:, ::1] bt = np.ascontiguousarray(np.asarray(b).T)
    cdef float aik, s, d
    cdef double* row
    cdef const float* col
    with nogil:
        for i in range(na):
            row = &out[i, 0]
            for k in range(dim):
                aik = a[i, k]
                col = &bt[k, 0]
                for j in range(nb):
                    s = aik + col[j]
                    d = aik - col[j]
                    row[j] += <double>(d * d / s) if s > 0 else 0.0
