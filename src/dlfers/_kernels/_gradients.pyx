# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernels: Gaussian smoothing and the orientation-binned gradient blocks.

Same names, arguments and in-place outputs as ``_reference.smooth`` and
``_reference.orientation_blocks``.  The wrappers in ``dlfers.descriptors`` have
checked every shape, so the loops run without bounds checks and without the GIL.
"""

from libc.math cimport fabsf, sqrtf
from libc.stdlib cimport free, malloc
from libc.string cimport memset

cdef float PI_F = <float>3.14159265358979323846
cdef float TWO_PI_F = <float>6.28318530717958647692


def smooth(const float[:, ::1] img, const float[::1] taps, float[:, ::1] out):
    """Separable Gaussian smoothing with edge replication (Eq. 5-6), into ``out``."""
    cdef Py_ssize_t h = img.shape[0], w = img.shape[1], nt = taps.shape[0]
    if h == 0 or w == 0:
        return
    cdef int ok
    with nogil:
        ok = _smooth(&img[0, 0], h, w, &taps[0], nt, &out[0, 0])
    if not ok:
        raise MemoryError()


cdef int _smooth(const float* img, Py_ssize_t h, Py_ssize_t w, const float* taps, Py_ssize_t nt,
                 float* out) noexcept nogil:
    cdef Py_ssize_t r = nt // 2, y, x, k, yk
    # rows of the intermediate image are ts floats apart, ts·4 bytes an odd multiple of 64:
    # with a stride dividing 4096, the vertical pass's loads from tmp and its updates of
    # ``out`` can fall 4 KiB apart on every row (false store-to-load dependencies, "4K
    # aliasing"), which made its time depend on where ``out`` happens to be allocated
    cdef Py_ssize_t ts = (w + 15) // 16 * 16 + 16
    cdef float t
    cdef float* tmp = <float*>malloc(h * ts * sizeof(float))
    cdef float* pad = <float*>malloc((w + 2 * r) * sizeof(float))
    cdef float* acc
    cdef const float* row
    cdef const float* src
    if tmp == NULL or pad == NULL:
        free(tmp)
        free(pad)
        return 0
    # horizontal pass: a padded copy of each row, then one tap at a time
    # (the same order of float32 additions as the reference)
    for y in range(h):
        row = img + y * w
        for x in range(r):
            pad[x] = row[0]
            pad[r + w + x] = row[w - 1]
        for x in range(w):
            pad[r + x] = row[x]
        acc = tmp + y * ts
        t = taps[0]
        for x in range(w):
            acc[x] = t * pad[x]
        for k in range(1, nt):
            t = taps[k]
            for x in range(w):
                acc[x] = acc[x] + t * pad[x + k]
    # vertical pass with edge-replicated rows
    for y in range(h):
        acc = out + y * w
        t = taps[0]
        yk = y - r
        if yk < 0:
            yk = 0
        src = tmp + yk * ts
        for x in range(w):
            acc[x] = t * src[x]
        for k in range(1, nt):
            t = taps[k]
            yk = y + k - r
            if yk < 0:
                yk = 0
            elif yk > h - 1:
                yk = h - 1
            src = tmp + yk * ts
            for x in range(w):
                acc[x] = acc[x] + t * src[x]
    free(tmp)
    free(pad)
    return 1


def orientation_blocks(const float[:, ::1] img, int nbins, bint signed, int block, float[:, :, ::1] out):
    """Gradient magnitudes binned by orientation into ``block``x``block`` blocks (Eq. 7-8)."""
    cdef Py_ssize_t h = img.shape[0], w = img.shape[1]
    cdef Py_ssize_t bh = out.shape[0], bw = out.shape[1]
    if bh == 0 or bw == 0:
        return
    cdef int ok
    with nogil:
        ok = _orientation_blocks(&img[0, 0], h, w, nbins, signed, block, &out[0, 0, 0], bh, bw)
    if not ok:
        raise MemoryError()


# atan on [-tan(π/8), tan(π/8)] (Cephes atanf): float32 accuracy after the octant reduction
cdef float ATAN_C1 = <float>8.05374449538e-2
cdef float ATAN_C2 = <float>-1.38776856032e-1
cdef float ATAN_C3 = <float>1.99777106478e-1
cdef float ATAN_C4 = <float>-3.33329491539e-1
cdef float TAN_PI_8 = <float>0.414213562373095
cdef float PI_4_F = <float>0.785398163397448
cdef float PI_2_F = <float>1.57079632679490


cdef void _row_bins(const float* gx, const float* gy, Py_ssize_t n, float period, float scale,
                    int nbins, int stride, int* idx, float* w0, float* w1) noexcept nogil:
    """Per pixel of one row: slot ``idx`` = x·stride + b0 and the weights of bins b0, b0 + 1.

    The angle in [0, period] is atan2 written without branches (octant reduction and a
    polynomial), so that the compiler vectorises the loop; it agrees with libm's atan2f
    to a few float32 ulps.  The bin split is continuous in the angle (at a bin centre all
    the mass goes to that bin), so such differences stay at the float32 rounding level.
    """
    cdef Py_ssize_t x
    cdef float dx, dy, ax, ay, mx, mn, num, den, q, z, r, f, frac, m
    cdef float zero = 0, one = 1
    cdef int b
    cdef bint big
    for x in range(n):
        dx = gx[x]
        dy = gy[x]
        ax = fabsf(dx)
        ay = fabsf(dy)
        mx = ax if ax > ay else ay
        mn = ay if ax > ay else ax
        big = mn > TAN_PI_8 * mx
        num = mn - mx if big else mn
        den = mn + mx if big else mx
        den = den if den > zero else one  # a zero gradient: angle 0, weight 0
        q = num / den
        z = q * q
        r = (((ATAN_C1 * z + ATAN_C2) * z + ATAN_C3) * z + ATAN_C4) * z * q + q
        r = r + PI_4_F if big else r
        r = PI_2_F - r if ay > ax else r
        r = PI_F - r if dx < zero else r
        r = period - r if dy < zero else r
        f = r * scale
        b = <int>f  # f >= 0: truncation is floor
        frac = f - <float>b
        b = 0 if b >= nbins else b  # the angle `period` is the angle 0
        m = sqrtf(dx * dx + dy * dy)
        idx[x] = <int>x * stride + b
        w0[x] = m * (one - frac)
        w1[x] = m * frac


cdef int _orientation_blocks(const float* img, Py_ssize_t h, Py_ssize_t w, int nbins, bint signed,
                             int block, float* out, Py_ssize_t bh, Py_ssize_t bw) noexcept nogil:
    # Each pixel column x of a row of blocks has its own histogram of nbins + 1 slots
    # (slot nbins is bin 0 again, so that bin b0 + 1 needs no wrap-around): consecutive
    # pixels never update the same slot, and the scatter loop has no store-to-load
    # dependency.  The block sums come from these columns at the end of each block row.
    cdef Py_ssize_t wb = bw * block, stride = nbins + 1, nacc = wb * stride
    cdef Py_ssize_t by, yy, y, x, bx, xx, k
    cdef const float* up
    cdef const float* mid
    cdef const float* dn
    cdef const float* col
    cdef float* o
    cdef float period = TWO_PI_F if signed else PI_F
    cdef float scale = <float>nbins / period
    cdef float* acc
    cdef float* buf = <float*>malloc((5 * wb + nacc) * sizeof(float))
    if buf == NULL:
        return 0
    cdef float* gx = buf
    cdef float* gy = gx + wb
    cdef float* w0 = gy + wb
    cdef float* w1 = w0 + wb
    cdef int* idx = <int*>(w1 + wb)
    acc = w1 + 2 * wb
    for by in range(bh):
        memset(acc, 0, nacc * sizeof(float))
        for yy in range(block):
            y = by * block + yy
            mid = img + y * w
            up = img + (y - 1 if y > 0 else 0) * w
            dn = img + (y + 1 if y + 1 < h else h - 1) * w
            # central differences with edge replication
            for x in range(wb):
                gy[x] = dn[x] - up[x]
            if w == 1:
                gx[0] = 0
            else:
                gx[0] = mid[1] - mid[0]
                for x in range(1, wb if wb < w else w - 1):
                    gx[x] = mid[x + 1] - mid[x - 1]
                if wb == w:
                    gx[w - 1] = mid[w - 1] - mid[w - 2]
            _row_bins(gx, gy, wb, period, scale, nbins, <int>stride, idx, w0, w1)
            for x in range(wb):
                acc[idx[x]] += w0[x]
                acc[idx[x] + 1] += w1[x]
        # slot nbins folds back into bin 0, then the block sums of the columns (whole
        # histograms at a time: a scalar store inside a block's vector sum would stall
        # store-to-load forwarding)
        for x in range(wb):
            acc[x * stride] += acc[x * stride + nbins]
        o = out + by * bw * nbins
        for bx in range(bw):
            col = acc + bx * block * stride
            for k in range(nbins):
                o[k] = col[k]
            for xx in range(1, block):
                col = col + stride
                for k in range(nbins):
                    o[k] = o[k] + col[k]
            o = o + nbins
    free(buf)
    return 1
