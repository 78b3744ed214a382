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
from libc.stdint cimport int32_t, uint8_t, uint32_t
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport sgemm

import os


cdef extern from "_q8.h" nogil:
    int DLFERS_Q8_ROWS
    uint8_t dlfers_q8_byte(float v)
    void dlfers_q8_pack(const float* x, Py_ssize_t nc, Py_ssize_t ncp, Py_ssize_t dim, uint32_t* xp, uint8_t* row)
    int dlfers_q8_path(int allow_vnni)
    void dlfers_q8_keys(int path, const uint32_t* xp, Py_ssize_t ncp, Py_ssize_t dim4, const uint8_t* cq,
                        const int32_t* csq, Py_ssize_t ndc, int32_t* g)
    int dlfers_q8_select(int path, const uint32_t* xp, Py_ssize_t ncp, Py_ssize_t dim4, const uint8_t* cq,
                         const int32_t* csq, Py_ssize_t ndc, int32_t j0, Py_ssize_t k, int32_t* topv, int32_t* topi)

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
    cdef double* ex = <double*>malloc(k * sizeof(double))
    if g == NULL or topi == NULL or ex == NULL:
        free(g)
        free(topi)
        free(ex)
        return 0
    cdef float* topv = g + cn * cd  # k rows of cn: rank-major, so each rank's update is element-wise
    cdef char ta = b'T', tb = b'N'
    cdef float alpha = -2, zero = 0
    cdef int kk = <int>dim, lda = <int>dim, ldb = <int>dim, nc, ndc
    cdef Py_ssize_t s = 0, d0, i, j
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
                _insert_column(g + j * nc, sqnorm[d0 + j], <int>(d0 + j), nc, k, topv, topi)
            d0 += ndc
        _spread(topv, topi, nc, nc, k, beta, 1.0, regions + s * nlev, nlev, idx + s * k, wout + s * k, hist,
                ncode, ex)
        s += nc
    free(g)
    free(topi)
    free(ex)
    return 1


ctypedef fused key_t:
    float
    int32_t


cdef void _spread(const key_t* topv, const int* topi, Py_ssize_t stride, Py_ssize_t nc, Py_ssize_t k, double beta,
                  double unit, const int* regions, Py_ssize_t nlev, int* idx, float* wout, float* hist,
                  Py_ssize_t ncode, double* ex) noexcept nogil:
    """Weights of each descriptor's k selected words (rank p of descriptor i at ``p * stride + i``),
    exp(-beta (key - key_0) / unit) normalised, into ``idx``/``wout`` and every region's row of
    ``hist`` (``unit`` 1: float32 squared distances; 127^2: 7-bit integer keys)."""
    cdef Py_ssize_t i, j, l
    cdef double v0, tot, e
    cdef int r, w
    cdef const int* reg
    for i in range(nc):
        v0 = <double>topv[i]
        tot = 0.0
        for j in range(k):
            ex[j] = exp(-beta * ((<double>topv[j * stride + i] - v0) / unit))
            tot += ex[j]
        reg = regions + i * nlev
        for j in range(k):
            e = ex[j] / tot
            w = topi[j * stride + i]
            idx[i * k + j] = w
            wout[i * k + j] = <float>e
            for l in range(nlev):
                r = reg[l]
                if r >= 0:
                    hist[r * ncode + w] += <float>e


