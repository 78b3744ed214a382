# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernel: mean Gabor magnitude per cell of responses sampled on a sparse grid.

Same name, arguments and overwritten output as ``_reference_gabor.gabor_energy``, in float32.
Each filter's separable taps are applied in two passes, both only where the output needs them:
along x at the m sampled columns of every row (T, complex), then along y at the sampled rows of
T, one row of m samples at a time (``_gabor.h``: blocks of 16 samples in vector registers).
The x pass reads a polyphase copy of the image with its borders reflected (OpenCV's
BORDER_REFLECT_101), made once per call: phase q holds the padded columns q, q + stride,
q + 2·stride, ... of every row, so that the pixels one tap needs at the m sampled columns are m
consecutive floats.  The y pass reads whole rows of T through a table of reflected row offsets.

Two savings that change no float of the result (they skip work whose outcome is known):
  * x taps that are symmetric (real part even, imaginary part odd, as every Gabor filter's): the
    pixels of the taps b and 2r-b are added and subtracted once per row for all the filters of the
    call, and each filter then needs one product per tap pair and part;
  * a filter with another's y taps and the conjugates of its x taps (orientations θ and π - θ):
    its T is the other's conjugate, so its x pass is skipped and both y passes run as one.
Both are the definition's arithmetic in another order (see ``_gabor.h``), the order the Numba
kernel follows too.  No Python object in the loops; the GIL is released.
"""

from libc.stdlib cimport free, malloc

cdef extern from "_gabor.h" nogil:
    void dlfers_gabor_pairs(const float* src, const Py_ssize_t* off, Py_ssize_t k, Py_ssize_t m, float* sd)
    void dlfers_gabor_x_pairs(const float* sda, const float* sdb, const float* wr, const float* wi, Py_ssize_t k,
                              Py_ssize_t m, float* rea, float* ima, float* reb, float* imb)
    void dlfers_gabor_x_rows(const float* srca, const float* srcb, const Py_ssize_t* off, const float* wr,
                             const float* wi, Py_ssize_t k, Py_ssize_t m, float* rea, float* ima, float* reb,
                             float* imb)
    void dlfers_gabor_y_row(const float* tre, const float* tim, const Py_ssize_t* off, const float* wr,
                            const float* wi, Py_ssize_t k, Py_ssize_t m, float* mag, float* mirror)


cdef inline Py_ssize_t _reflect101(Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """i reflected into [0, n) without repeating the edge, for -n < i < 2n - 1."""
    if i < 0:
        i = -i
    if i > n - 1:
        i = 2 * (n - 1) - i
    return i


cdef inline Py_ssize_t _round16(Py_ssize_t i) noexcept nogil:
    return (i + 15) & ~15


cdef bint _symmetric(const float* tf, Py_ssize_t k) noexcept nogil:
    """Whether a filter's x taps are even (real part) and odd (imaginary part), as a Gabor filter's."""
    cdef Py_ssize_t b
    for b in range(k // 2 + 1):
        if tf[2 * k + b] != tf[3 * k - 1 - b] or tf[3 * k + b] != -tf[4 * k - 1 - b]:
            return False
    return True


cdef bint _mirrors(const float* tf, const float* tg, Py_ssize_t k) noexcept nogil:
    """Whether filter g has filter f's y taps and the conjugates of its x taps."""
    cdef Py_ssize_t b
    for b in range(3 * k):
        if tg[b] != tf[b]:
            return False
    for b in range(3 * k, 4 * k):
        if tg[b] != -tf[b]:
            return False
    return True


def gabor_energy(const float[:, ::1] img, const float[:, :, ::1] taps, Py_ssize_t stride, Py_ssize_t cell,
                 float[:, ::1] out):
    """Write into ``out`` (F, (n/cell)²) the mean magnitude over each cell of the responses of the F complex
    separable filters ``taps`` (F, 4, 2r+1) (y real, y imaginary, x real, x imaginary) on the (n, n) ``img``,
    sampled every ``stride`` pixels from stride//2, borders reflected (BORDER_REFLECT_101)."""
    cdef Py_ssize_t n = img.shape[0], nf = taps.shape[0], k = taps.shape[2], r = k // 2
    cdef Py_ssize_t m = n // stride, g = n // cell, s = cell // stride, half = stride // 2
    cdef Py_ssize_t width = (n + 2 * r + stride - 1) // stride  # floats per row of one phase
    cdef Py_ssize_t npoly = _round16(stride * n * width), nt = _round16(nf * n * m)
    cdef Py_ssize_t f, h, i, j, a, q, u, y, c
    cdef const float* tf
    cdef const float* row
    cdef const Py_ssize_t* cq
    cdef float* block
    cdef float* poly
    cdef float* dst
    cdef float* tre
    cdef float* tim
    cdef float* sd
    cdef float* mag
    cdef float* mag2
    cdef float* mg
    cdef float* cells
    cdef float* cells2
    cdef Py_ssize_t* xoff
    cdef Py_ssize_t* yoff
    cdef Py_ssize_t* src
    cdef Py_ssize_t* flags
    cdef Py_ssize_t* mirror
    cdef bint symmetric = False
    cdef float inv = 1.0 / <float>(s * s), acc
    if nf == 0 or m == 0:
        return
    # every buffer starts on a 64-byte boundary (a vector load of an aligned row crosses no cache line)
    block = <float*>malloc((npoly + 2 * nt + _round16(2 * k * m) + 2 * _round16(m) + 2 * g + 16) * sizeof(float))
    xoff = <Py_ssize_t*>malloc((k + m * k + stride * width + 2 * nf) * sizeof(Py_ssize_t))
    if block == NULL or xoff == NULL:
        free(block)
        free(xoff)
        raise MemoryError()
    poly = <float*>((<size_t>block + 63) & ~(<size_t>63))
    tre = poly + npoly  # T of every filter: (nf, n, m) real parts, then imaginary parts
    tim = tre + nt
    sd = tim + nt  # two rows' tap-pair sums and differences, (2, k, m)
    mag = sd + _round16(2 * k * m)
    mag2 = mag + _round16(m)
    cells = mag2 + _round16(m)
    cells2 = cells + g
    yoff = xoff + k
    src = yoff + m * k
    flags = src + stride * width  # per filter: 1 where its x taps are symmetric
    mirror = flags + nf  # per filter: its mirror's index (a later filter), -1 if none, -2 if it is a mirror
    with nogil:
        for q in range(stride):  # padded column u·stride + q is image column reflect101(u·stride + q - r)
            for u in range(width):  # (the columns past n + r, never read, repeat the last one)
                src[q * width + u] = _reflect101(min(u * stride + q - r, n - 1 + r), n)
        for y in range(n):
            row = &img[y, 0]
            for q in range(stride):
                dst = poly + (q * n + y) * width
                cq = src + q * width
                for u in range(width):
                    dst[u] = row[cq[u]]
        for a in range(k):  # tap a at sampled column j: padded column j·stride + half + a
            xoff[a] = ((half + a) % stride) * n * width + (half + a) // stride
        for i in range(m):
            for a in range(k):
                yoff[i * k + a] = _reflect101(i * stride + half + a - r, n) * m
        for f in range(nf):
            mirror[f] = -1
        for f in range(nf):
            tf = &taps[f, 0, 0]
            flags[f] = _symmetric(tf, k)
            symmetric = symmetric or flags[f]
            if mirror[f] == -1:
                for h in range(f + 1, nf):
                    if mirror[h] == -1 and _mirrors(tf, &taps[h, 0, 0], k):
                        mirror[f] = h
                        mirror[h] = -2
                        break
        for y in range(0, n, 2):  # x pass, two rows at a time (the last twice when n is odd)
            j = y + 1 if y + 1 < n else y
            if symmetric:  # each tap pair's sums and differences, once for all the filters
                dlfers_gabor_pairs(poly + y * width, xoff, k, m, sd)
                dlfers_gabor_pairs(poly + j * width, xoff, k, m, sd + k * m)
            for f in range(nf):
                if mirror[f] == -2:  # its T is the conjugate of its mirror's
                    continue
                tf = &taps[f, 0, 0]
                a = f * n * m
                if flags[f]:
                    dlfers_gabor_x_pairs(sd, sd + k * m, tf + 2 * k, tf + 3 * k, k, m, tre + a + y * m,
                                         tim + a + y * m, tre + a + j * m, tim + a + j * m)
                else:
                    dlfers_gabor_x_rows(poly + y * width, poly + j * width, xoff, tf + 2 * k, tf + 3 * k, k, m,
                                        tre + a + y * m, tim + a + y * m, tre + a + j * m, tim + a + j * m)
        for f in range(nf):  # y pass, averaged over cells (a filter and its mirror together)
            h = mirror[f]
            if h == -2:
                continue
            tf = &taps[f, 0, 0]
            mg = mag2 if h >= 0 else NULL
            for i in range(m):
                dlfers_gabor_y_row(tre + f * n * m, tim + f * n * m, yoff + i * k, tf, tf + k, k, m, mag, mg)
                a = i % s  # the row within its cells
                for j in range(g):
                    acc = 0 if a == 0 else cells[j]
                    for c in range(j * s, j * s + s):
                        acc = acc + mag[c]
                    cells[j] = acc
                    if h >= 0:
                        acc = 0 if a == 0 else cells2[j]
                        for c in range(j * s, j * s + s):
                            acc = acc + mag2[c]
                        cells2[j] = acc
                if a == s - 1:
                    for j in range(g):
                        out[f, (i // s) * g + j] = cells[j] * inv
                        if h >= 0:
                            out[h, (i // s) * g + j] = cells2[j] * inv
    free(block)
    free(xoff)
