# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernel: nearest codeword and per-region word counts (BLAS sgemm on chunks).

Same name, arguments and in-place outputs as ``_reference.encode``.  Descriptors are
processed in chunks whose chunk x D float32 block of ``-2 x·c`` fits in L2 cache; each
chunk is one ``sgemm`` followed, in the same pass, by the per-row argmin of
‖c‖² − 2 x·c (ties to the lowest index, as NumPy's argmin and scikit-learn's Lloyd
kernel) and the histogram update.
"""

from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport sgemm

# bytes of the per-chunk distance block (chunk x D float32): a quarter of a 1 MiB L2
cdef Py_ssize_t BLOCK_BYTES = 262144


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


cdef int _encode(const float* x, Py_ssize_t n, Py_ssize_t dim, const float* codebook, Py_ssize_t ncode,
                 const float* sqnorm, const int* regions, Py_ssize_t nlev, int* labels,
                 float* hist) noexcept nogil:
    cdef Py_ssize_t chunk = BLOCK_BYTES // (ncode * sizeof(float))
    if chunk < 1:
        chunk = 1
    if chunk > n:
        chunk = n
    cdef float* g = <float*>malloc(chunk * ncode * sizeof(float))
    if g == NULL:
        return 0
    cdef char ta = b'T', tb = b'N'
    cdef float alpha = -2, beta = 0
    cdef int m = <int>ncode, k = <int>dim, lda = <int>dim, ldb = <int>dim, ldc = <int>ncode, nc
    cdef Py_ssize_t s, i, j, l, best
    cdef float bestv, v
    cdef const float* row
    cdef const int* reg
    cdef int r
    s = 0
    while s < n:
        nc = <int>(chunk if s + chunk <= n else n - s)
        # column-major view: G (D x nc) = C (dim x D)^T · X (dim x nc), i.e. row-major (nc, D) = -2 X Cᵀ
        sgemm(&ta, &tb, &m, &nc, &k, &alpha, <float*>codebook, &lda, <float*>(x + s * dim), &ldb,
              &beta, g, &ldc)
        for i in range(nc):
            row = g + i * ncode
            best = 0
            bestv = sqnorm[0] + row[0]
            for j in range(1, ncode):
                v = sqnorm[j] + row[j]
                if v < bestv:
                    bestv = v
                    best = j
            labels[s + i] = <int>best
            reg = regions + (s + i) * nlev
            for l in range(nlev):
                r = reg[l]
                if r >= 0:
                    hist[r * ncode + best] += 1
        s += chunk
    free(g)
    return 1
