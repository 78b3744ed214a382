# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernel: histogram-intersection Gram rows, K(a_i, b_j) = Σ_d min(a_id, b_jd).

Same name, arguments and in-place output as ``_reference.intersection``.  The minima
are summed in float32 over blocks of 512 dimensions in eight interleaved partial
sums (two SSE or NEON vectors; see ``_isect.h``), and the block sums are added in
float64.  No temporary (n_a, n_b, dim) array is formed: one SVM prediction reads
each support vector once, at close to the machine's streaming read bandwidth.

``region_sums`` (explanations, :mod:`dlfers.explain`) keeps one float64 accumulator per
region of bins instead of one per pair: same name, arguments and bits as
``_reference.region_sums``.
"""

cdef extern from "_isect.h" nogil:
    double isect_row(const float* x, const float* y, Py_ssize_t dim)


def intersection(const float[:, ::1] a, const float[:, ::1] b, double[:, ::1] out):
    """out[i, j] = Σ_d min(a[i, d], b[j, d]) for (n_a, dim) ``a`` and (n_b, dim) ``b``."""
    cdef Py_ssize_t na = a.shape[0], nb = b.shape[0], dim = a.shape[1], i, j
    if na == 0 or nb == 0:
        return
    if dim == 0:
        out[:, :] = 0
        return
    with nogil:
        for i in range(na):
            for j in range(nb):
                out[i, j] = isect_row(&a[i, 0], &b[j, 0], dim)


def region_sums(const float[:, ::1] a, const float[:, ::1] b, const long long[::1] bounds, int op,
                double[:, :, ::1] out):
    """out[i, j, g] = Σ over bins bounds[g]:bounds[g+1] of the term of ``op`` (0 min, 1 χ², 2 product)."""
    cdef Py_ssize_t na = a.shape[0], nb = b.shape[0], ng = bounds.shape[0] - 1, i, j, g, k
    cdef const float* x
    cdef const float* y
    cdef float u, v, s, d
    cdef double acc
    if ng <= 0:
        return
    with nogil:
        for i in range(na):
            x = &a[i, 0] if a.shape[1] > 0 else NULL
            for j in range(nb):
                y = &b[j, 0] if b.shape[1] > 0 else NULL
                for g in range(ng):
                    acc = 0.0
                    if op == 0:
                        for k in range(bounds[g], bounds[g + 1]):
                            u = x[k]
                            v = y[k]
                            acc += <double>(u if u < v else v)
                    elif op == 1:
                        for k in range(bounds[g], bounds[g + 1]):
                            u = x[k]
                            v = y[k]
                            s = u + v
                            if s > 0:
                                d = u - v
                                acc += <double>(d * d / s)
                    else:
                        for k in range(bounds[g], bounds[g + 1]):
                            acc += <double>x[k] * <double>y[k]
                    out[i, j, g] = acc
