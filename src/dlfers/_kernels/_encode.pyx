# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernel: nearest codeword and per-region word counts (BLAS sgemm on tiles).

Same name, arguments and in-place outputs as ``_reference.encode``.  The N x D matrix
of ``-2 x·c`` is never formed: it is computed in tiles of at most TILE_CODES codewords
by as many descriptors as fit in TILE_BYTES (half of the 512 KiB L2 per core of the
machine it was tuned on, so that the tile, the packed BLAS panels and the running
minima stay in L2).  Each tile is one ``sgemm``, laid out descriptor-fastest, so that
the update of every descriptor's running minimum of ‖c‖² − 2 x·c is an element-wise
loop that the compiler vectorises.  Codewords are visited in increasing order and only
a strictly smaller value replaces the minimum, so ties go to the lowest index, as
NumPy's argmin and scikit-learn's Lloyd kernel.  Each dot product is the sgemm
kernel's in-order sum over the dimensions, as in NumPy's ``x @ codebook.T``, and
alpha = -2 is a power of two (no extra rounding), so the labels equal the reference's
(the tests check this exactly, ties included).
"""

from libc.math cimport INFINITY, exp
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport sgemm

#: bytes of one tile of -2 x·c (float32)
cdef Py_ssize_t TILE_BYTES = 262144
#: most codewords in one tile: square-ish tiles re-pack each operand fewest times
cdef Py_ssize_t TILE_CODES = 256


def encode(const float[:, ::1] x, const float[:, ::1] codebook, const float[::1] code_sqnorm,
           const int[:, ::1] regions, int[::1] labels_out, float[:, ::1] hist_out):
    """Nearest codeword of every row of ``x`` into ``labels_out``; counts added to ``hist_out``."""
    cdef Py_ssize_t n = x.shape[0], dim = x.shape[1], ncode = codebook.shape[0], nlev = regions.shape[1]
    if n == 0 or ncode == 0:
        return
    cdef float* hist = &hist_out[0, 0] if hist_out.shape[0] > 0 and hist_out.shape[1] > 0 else NULL
    cdef const int* reg = &regions[0, 0] if nlev > 0 else NULL
    cdef int ok
    with nogil:
        ok = _encode(&x[0, 0], n, dim, &codebook[0, 0], ncode, &code_sqnorm[0], reg, nlev,
                     &labels_out[0], hist)
    if not ok:
        raise MemoryError()


cdef inline Py_ssize_t _tile_codes(Py_ssize_t ncode) noexcept nogil:
    """Codewords in one tile."""
    return ncode if ncode < TILE_CODES else TILE_CODES


cdef inline Py_ssize_t _tile_rows(Py_ssize_t n, Py_ssize_t cd) noexcept nogil:
    """Descriptors in one tile of ``cd`` codewords: the tile fits in TILE_BYTES (at least 1, at most n)."""
    cdef Py_ssize_t cn = TILE_BYTES // <Py_ssize_t>(cd * sizeof(float))
    if cn < 1:
        cn = 1
    return cn if cn < n else n


cdef int _encode(const float* x, Py_ssize_t n, Py_ssize_t dim, const float* codebook, Py_ssize_t ncode,
                 const float* sqnorm, const int* regions, Py_ssize_t nlev, int* labels,
                 float* hist) noexcept nogil:
    cdef Py_ssize_t cd = _tile_codes(ncode)
    cdef Py_ssize_t cn = _tile_rows(n, cd)
    cdef float* g = <float*>malloc((cn * cd + cn) * sizeof(float))
    cdef int* best = <int*>malloc(cn * sizeof(int))
    if g == NULL or best == NULL:
        free(g)
        free(best)
        return 0
    cdef float* bestv = g + cn * cd
    cdef char ta = b'T', tb = b'N'
    cdef float alpha = -2, beta = 0
    cdef int k = <int>dim, lda = <int>dim, ldb = <int>dim, nc, ndc
    cdef Py_ssize_t s = 0, d0, i, l
    cdef const int* reg
    cdef int r, w
    while s < n:
        nc = <int>(cn if s + cn <= n else n - s)
        d0 = 0
        while d0 < ncode:
            ndc = <int>(cd if d0 + cd <= ncode else ncode - d0)
            # column-major G (nc x ndc) = -2 X[s:s+nc] · C[d0:d0+ndc]ᵀ, descriptor index fastest
            sgemm(&ta, &tb, &nc, &ndc, &k, &alpha, <float*>(x + s * dim), &lda,
                  <float*>(codebook + d0 * dim), &ldb, &beta, g, &nc)
            _update_min(g, nc, ndc, sqnorm + d0, <int>d0, bestv, best)
            d0 += ndc
        for i in range(nc):
            w = best[i]
            labels[s + i] = w
            reg = regions + (s + i) * nlev
            for l in range(nlev):
                r = reg[l]
                if r >= 0:
                    hist[r * ncode + w] += 1
        s += nc
    free(g)
    free(best)
    return 1


cdef void _update_min(const float* g, Py_ssize_t nc, Py_ssize_t ndc, const float* sqnorm, int d0,
                      float* bestv, int* best) noexcept nogil:
    """Running minimum over codewords d0 .. d0 + ndc - 1 of ‖c‖² + g for nc descriptors.

    Every loop is element-wise over descriptors with selects, so it vectorises; the
    first tile (d0 == 0) initialises the minima with codeword 0.
    """
    cdef Py_ssize_t i, j, j0 = 0
    cdef const float* col
    cdef float v, c2, bv
    cdef int jj, bi, lt
    if d0 == 0:
        c2 = sqnorm[0]
        for i in range(nc):
            bestv[i] = c2 + g[i]
            best[i] = 0
        j0 = 1
    for j in range(j0, ndc):
        c2 = sqnorm[j]
        col = g + j * nc
        jj = d0 + <int>j
        for i in range(nc):
            v = c2 + col[i]
            bv = bestv[i]
            bi = best[i]
            lt = -(v < bv)  # all bits set where v is smaller (an int mask: vectorises)
            bestv[i] = v if lt else bv
            best[i] = (jj & lt) | (bi & ~lt)


def encode_soft(const float[:, ::1] x, const float[:, ::1] codebook, const float[::1] code_sqnorm,
                const int[:, ::1] regions, double beta, int[:, ::1] idx_out, float[:, ::1] w_out,
                float[:, ::1] hist_out):
    """Soft assignment to the k = ``idx_out.shape[1]`` nearest codewords (``_reference.encode_soft``)."""
    cdef Py_ssize_t n = x.shape[0], dim = x.shape[1], ncode = codebook.shape[0], nlev = regions.shape[1]
    cdef Py_ssize_t k = idx_out.shape[1]
    if n == 0 or ncode == 0 or k == 0:
        return
    cdef float* hist = &hist_out[0, 0] if hist_out.shape[0] > 0 and hist_out.shape[1] > 0 else NULL
    cdef const int* reg = &regions[0, 0] if nlev > 0 else NULL
    cdef int ok
    with nogil:
        ok = _encode_soft(&x[0, 0], n, dim, &codebook[0, 0], ncode, &code_sqnorm[0], reg, nlev, beta, k,
                          &idx_out[0, 0], &w_out[0, 0], hist)
    if not ok:
        raise MemoryError()


cdef int _encode_soft(const float* x, Py_ssize_t n, Py_ssize_t dim, const float* codebook, Py_ssize_t ncode,
                      const float* sqnorm, const int* regions, Py_ssize_t nlev, double beta, Py_ssize_t k,
                      int* idx, float* wout, float* hist) noexcept nogil:
    cdef Py_ssize_t cd = _tile_codes(ncode)
    cdef Py_ssize_t cn = _tile_rows(n, cd)
    cdef float* g = <float*>malloc((cn * cd + cn * k) * sizeof(float))
    cdef int* topi = <int*>malloc(cn * k * sizeof(int))
    if g == NULL or topi == NULL:
        free(g)
        free(topi)
        return 0
    cdef float* topv = g + cn * cd
    cdef char ta = b'T', tb = b'N'
    cdef float alpha = -2, zero = 0
    cdef int kk = <int>dim, lda = <int>dim, ldb = <int>dim, nc, ndc
    cdef Py_ssize_t s = 0, d0, i, j, l, p, b
    cdef const float* col
    cdef float v, c2
    cdef double v0, tot, e
    cdef int r, jj, w
    cdef const int* reg
    while s < n:
        nc = <int>(cn if s + cn <= n else n - s)
        for i in range(nc * k):
            topv[i] = INFINITY
            topi[i] = -1
        d0 = 0
        while d0 < ncode:
            ndc = <int>(cd if d0 + cd <= ncode else ncode - d0)
            sgemm(&ta, &tb, &nc, &ndc, &kk, &alpha, <float*>(x + s * dim), &lda,
                  <float*>(codebook + d0 * dim), &ldb, &zero, g, &nc)
            for j in range(ndc):
                c2 = sqnorm[d0 + j]
                col = g + j * nc
                jj = <int>(d0 + j)
                for i in range(nc):
                    v = c2 + col[i]
                    b = i * k
                    if v < topv[b + k - 1]:
                        p = k - 1
                        while p > 0 and topv[b + p - 1] > v:
                            topv[b + p] = topv[b + p - 1]
                            topi[b + p] = topi[b + p - 1]
                            p -= 1
                        topv[b + p] = v
                        topi[b + p] = jj
            d0 += ndc
        for i in range(nc):
            b = i * k
            v0 = <double>topv[b]
            tot = 0.0
            for j in range(k):
                tot += exp(-beta * (<double>topv[b + j] - v0))
            reg = regions + (s + i) * nlev
            for j in range(k):
                e = exp(-beta * (<double>topv[b + j] - v0)) / tot
                w = topi[b + j]
                idx[(s + i) * k + j] = w
                wout[(s + i) * k + j] = <float>e
                for l in range(nlev):
                    r = reg[l]
                    if r >= 0:
                        hist[r * ncode + w] += <float>e
        s += nc
    free(g)
    free(topi)
    return 1