cdef void _insert_column(const key_t* col, key_t c2, int jj, Py_ssize_t nc, Py_ssize_t k,
                         key_t* topv, int* topi) noexcept nogil:
    """Insert codeword ``jj`` (values c2 + col[i]: float32 distances, or int32 keys with c2 = 0)
    into every descriptor's sorted k smallest.

    ``topv``/``topi`` hold rank p of descriptor i at p * nc + i.  Rank p takes the new
    value where it is strictly smaller than the old rank p (ties keep the lower index,
    as a stable sort); it takes the old rank p - 1 where that one is larger too (the
    shift).  Ranks are updated from the last to the first, so each reads the old p - 1.
    Every loop is element-wise over descriptors with selects, so it vectorises.
    """
    cdef Py_ssize_t i, p
    cdef key_t* tv
    cdef key_t* pv
    cdef int* ti
    cdef int* pi
    cdef key_t v, a, b
    cdef int m, mp, ia, ib
    for p in range(k - 1, 0, -1):
        tv = topv + p * nc
        ti = topi + p * nc
        pv = tv - nc
        pi = ti - nc
        for i in range(nc):
            v = c2 + col[i]
            a = tv[i]
            b = pv[i]
            m = -(v < a)
            mp = -(v < b)
            # rank p: the old p - 1 if v beats it too, else v (where v beats the old p)
            b = b if mp else v
            ib = (pi[i] & mp) | (jj & ~mp)
            tv[i] = b if m else a
            ia = ti[i]
            ti[i] = (ib & m) | (ia & ~m)
    for i in range(nc):
        v = c2 + col[i]
        a = topv[i]
        m = -(v < a)
        topv[i] = v if m else a
        topi[i] = (jj & m) | (topi[i] & ~m)


# -- 7-bit word assignment (see _q8.h and _reference.encode_soft_q8) ----------------------------------

#: environment variable that keeps the int8 keys off AVX-512 VNNI (its AVX2 or plain C path instead)
Q8_NO_VNNI_ENV = "DLFERS_NO_VNNI"
_Q8_PATHS = ("sgemm", "avx2", "avx512-vnni")


def q8_path():
    """How ``encode_soft_q8`` computes its integer products here: "avx512-vnni", "avx2" or "sgemm" (float32, exact)."""
    return _Q8_PATHS[dlfers_q8_path(_allow_vnni())]


cdef int _allow_vnni():
    return 0 if os.environ.get(Q8_NO_VNNI_ENV, "") not in ("", "0") else 1


