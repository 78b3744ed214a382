# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernel: one pyramid layer of OpenCV's Haar cascade, stumps or alt2's trees (``_haar.h``).

Same name, arguments and in-place outputs as ``_reference.haar_scan``: the integral
images of the layer, then the cascade's verdict on every window OpenCV's
``detectMultiScale`` visits, with its arithmetic (float32 features, float64 stage sums),
so that exactly the same windows are accepted.
"""

from libc.stdint cimport int32_t, uint8_t, uint32_t


cdef extern from "_haar.h" nogil:
    Py_ssize_t dlfers_haar_col(Py_ssize_t c, int ystep, Py_ssize_t stride)
    void dlfers_haar_integral(const uint8_t* img, Py_ssize_t h, Py_ssize_t w, Py_ssize_t stride, int ystep,
                              int32_t* sum, uint32_t* sq)
    void dlfers_haar_scan(const int32_t* sum, const uint32_t* sq, Py_ssize_t stride, Py_ssize_t nx,
                                Py_ssize_t ny, int ystep, const int32_t* nofs, double area, const int32_t* ofs,
                                const float* wts, const float* thr, const uint8_t* shape, const float* leaves,
                                const int32_t* stage_n, const float* stage_thr, int n_stages, int path, uint8_t* out)
    int dlfers_haar_path()
    int dlfers_haar_resize(const uint8_t* src, Py_ssize_t sw, Py_ssize_t sh, uint8_t* dst, Py_ssize_t dw,
                           Py_ssize_t dh)


def haar_path():
    """How ``haar_scan`` evaluates windows in this build: "avx2" (8 at once) or "c" (one by one)."""
    return ("c", "avx2")[dlfers_haar_path()]


cdef void _scan(const uint8_t* img, Py_ssize_t h, Py_ssize_t w, int win_w, int win_h, int ystep,
                const int32_t* ofs, const float* weights, const float* thresholds, const uint8_t* shapes,
                const float* leaves, const int32_t* stage_sizes, const float* stage_thresholds, int n_stages,
                int32_t* sums, uint32_t* squares, Py_ssize_t stride, uint8_t* out, Py_ssize_t ny,
                Py_ssize_t nx) noexcept nogil:
    """One layer: integral images, then the windows of ``ny`` rows (never past the layer's last window)."""
    cdef int32_t nofs[4]
    cdef Py_ssize_t c0 = dlfers_haar_col(1, ystep, stride), c1 = dlfers_haar_col(win_w - 1, ystep, stride)
    nofs[0] = <int32_t>(c0 + stride)
    nofs[1] = <int32_t>(c1 + stride)
    nofs[2] = <int32_t>(c0 + stride * (win_h - 1))
    nofs[3] = <int32_t>(c1 + stride * (win_h - 1))
    cdef double area = <double>((win_w - 2) * (win_h - 2))
    # the AVX2 path reads up to 8 windows past a row's last one: padded rows only
    cdef int path = dlfers_haar_path() if stride >= w + 64 else 0
    cdef Py_ssize_t rows = (h + 1 - win_h + ystep - 1) // ystep
    if ny > rows:
        ny = rows
    dlfers_haar_integral(img, h, w, stride, ystep, sums, squares)
    if nx > 0 and ny > 0:
        dlfers_haar_scan(sums, squares, stride, nx, ny, ystep, nofs, area, ofs, weights, thresholds, shapes, leaves,
                         stage_sizes, stage_thresholds, n_stages, path, out)


def haar_scan(const uint8_t[:, ::1] img, int win_w, int win_h, int ystep, const int32_t[:, ::1] ofs,
              const float[:, ::1] weights, const float[::1] thresholds, const uint8_t[::1] shapes,
              const float[:, ::1] leaves, const int32_t[::1] stage_sizes, const float[::1] stage_thresholds,
              int32_t[:, ::1] sums, uint32_t[:, ::1] squares, uint8_t[:, ::1] out):
    """Integral images of ``img`` into ``sums``/``squares``; 1 in ``out`` where a window is accepted."""
    with nogil:
        _scan(&img[0, 0], img.shape[0], img.shape[1], win_w, win_h, ystep, &ofs[0, 0], &weights[0, 0],
              &thresholds[0], &shapes[0], &leaves[0, 0], &stage_sizes[0], &stage_thresholds[0],
              <int>stage_sizes.shape[0], &sums[0, 0], &squares[0, 0], sums.shape[1],
              &out[0, 0] if out.shape[0] > 0 and out.shape[1] > 0 else NULL, out.shape[0], out.shape[1])


def haar_scan_layers(const uint8_t[::1] pyramid, const int32_t[:, ::1] layers, int win_w, int win_h,
                     const int32_t[:, :, ::1] ofs, const float[:, ::1] weights, const float[::1] thresholds,
                     const uint8_t[::1] shapes, const float[:, ::1] leaves, const int32_t[::1] stage_sizes,
                     const float[::1] stage_thresholds, int32_t[:, ::1] sums, uint32_t[:, ::1] squares,
                     uint8_t[::1] out):
    """``haar_scan`` on every layer of ``pyramid`` (``_reference.haar_scan_layers``), without the GIL throughout."""
    cdef Py_ssize_t k, nx, w, h, ystep
    with nogil:
        for k in range(layers.shape[0]):
            w, h, ystep = layers[k, 1], layers[k, 2], layers[k, 3]
            nx = (w + 1 - win_w + ystep - 1) // ystep
            _scan(&pyramid[layers[k, 0]], h, w, win_w, win_h, <int>ystep, &ofs[ystep - 1, 0, 0], &weights[0, 0],
                  &thresholds[0], &shapes[0], &leaves[0, 0], &stage_sizes[0], &stage_thresholds[0],
                  <int>stage_sizes.shape[0], &sums[0, 0], &squares[0, 0], sums.shape[1], &out[layers[k, 4]],
                  layers[k, 5], nx)


def resize_layers(const uint8_t[:, ::1] gray, const int32_t[:, ::1] layers, uint8_t[::1] pyramid):
    """Every layer of a cascade's pyramid from ``gray`` (``layers`` rows: offset, w, h, ...), as OpenCV's
    ``cv2.resize(gray, (w, h), interpolation=INTER_LINEAR_EXACT)`` makes it, byte for byte (the tests
    compare), in one call without the GIL.  Needs ``gray`` of at least 3x3 pixels."""
    cdef Py_ssize_t k, sh = gray.shape[0], sw = gray.shape[1]
    cdef int ok = 1
    if sh < 3 or sw < 3:
        raise ValueError(f"resize_layers needs an image of at least 3x3 pixels, got {sh}x{sw}")
    with nogil:
        for k in range(layers.shape[0]):
            if not dlfers_haar_resize(&gray[0, 0], sw, sh, &pyramid[layers[k, 0]], layers[k, 1], layers[k, 2]):
                ok = 0
                break
    if not ok:
        raise MemoryError()
