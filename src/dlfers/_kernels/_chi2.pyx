# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernel: χ² distances between histogram sets, d(a_i, b_j) = Σ_k (a_ik − b_jk)² / (a_ik + b_jk).

Same name, arguments and in-place output as ``_reference.chi2``: each term in float32,
terms with a_ik + b_jk <= 0 count 0, summed in float64 in k order (no fast-math: the
sum is the reference's to the last bit).
"""


def chi2(const float[:, ::1] a, const float[:, ::1] b, double[:, ::1] out):
    """out[i, j] = χ² distance between rows a[i] (n_a, F) and b[j] (n_b, F)."""
    cdef Py_ssize_t na = a.shape[0], nb = b.shape[0], dim = a.shape[1], i, j, k
    cdef float d, s, t
    cdef double acc
    with nogil:
        for i in range(na):
            for j in range(nb):
                acc = 0.0
                for k in range(dim):
                    s = a[i, k] + b[j, k]
                    if s > 0:
                        d = a[i, k] - b[j, k]
                        t = d * d / s
                        acc += <double>t
                out[i, j] = acc
