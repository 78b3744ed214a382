# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernel: dense 4x4-cell descriptors from block histograms, SIFT-normalised.

Same name, arguments and in-place output as ``_reference.assemble_descriptors``.
"""

from libc.math cimport sqrtf
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset


def assemble_descriptors(const float[:, :, ::1] blocks, int cell_blocks, int step_blocks, double clip,
                         float[:, ::1] out):
    """Gather 4x4 cells of ``cell_blocks``² blocks per grid point into ``out``, then normalise."""
    cdef Py_ssize_t bh = blocks.shape[0], bw = blocks.shape[1], nbins = blocks.shape[2]
    if out.shape[0] == 0 or out.shape[1] == 0:
        return
    cdef int ok
    with nogil:
        ok = _assemble(&blocks[0, 0, 0], bh, bw, nbins, cell_blocks, step_blocks, <float>clip,
                       &out[0, 0])
    if not ok:
        raise MemoryError()


cdef int _assemble(const float* blocks, Py_ssize_t bh, Py_ssize_t bw, Py_ssize_t nbins, Py_ssize_t cb,
                   Py_ssize_t sb, float clip, float* out) noexcept nogil:
    cdef Py_ssize_t span = 4 * cb
    cdef Py_ssize_t ny = (bh - span) // sb + 1, nx = (bw - span) // sb + 1
    cdef Py_ssize_t ch = bh - cb + 1, cw = bw - cb + 1, dim = 16 * nbins
    cdef Py_ssize_t rowlen = cw * nbins, brow = bw * nbins, cstep = cb * nbins
    cdef Py_ssize_t y, a, b, k, i, j, cy, cx
    cdef const float* src
    cdef float* crow
    cdef float* d
    cdef float* cells = NULL
    cdef const float* cs
    # per-cell squared norms, then one descriptor's squares and values
    cdef float* cellsq = <float*>malloc((ch * cw + 2 * dim) * sizeof(float))
    cdef float s, inv, one = 1, tiny = <float>1e-12
    if cellsq == NULL:
        return 0
    cdef float* sq = cellsq + ch * cw
    cdef float* buf = sq + dim
    # cells: sums of cb x cb blocks (in the reference's order of float32 additions)
    if cb == 1:
        cs = blocks
    else:
        cells = <float*>malloc(ch * rowlen * sizeof(float))
        if cells == NULL:
            free(cellsq)
            return 0
        for y in range(ch):
            crow = cells + y * rowlen
            memcpy(crow, blocks + y * brow, rowlen * sizeof(float))
            for a in range(cb):
                for b in range(cb):
                    if a == 0 and b == 0:
                        continue
                    src = blocks + (y + a) * brow + b * nbins
                    for k in range(rowlen):
                        crow[k] = crow[k] + src[k]
        cs = cells
    # squared norm of every cell: a descriptor's first norm is the sum of 16 of them,
    # so the raw histograms are read once per descriptor, by the clipping pass
    for i in range(ch * cw):
        cellsq[i] = _sumsq(cs + i * nbins, nbins)
    d = out
    for i in range(ny):
        for j in range(nx):
            s = 0
            for cy in range(4):
                src = cellsq + (i * sb + cy * cb) * cw + j * sb
                s = s + ((src[0] + src[cb]) + (src[2 * cb] + src[3 * cb]))
            s = sqrtf(s)
            if s <= tiny:
                memset(d, 0, dim * sizeof(float))
            else:
                # gather into an L1-resident buffer; ``out`` is written once, at the end
                for cy in range(4):
                    src = cs + ((i * sb + cy * cb) * cw + j * sb) * nbins
                    for cx in range(4):
                        _copy(buf + (cy * 4 + cx) * nbins, src + cx * cstep, nbins)
                inv = one / sqrtf(_clip_sumsq(buf, sq, dim, one / s, clip))
                for k in range(dim):
                    d[k] = buf[k] * inv
            d += dim
    free(cells)
    free(cellsq)
    return 1


cdef inline void _copy(float* dst, const float* src, Py_ssize_t n) noexcept nogil:
    """Copy one cell's histogram (fixed-size copies for the TISF and TIPM bin counts)."""
    cdef Py_ssize_t k
    if n == 8:
        memcpy(dst, src, 8 * sizeof(float))
    elif n == 4:
        memcpy(dst, src, 4 * sizeof(float))
    else:
        for k in range(n):
            dst[k] = src[k]


cdef inline float _clip_sumsq(float* d, float* sq, Py_ssize_t n, float scale, float clip) noexcept nogil:
    """d = min(d · scale, clip) in place; returns Σ d², summed pairwise.

    Every loop here is element-wise, so the compiler vectorises it without reordering
    any float sum (a vectorised running sum would need -ffast-math): the squares go to
    ``sq``, whose upper half is added to its lower half until one value remains.
    """
    cdef Py_ssize_t k, m = n, half, off
    cdef float v
    for k in range(n):
        v = d[k] * scale
        v = v if v < clip else clip
        d[k] = v
        sq[k] = v * v
    while m > 1:
        half = m // 2
        off = m - half
        for k in range(half):
            sq[k] = sq[k] + sq[off + k]
        m = off
    return sq[0]


cdef inline float _sumsq(const float* d, Py_ssize_t n) noexcept nogil:
    """Σ d², with NumPy's 8-accumulator order for n <= 128 (so TISF/TIPM norms match it)."""
    cdef float r[8]
    cdef Py_ssize_t i, k, n8 = n - n % 8
    cdef float s
    if n8 == 0:
        s = 0
        for i in range(n):
            s = s + d[i] * d[i]
        return s
    for k in range(8):
        r[k] = d[k] * d[k]
    for i in range(8, n8, 8):
        for k in range(8):
            r[k] = r[k] + d[i + k] * d[i + k]
    s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for i in range(n8, n):
        s = s + d[i] * d[i]
    return s
