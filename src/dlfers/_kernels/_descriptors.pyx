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
    # Cells are stored with each row split by column residue modulo cb (all columns
    # x ≡ 0, then x ≡ 1, ...), so that the 4 cells x, x + cb, x + 2cb, x + 3cb of one
    # descriptor row are adjacent: a descriptor is 4 contiguous runs of 4·nbins floats,
    # read once, by the clipping pass.  (cb == 1: the blocks are the cells as they are.)
    cdef Py_ssize_t span = 4 * cb
    cdef Py_ssize_t ny = (bh - span) // sb + 1, nx = (bw - span) // sb + 1
    cdef Py_ssize_t ch = bh - cb + 1, cw = bw - cb + 1, dim = 16 * nbins, run = 4 * nbins
    cdef Py_ssize_t q = (cw + cb - 1) // cb  # columns per residue class (rounded up)
    cdef Py_ssize_t cpr = q * cb  # cell slots per split row
    cdef Py_ssize_t brow = bw * nbins, rowlen = cw * nbins, crow_len = cpr * nbins
    cdef Py_ssize_t y, a, b, k, i, j, x, cy, p
    cdef const float* src
    cdef const float* rows[4]
    cdef const float* cq
    cdef float* tmp
    cdef float* d
    cdef float* cells = NULL
    cdef const float* cs
    cdef Py_ssize_t nslots = ch * cpr
    # per-cell squared norms, one descriptor's values and squares, one row of cell sums
    cdef float* cellsq = <float*>malloc((nslots + 2 * dim + rowlen) * sizeof(float))
    cdef float s, one = 1, tiny = <float>1e-12
    if cellsq == NULL:
        return 0
    cdef float* sq = cellsq + nslots
    cdef float* buf = sq + dim
    tmp = buf + dim
    if cb == 1:
        cs = blocks
    else:
        cells = <float*>malloc(nslots * nbins * sizeof(float))
        if cells == NULL:
            free(cellsq)
            return 0
        for y in range(ch):
            # sums of cb x cb blocks, in the reference's order of float32 additions
            memcpy(tmp, blocks + y * brow, rowlen * sizeof(float))
            for a in range(cb):
                for b in range(cb):
                    if a == 0 and b == 0:
                        continue
                    src = blocks + (y + a) * brow + b * nbins
                    for k in range(rowlen):
                        tmp[k] = tmp[k] + src[k]
            for x in range(cw):
                p = (x % cb) * q + x // cb
                memcpy(cells + y * crow_len + p * nbins, tmp + x * nbins, nbins * sizeof(float))
        cs = cells
    # squared norm of every cell: a descriptor's first norm is the sum of 16 of them
    for y in range(ch):
        for x in range(cw):
            p = y * cpr + (x % cb) * q + x // cb
            cellsq[p] = _sumsq(cs + p * nbins, nbins)
    d = out
    for i in range(ny):
        for j in range(nx):
            p = (j * sb % cb) * q + j * sb // cb  # slot of the descriptor's first column
            s = 0
            for cy in range(4):
                y = i * sb + cy * cb
                cq = cellsq + y * cpr + p
                s = s + ((cq[0] + cq[1]) + (cq[2] + cq[3]))
                rows[cy] = cs + (y * cpr + p) * nbins
            s = sqrtf(s)
            if s <= tiny:
                memset(d, 0, dim * sizeof(float))
            # constant lengths for TISF and TIPM: straight-line vector code
            elif run == 32:
                _finish(d, rows, buf, sq, 32, one / s, clip)
            elif run == 16:
                _finish(d, rows, buf, sq, 16, one / s, clip)
            else:
                _finish(d, rows, buf, sq, run, one / s, clip)
            d += dim
    free(cells)
    free(cellsq)
    return 1


cdef inline void _finish(float* d, const float** rows, float* buf, float* sq, Py_ssize_t run,
                         float scale, float clip) noexcept nogil:
    """d = v / ‖v‖, v = min(rows · scale, clip): clipping and the second normalisation.

    ``rows`` are the descriptor's 4 runs of ``run`` floats.  Every loop is element-wise,
    so the compiler vectorises it without reordering any float sum (a vectorised running
    sum would need -ffast-math): the squares of runs 0 and 2, then 1 and 3, are added
    into ``sq``, whose upper half is then added to its lower half until one value remains.
    """
    cdef Py_ssize_t k, m = 2 * run, half, off
    cdef float v, u, s
    cdef const float* r0 = rows[0]
    cdef const float* r1 = rows[1]
    cdef const float* r2 = rows[2]
    cdef const float* r3 = rows[3]
    for k in range(run):
        v = r0[k] * scale
        v = v if v < clip else clip
        buf[k] = v
        u = r2[k] * scale
        u = u if u < clip else clip
        buf[2 * run + k] = u
        sq[k] = v * v + u * u
    for k in range(run):
        v = r1[k] * scale
        v = v if v < clip else clip
        buf[run + k] = v
        u = r3[k] * scale
        u = u if u < clip else clip
        buf[3 * run + k] = u
        sq[run + k] = v * v + u * u
    while m > 8 and m % 2 == 0:
        m = m // 2
        for k in range(m):
            sq[k] = sq[k] + sq[m + k]
    if m == 8:
        s = ((sq[0] + sq[1]) + (sq[2] + sq[3])) + ((sq[4] + sq[5]) + (sq[6] + sq[7]))
    else:
        while m > 1:
            half = m // 2
            off = m - half
            for k in range(half):
                sq[k] = sq[k] + sq[off + k]
            m = off
        s = sq[0]
    s = <float>1 / sqrtf(s)
    for k in range(4 * run):
        d[k] = buf[k] * s


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
