# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernel: uniform-LBP counts per region of an image's interior pixels.

Same name, arguments and in-place output as ``_reference_lbp.lbp_histograms``: bit k of a
pixel's pattern is set where its k-th neighbour on the unit circle (counter-clockwise from
the right; the diagonal ones bilinearly interpolated in double precision, exactly as
scikit-image's ``local_binary_pattern(img, 8, 1)``) is >= the pixel, and the pattern's
uniform bin (``_reference_lbp.LBP_UNIFORM``) is counted in the pixel's cell.
"""

from libc.math cimport floor
from libc.stdlib cimport calloc, free, malloc

from dlfers._kernels._reference_lbp import LBP_DX, LBP_UNIFORM

# the definitions' own values: the uniform bins of the 256 patterns, and the diagonal
# neighbours' offset t (0.70711, as scikit-image rounds it)
cdef unsigned char _UNIFORM[256]
cdef double _T = float(LBP_DX[1])
for _p in range(256):
    _UNIFORM[_p] = LBP_UNIFORM[_p]
del _p


cdef extern from "_lbp.h" nogil:
    void dlfers_lbp_row(const float* r0, const float* r1, const float* r2, const double* lw, const double* lv,
                        const double* rw, const double* rv, double rm, double vm, double rp, double vp,
                        Py_ssize_t w, int* codes)


def lbp_histograms(const float[:, ::1] img, const int[::1] cells, float[:, ::1] out):
    """Add the uniform-LBP counts of the (H-2)·(W-2) interior pixels of ``img`` to the rows of ``out``
    (C, 59) named by ``cells`` ((H-2)·(W-2),) (-1: none)."""
    cdef Py_ssize_t h = img.shape[0], w = img.shape[1], n = out.shape[0] * 59, y, x, i
    cdef const float* r0
    cdef const float* r1
    cdef const float* r2
    cdef const int* cp
    cdef double t = _T, rm, rp, vm, vp
    cdef int r
    cdef int* codes
    cdef double* cw
    cdef double* lv
    cdef double* lw
    cdef double* rv
    cdef double* rw
    cdef unsigned int* counts
    if h < 3 or w < 3 or n == 0:
        return
    # four interleaved copies of the counts, so that runs of one pattern in one cell (flat
    # skin) do not wait on the previous increment of the same counter
    counts = <unsigned int*>calloc(4 * n, sizeof(unsigned int))
    codes = <int*>malloc(w * sizeof(int))
    cw = <double*>malloc(4 * w * sizeof(double))  # per column: the weights dc, 1 - dc left (x - t), right (x + t)
    if counts == NULL or codes == NULL or cw == NULL:
        free(counts)
        free(codes)
        free(cw)
        raise MemoryError()
    lv, lw, rv, rw = cw, cw + w, cw + 2 * w, cw + 3 * w
    with nogil:
        for x in range(1, w - 1):
            lw[x] = (x - t) - floor(x - t)
            lv[x] = 1 - lw[x]
            rw[x] = (x + t) - floor(x + t)
            rv[x] = 1 - rw[x]
        for y in range(1, h - 1):
            r0 = &img[y - 1, 0]
            r1 = &img[y, 0]
            r2 = &img[y + 1, 0]
            rm = (y - t) - floor(y - t)  # the row weight of the neighbours above (y - t) and below (y + t)
            rp = (y + t) - floor(y + t)
            vm = 1 - rm
            vp = 1 - rp
            dlfers_lbp_row(r0, r1, r2, lw, lv, rw, rv, rm, vm, rp, vp, w, codes)
            cp = &cells[(y - 1) * (w - 2) - 1]
            for x in range(1, w - 1):
                r = cp[x]
                if r >= 0:
                    counts[(x & 3) * n + r * 59 + _UNIFORM[codes[x]]] += 1
        for i in range(n):
            out[i // 59, i % 59] += <float>(counts[i] + counts[n + i] + counts[2 * n + i] + counts[3 * n + i])
    free(counts)
    free(codes)
    free(cw)
