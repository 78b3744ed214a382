# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernels: Gaussian smoothing and the orientation-binned gradient blocks.

Same names, arguments and in-place outputs as ``_reference.smooth`` and
``_reference.orientation_blocks``.  The wrappers in ``dlfers.descriptors`` have
checked every shape, so the loops run without bounds checks and without the GIL.
"""

from libc.math cimport atan2f, floorf, sqrtf
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
    cdef float t
    cdef float* tmp = <float*>malloc(h * w * sizeof(float))
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
        acc = tmp + y * w
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
        src = tmp + yk * w
        for x in range(w):
            acc[x] = t * src[x]
        for k in range(1, nt):
            t = taps[k]
            yk = y + k - r
            if yk < 0:
                yk = 0
            elif yk > h - 1:
                yk = h - 1
            src = tmp + yk * w
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


cdef int _orientation_blocks(const float* img, Py_ssize_t h, Py_ssize_t w, int nbins, bint signed,
                             int block, float* out, Py_ssize_t bh, Py_ssize_t bw) noexcept nogil:
    cdef Py_ssize_t wb = bw * block, nacc = bw * nbins
    cdef Py_ssize_t by, yy, y, x, bx, xx, j
    cdef const float* up
    cdef const float* mid
    cdef const float* dn
    cdef float period = TWO_PI_F if signed else PI_F
    cdef float scale = <float>nbins / period
    cdef float dx, dy, t, f, fb, frac, m
    cdef float one = 1
    cdef int b0, b1
    cdef double* hist
    cdef float* gx = <float*>malloc(3 * wb * sizeof(float))
    cdef double* acc = <double*>malloc(nacc * sizeof(double))
    if gx == NULL or acc == NULL:
        free(gx)
        free(acc)
        return 0
    cdef float* gy = gx + wb
    cdef float* mag = gy + wb
    for by in range(bh):
        memset(acc, 0, nacc * sizeof(double))
        for yy in range(block):
            y = by * block + yy
            mid = img + y * w
            up = img + (y - 1 if y > 0 else 0) * w
            dn = img + (y + 1 if y + 1 < h else h - 1) * w
            # central differences with edge replication (vectorisable part)
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
            for x in range(wb):
                mag[x] = sqrtf(gx[x] * gx[x] + gy[x] * gy[x])
            # orientation, linear split between the two nearest bins, block sums
            x = 0
            for bx in range(bw):
                hist = acc + bx * nbins
                for xx in range(block):
                    dx = gx[x]
                    dy = gy[x]
                    m = mag[x]
                    x += 1
                    if m == 0:  # no contribution (and flat areas skip atan2)
                        continue
                    t = atan2f(dy, dx)
                    if t < 0:
                        t = t + period
                    if not signed and t >= period:
                        t = t - period
                    f = t * scale
                    fb = floorf(f)
                    frac = f - fb
                    b0 = <int>fb
                    if b0 >= nbins:
                        b0 -= nbins
                    b1 = b0 + 1
                    if b1 >= nbins:
                        b1 -= nbins
                    hist[b0] += m * (one - frac)
                    hist[b1] += m * frac
        for j in range(nacc):
            out[by * nacc + j] = <float>acc[j]
    free(gx)
    free(acc)
    return 1
