# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernel: histogram-intersection Gram rows, K(a_i, b_j) = Σ_d min(a_id, b_jd).

Same name, arguments and in-place output as ``_reference.intersection``.  The float32
minima are summed in float64 in eight interleaved partial sums (AVX, SSE2 or NEON
vectors of doubles; see ``_isect.h``), so a score equals any other float64 sum of the
same minima to rounding in the last bits.  No temporary (n_a, n_b, dim) array is formed: one SVM prediction reads
each support vector once, at close to the machine's streaming read bandwidth.

``region_sums`` (explanations, :mod:`dlfers.explain`) keeps one float64 accumulator per
region of bins instead of one per pair: same name, arguments and bits as
``_reference.region_sums``.
"""

cdef extern from "_isect.h" nogil:
    double isect_row(const float* x, const float* y, Py_ssize_t dim)
    void isect_rows4(const float* x, const float** y, Py_ssize_t dim, double* out)


def intersection(const float[:, ::1] a, const float[:, ::1] b, double[:, ::1] out):
    """out[i, j] = Σ_d min(a[i, d], b[j, d]) for (n_a, dim) ``a`` and (n_b, dim) ``b``."""
    cdef Py_ssize_t na = a.shape[0], nb = b.shape[0], dim = a.shape[1], i, j, r
    cdef const float* ys[4]
    cdef double four[4]
    if na == 0 or nb == 0:
        return
    if dim == 0:
        out[:, :] = 0
        return
    with nogil:
        for i in range(na):
            j = 0
            while j + 4 <= nb:  # four rows of b at a time (independent chains, same bits)
                for r in range(4):
                    ys[r] = &b[j + r, 0]
                isect_rows4(&a[i, 0], ys, dim, four)
                for r in range(4):
                    out[i, j + r] = four[r]
                j += 4
            while j < nb:
                out[i, j] = isect_row(&a[i, 0], &b[j, 0], dim)
                j += 1


cdef inline double _term(float u, float v, int op) noexcept nogil:
    cdef float s, d
    if op == 0:
        return <double>(u if u < v else v)
    if op == 1:
        s = u + v
        if s > 0:
            d = u - v
            return <double>(d * d / s)
        return 0.0
    return <double>u * <double>v


def region_sums(const float[:, ::1] a, const float[:, ::1] b, const long long[::1] bounds, int op,
                double[:, :, ::1] out):
    """out[i, j, g] = Σ over bins bounds[g]:bounds[g+1] of the term of ``op`` (0 min, 1 χ², 2 product).

    Four rows of ``b`` at a time, each with its own accumulator (four independent chains of
    float64 additions); every sum is still added in bin order, as the reference adds it.
    """
    cdef Py_ssize_t na = a.shape[0], nb = b.shape[0], ng = bounds.shape[0] - 1, i, j, g, k, lo, hi
    cdef const float* x
    cdef const float* y0
    cdef const float* y1
    cdef const float* y2
    cdef const float* y3
    cdef float u
    cdef double c0, c1, c2, c3
    if ng <= 0 or na == 0 or nb == 0 or a.shape[1] == 0:
        out[:, :, :] = 0
        return
    with nogil:
        for i in range(na):
            x = &a[i, 0]
            j = 0
            while j + 4 <= nb:
                y0 = &b[j, 0]
                y1 = &b[j + 1, 0]
                y2 = &b[j + 2, 0]
                y3 = &b[j + 3, 0]
                for g in range(ng):
                    lo = bounds[g]
                    hi = bounds[g + 1]
                    c0 = c1 = c2 = c3 = 0.0
                    for k in range(lo, hi):
                        u = x[k]
                        c0 += _term(u, y0[k], op)
                        c1 += _term(u, y1[k], op)
                        c2 += _term(u, y2[k], op)
                        c3 += _term(u, y3[k], op)
                    out[i, j, g] = c0
                    out[i, j + 1, g] = c1
                    out[i, j + 2, g] = c2
                    out[i, j + 3, g] = c3
                j += 4
            while j < nb:
                y0 = &b[j, 0]
                for g in range(ng):
                    c0 = 0.0
                    for k in range(bounds[g], bounds[g + 1]):
                        c0 += _term(x[k], y0[k], op)
                    out[i, j, g] = c0
                j += 1