def encode_soft_q8(const float[:, ::1] x, const uint8_t[:, ::1] cq, const int32_t[::1] csq,
                   const int[:, ::1] regions, double beta, int[:, ::1] idx_out, float[:, ::1] w_out,
                   float[:, ::1] hist_out):
    """Soft assignment with 7-bit keys (``_reference.encode_soft_q8``); ``cq`` is (D, 4 * ceil(dim / 4))."""
    cdef Py_ssize_t n = x.shape[0], dim = x.shape[1], ncode = cq.shape[0], nlev = regions.shape[1]
    cdef Py_ssize_t k = idx_out.shape[1]
    if n == 0 or ncode == 0 or k == 0:
        return
    if cq.shape[1] != 4 * ((dim + 3) // 4):
        raise ValueError(f"cq must have 4 * ceil(dim / 4) = {4 * ((dim + 3) // 4)} columns, got {cq.shape[1]}")
    cdef float* hist = &hist_out[0, 0] if hist_out.shape[0] > 0 and hist_out.shape[1] > 0 else NULL
    cdef const int* reg = &regions[0, 0] if nlev > 0 else NULL
    cdef int path = dlfers_q8_path(_allow_vnni())
    cdef int ok
    with nogil:
        ok = _encode_soft_q8(path, &x[0, 0], n, dim, &cq[0, 0], ncode, &csq[0], reg, nlev, beta, k,
                             &idx_out[0, 0], &w_out[0, 0], hist)
    if not ok:
        raise MemoryError()


cdef int _encode_soft_q8(int path, const float* x, Py_ssize_t n, Py_ssize_t dim, const uint8_t* cq,
                         Py_ssize_t ncode, const int32_t* csq, const int* regions, Py_ssize_t nlev, double beta,
                         Py_ssize_t k, int* idx, float* wout, float* hist) noexcept nogil:
    cdef Py_ssize_t dim4 = (dim + 3) // 4
    cdef Py_ssize_t cd = _tile_codes(ncode)
    cdef Py_ssize_t cn = _tile_rows(n, cd)
    cn = (cn + DLFERS_Q8_ROWS - 1) // DLFERS_Q8_ROWS * DLFERS_Q8_ROWS
    cdef int32_t* g = <int32_t*>malloc((cn * cd + cn * k) * sizeof(int32_t))
    cdef int* topi = <int*>malloc(cn * k * sizeof(int))
    cdef double* ex = <double*>malloc(k * sizeof(double))
    cdef uint32_t* xp = <uint32_t*>malloc(dim4 * cn * sizeof(uint32_t))
    cdef uint8_t* row = <uint8_t*>malloc(dim4 * 4)
    if g == NULL or topi == NULL or ex == NULL or xp == NULL or row == NULL:
        free(g)
        free(topi)
        free(ex)
        free(xp)
        free(row)
        return 0
    cdef int32_t* topv = g + cn * cd  # k rows of ncp: rank-major, as _encode_soft
    cdef Py_ssize_t s = 0, d0, i, j, l, nc, ncp, ndc
    # plain C (baseline build): the integer products by sgemm on the quantised values as float32,
    # exact (every partial sum is an integer below 2^24 for dim <= 1040), so the keys are the same
    cdef float* xf = NULL
    cdef float* cf = NULL
    cdef float* gf = NULL
    if path == 0:
        xf = <float*>malloc(cn * dim * sizeof(float))
        cf = <float*>malloc(ncode * dim * sizeof(float))
        gf = <float*>malloc(cn * cd * sizeof(float))
        if xf == NULL or cf == NULL or gf == NULL:
            free(xf)
            free(cf)
            free(gf)
            free(g)
            free(topi)
            free(ex)
            free(xp)
            free(row)
            return 0
        for j in range(ncode):
            for l in range(dim):
                cf[j * dim + l] = <float>cq[j * dim4 * 4 + l]
    cdef char ta = b'T', tb = b'N'
    cdef float one = 1, zero = 0
    cdef int kk = <int>dim, lda = <int>dim, ldb = <int>dim, inc, indc, ldc
    while s < n:
        nc = cn if s + cn <= n else n - s
        ncp = (nc + DLFERS_Q8_ROWS - 1) // DLFERS_Q8_ROWS * DLFERS_Q8_ROWS
        if path == 0:
            _quantise_rows(x + s * dim, nc, dim, xf)
        else:
            dlfers_q8_pack(x + s * dim, nc, ncp, dim, xp, row)
        for i in range(ncp * k):
            topv[i] = 2147483647
            topi[i] = -1
        d0 = 0
        while d0 < ncode:
            ndc = cd if d0 + cd <= ncode else ncode - d0
            if path == 0:
                inc, indc, ldc = <int>nc, <int>ndc, <int>ncp
                sgemm(&ta, &tb, &inc, &indc, &kk, &one, xf, &lda, cf + d0 * dim, &ldb, &zero, gf, &ldc)
                for j in range(ndc):
                    for i in range(nc):
                        g[j * ncp + i] = csq[d0 + j] - 2 * <int32_t>gf[j * ncp + i]
                    for i in range(nc, ncp):
                        g[j * ncp + i] = csq[d0 + j]
            elif dlfers_q8_select(path, xp, ncp, dim4, cq + d0 * dim4 * 4, csq + d0, ndc, <int32_t>d0, k,
                                  topv, <int32_t*>topi):
                d0 += ndc  # keys and selection fused in registers (VNNI), same result
                continue
            else:
                dlfers_q8_keys(path, xp, ncp, dim4, cq + d0 * dim4 * 4, csq + d0, ndc, g)
            for j in range(ndc):
                _insert_column(g + j * ncp, 0, <int>(d0 + j), ncp, k, topv, topi)
            d0 += ndc
        # a key difference is a squared distance in units of 1/127^2
        _spread(topv, topi, ncp, nc, k, beta, 16129.0, regions + s * nlev, nlev, idx + s * k, wout + s * k, hist,
                ncode, ex)
        s += nc
    free(g)
    free(topi)
    free(ex)
    free(xp)
    free(row)
    free(xf)
    free(cf)
    free(gf)
    return 1


cdef void _quantise_rows(const float* x, Py_ssize_t nc, Py_ssize_t dim, float* out) noexcept nogil:
    """``_reference.quantise_q8`` of nc rows, as float32 integers (the plain C path's sgemm input)."""
    cdef Py_ssize_t i
    for i in range(nc * dim):
        out[i] = <float>dlfers_q8_byte(x[i])
