/* Haar cascade scan: OpenCV's cascade evaluation (CascadeClassifier::detectMultiScale,
 * OpenCV 4) on one layer of its image pyramid, with the same windows and the same
 * arithmetic, so that it accepts exactly the windows OpenCV accepts; and OpenCV's
 * INTER_LINEAR_EXACT resize that makes the pyramid.
 *
 * A window is normalised by the inverse of area·σ over its inner rectangle `nofs`:
 * nf = area·Σv² − (Σv)², the window is rejected when nf <= 0 or area / sqrt(nf) >= 0.1 (a
 * flat window).  A node's feature is the weighted sum of its rectangles in float32
 * (w0·s0 + w1·s1 [+ w2·s2], no fused multiply-add) times that factor, compared with the
 * node's threshold.  A weak classifier is a stump (shape 0: its leaf 0 when the feature is
 * below the threshold, else leaf 1) or one of the two-node trees of OpenCV's "alt2"
 * cascades (shape 1: leaf 0 below, else node 2 picks leaf 1 or 2; shape 2: leaf 0 not
 * below, else node 2 picks); its leaf is added to a float64 stage sum in classifier order,
 * and a stage rejects the window when its sum is below the stage's threshold.  Rows are
 * y = 0, ystep, ...; along a row a window rejected by the first stage makes OpenCV skip the
 * next one.
 *
 * Layout of a layer's integral images (int32 sums, uint32 sums of squares modulo 2^32 as
 * OpenCV's CV_32S): (h+1) rows of `stride` ints.  With ystep 1 column c sits at c; with
 * ystep 2 the even columns sit at c/2 and the odd ones at stride/2 + c/2, so that the
 * windows x = 0, 2, 4, ... of a row read consecutive ints at every corner.  Either way
 * window i of row y (x = i·ystep) has base offset y·stride + i, and `ofs` holds the
 * corners' offsets in that layout, 12 per node (a classifier's nodes are consecutive).
 *
 * Paths: plain C (one window at a time) and AVX2 (8 windows of a row at a time, the same
 * float32 and float64 operations per lane in the same order; it needs stride >= w + 64, as
 * its loads run past a row's last window).  An AVX-512 path (16 windows) was slower on
 * Zen 4: more lanes idle once most windows of a block are rejected, and every unaligned
 * 64-byte load splits across cache lines.
 */
#ifndef DLFERS_HAAR_H
#define DLFERS_HAAR_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

/* OpenCV's interpolationLinear along one axis: the first source index and the two 8-bit
 * fixed-point weights of each destination index (from double positions, rounded half to
 * even), and the destination range [lo, hi) that lies between the first and last source. */
static inline void dlfers_haar_coeffs(ptrdiff_t ssize, ptrdiff_t dsize, int32_t* ofs, uint16_t* c, ptrdiff_t* lo,
                                     ptrdiff_t* hi)
{
    double scale = 1.0 / ((double)dsize / (double)ssize);
    *lo = 0;
    *hi = dsize;
    for (ptrdiff_t d = 0; d < dsize; d++) {
        double f = scale * ((double)d + 0.5) - 0.5;
        double fl = floor(f);
        ptrdiff_t i = (ptrdiff_t)fl;
        ofs[d] = 0;
        c[2 * d] = 256;
        c[2 * d + 1] = 0;
        if (i >= 0 && ssize > 1) {
            if (i < ssize - 1) {
                double w = nearbyint((f - (double)i) * 256.0);  /* half to even, as cvRound */
                uint16_t c1 = (uint16_t)w;
                ofs[d] = (int32_t)i;
                c[2 * d + 1] = c1;
                c[2 * d] = (uint16_t)(c1 > 256 ? 0 : 256 - c1);
            } else {
                ofs[d] = (int32_t)(ssize - 1);
                if (d < *hi)
                    *hi = d;
            }
        } else if (d + 1 > *lo) {
            *lo = d + 1;
        }
    }
}

static inline void dlfers_haar_hline(const uint8_t* row, ptrdiff_t dw, const int32_t* xo, const uint16_t* xc,
                                     ptrdiff_t lo, ptrdiff_t hi, uint16_t* line)
{
    ptrdiff_t i = 0;
    for (; i < lo; i++)
        line[i] = (uint16_t)(row[0] << 8);
    for (; i < hi; i++)
        line[i] = (uint16_t)(xc[2 * i] * row[xo[i]] + xc[2 * i + 1] * row[xo[i] + 1]);
    for (; i < dw; i++)
        line[i] = (uint16_t)(row[xo[dw - 1]] << 8);
}

/* OpenCV's resize of an 8-bit one-channel image with INTER_LINEAR_EXACT (resize_bitExact:
 * 8.8 fixed-point rows, 16.16 fixed-point sums rounded half up), the same bytes, for sw, sh > 2.
 * The pyramid of a cascade scan is made of these.  Returns 0 when out of memory. */
static int dlfers_haar_resize(const uint8_t* src, ptrdiff_t sw, ptrdiff_t sh, uint8_t* dst, ptrdiff_t dw, ptrdiff_t dh)
{
    int32_t* xo = (int32_t*)malloc((size_t)(dw + dh) * sizeof(int32_t));
    uint16_t* co = (uint16_t*)malloc((size_t)(2 * (dw + dh) + 2 * dw) * sizeof(uint16_t));
    if (xo == NULL || co == NULL) {
        free(xo);
        free(co);
        return 0;
    }
    int32_t* yo = xo + dw;
    uint16_t *xc = co, *yc = co + 2 * dw, *l0 = co + 2 * (dw + dh), *l1 = l0 + dw;
    ptrdiff_t xlo, xhi, ylo, yhi;
    dlfers_haar_coeffs(sw, dw, xo, xc, &xlo, &xhi);
    dlfers_haar_coeffs(sh, dh, yo, yc, &ylo, &yhi);
    ptrdiff_t have = -2;  /* the source row held in l0 (l1 holds have + 1); -2: none */
    for (ptrdiff_t y = 0; y < dh; y++) {
        uint8_t* out = dst + y * dw;
        if (y < ylo || y >= yhi) {  /* above or below the source: its first or last row, rounded */
            dlfers_haar_hline(src + (y < ylo ? 0 : sh - 1) * sw, dw, xo, xc, xlo, xhi, l0);
            have = -2;
            for (ptrdiff_t i = 0; i < dw; i++)
                out[i] = (uint8_t)((uint32_t)(l0[i] + 128) >> 8);
            continue;
        }
        ptrdiff_t r = yo[y];
        if (r != have) {
            if (r == have + 1) {
                uint16_t* t = l0;
                l0 = l1;
                l1 = t;
            } else {
                dlfers_haar_hline(src + r * sw, dw, xo, xc, xlo, xhi, l0);
            }
            dlfers_haar_hline(src + (r + 1) * sw, dw, xo, xc, xlo, xhi, l1);
            have = r;
        }
        uint32_t m0 = yc[2 * y], m1 = yc[2 * y + 1];
        for (ptrdiff_t i = 0; i < dw; i++) {
            uint32_t v = m0 * l0[i] + m1 * l1[i];
            v = (v + 32768u) >> 16;
            out[i] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    free(xo);
    free(co);
    return 1;
}

/* Offset of integral column c in the layout of `ystep` (see above). */
static inline ptrdiff_t dlfers_haar_col(ptrdiff_t c, int ystep, ptrdiff_t stride)
{
    return ystep == 2 ? (c & 1) * (stride / 2) + (c >> 1) : c;
}

/* Integral images of an (h, w) uint8 image into the layout of `ystep`; unused ints zeroed. */
static void dlfers_haar_integral(const uint8_t* img, ptrdiff_t h, ptrdiff_t w, ptrdiff_t stride, int ystep,
                                 int32_t* sum, uint32_t* sq)
{
    for (ptrdiff_t x = 0; x < stride; x++) { sum[x] = 0; sq[x] = 0; }
    for (ptrdiff_t y = 0; y < h; y++) {
        const uint8_t* row = img + y * w;
        const int32_t* sp = sum + y * stride;
        const uint32_t* qp = sq + y * stride;
        int32_t* s = sum + (y + 1) * stride;
        uint32_t* q = sq + (y + 1) * stride;
        for (ptrdiff_t x = 0; x < stride; x++) { s[x] = 0; q[x] = 0; }
        int32_t rs = 0;
        uint32_t rq = 0;
        for (ptrdiff_t x = 0; x < w; x++) {
            uint32_t v = row[x];
            ptrdiff_t c = dlfers_haar_col(x + 1, ystep, stride);
            rs += (int32_t)v;
            rq += v * v;
            s[c] = sp[c] + rs;
            q[c] = qp[c] + rq;
        }
    }
}

/* A node's normalised feature: (w0·s0 + w1·s1 [+ w2·s2]) · vnf, in float32. */
static inline float dlfers_haar_feature(const int32_t* ps, const int32_t* o, const float* w, float vnf)
{
    float r0 = w[0] * (float)(ps[o[0]] - ps[o[1]] - ps[o[2]] + ps[o[3]]);
    float r1 = w[1] * (float)(ps[o[4]] - ps[o[5]] - ps[o[6]] + ps[o[7]]);
    float r = r0 + r1;
    if (w[2] != 0.0f) {
        float r2 = w[2] * (float)(ps[o[8]] - ps[o[9]] - ps[o[10]] + ps[o[11]]);
        r = r + r2;
    }
    return r * vnf;
}

/* The cascade's verdict on the window at base offset `p`: 1 accepted, 0 rejected by the
 * first stage, -1 flat or rejected by a later stage. */
static inline int dlfers_haar_window(const int32_t* sum, const uint32_t* sq, ptrdiff_t p, const int32_t* nofs,
                                     double area, const int32_t* ofs, const float* wts, const float* thr,
                                     const uint8_t* shape, const float* leaves, const int32_t* stage_n, const float* stage_thr,
                                     int n_stages)
{
    const int32_t* ps = sum + p;
    const uint32_t* pq = sq + p;
    int32_t vs = ps[nofs[0]] - ps[nofs[1]] - ps[nofs[2]] + ps[nofs[3]];
    uint32_t vq = pq[nofs[0]] - pq[nofs[1]] - pq[nofs[2]] + pq[nofs[3]];
    double nf = area * (double)vq - (double)vs * (double)vs;
    if (!(nf > 0.0))
        return -1;
    float vnf = (float)(1.0 / sqrt(nf));
    if (!(area * (double)vnf < 1e-1))
        return -1;
    ptrdiff_t s = 0, n = 0;
    for (int t = 0; t < n_stages; t++) {
        double acc = 0.0;
        for (ptrdiff_t e = s + stage_n[t]; s < e; s++) {
            const float* lv = leaves + 3 * s;
            int below = dlfers_haar_feature(ps, ofs + 12 * n, wts + 3 * n, vnf) < thr[n];
            float leaf;
            if (shape[s] == 0) {
                leaf = below ? lv[0] : lv[1];
                n += 1;
            } else {
                if (below == (shape[s] == 1))
                    leaf = lv[0];
                else
                    leaf = dlfers_haar_feature(ps, ofs + 12 * (n + 1), wts + 3 * (n + 1), vnf) < thr[n + 1] ? lv[1]
                                                                                                            : lv[2];
                n += 2;
            }
            acc += (double)leaf;
        }
        if (acc < (double)stage_thr[t])
            return t == 0 ? 0 : -1;
    }
    return 1;
}

/* OpenCV's walk over the first-stage verdicts of `lanes` consecutive windows: which ones it
 * visits (bit l), given whether the window before the first was a visited first-stage
 * rejection (*skip, updated for the next block).  rej0: first-stage rejections (bit l). */
static inline unsigned dlfers_haar_visits(unsigned rej0, int lanes, int* skip)
{
    unsigned visited = 0;
    int sk = *skip;
    for (int l = 0; l < lanes; l++) {
        if (sk) {
            sk = 0;
            continue;
        }
        visited |= 1u << l;
        sk = (int)(rej0 >> l & 1);
    }
    *skip = sk;
    return visited;
}

#define DLFERS_HAAR_ARGS const int32_t* ps, const int32_t* pq, const int32_t* nofs, double area, \
    const int32_t* ofs, const float* wts, const float* thr, const uint8_t* shape, const float* leaves, \
    const int32_t* stage_n, const float* stage_thr, int n_stages, int* skip

#if defined(__AVX2__)
static inline __m256i dlfers_haar_rect8(const int32_t* p, const int32_t* o)
{
    __m256i a = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i*)(p + o[0])),
                                 _mm256_loadu_si256((const __m256i*)(p + o[1])));
    __m256i b = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i*)(p + o[3])),
                                 _mm256_loadu_si256((const __m256i*)(p + o[2])));
    return _mm256_add_epi32(a, b);
}

/* Whether each of 8 windows' normalised feature of one node is below `thr` (all-ones lanes). */
static inline __m256 dlfers_haar_below8(const int32_t* ps, const int32_t* o, const float* w, float thr, __m256 vnf)
{
    __m256 r0 = _mm256_mul_ps(_mm256_set1_ps(w[0]), _mm256_cvtepi32_ps(dlfers_haar_rect8(ps, o)));
    __m256 r1 = _mm256_mul_ps(_mm256_set1_ps(w[1]), _mm256_cvtepi32_ps(dlfers_haar_rect8(ps, o + 4)));
    __m256 r = _mm256_add_ps(r0, r1);
    if (w[2] != 0.0f)
        r = _mm256_add_ps(r, _mm256_mul_ps(_mm256_set1_ps(w[2]), _mm256_cvtepi32_ps(dlfers_haar_rect8(ps, o + 8))));
    return _mm256_cmp_ps(_mm256_mul_ps(r, vnf), _mm256_set1_ps(thr), _CMP_LT_OQ);
}

/* 8 consecutive windows of a row (AVX2), base pointers ps/pq: accepted and visited ones (bit l). */
static unsigned dlfers_haar_block8(DLFERS_HAAR_ARGS)
{
    __m256i vs = dlfers_haar_rect8(ps, nofs), vq = dlfers_haar_rect8(pq, nofs);
    __m256d ar = _mm256_set1_pd(area);
    __m128 vh[2];
    unsigned alive = 0;
    for (int h = 0; h < 2; h++) {
        __m128i s4 = h ? _mm256_extracti128_si256(vs, 1) : _mm256_castsi256_si128(vs);
        __m128i q4 = h ? _mm256_extracti128_si256(vq, 1) : _mm256_castsi256_si128(vq);
        /* uint32 -> double: the signed conversion, plus 2^32 where the sign bit is set */
        __m256d qd = _mm256_cvtepi32_pd(q4);
        qd = _mm256_add_pd(qd, _mm256_and_pd(_mm256_cmp_pd(qd, _mm256_setzero_pd(), _CMP_LT_OQ),
                                             _mm256_set1_pd(4294967296.0)));
        __m256d sd = _mm256_cvtepi32_pd(s4);
        __m256d nf = _mm256_sub_pd(_mm256_mul_pd(ar, qd), _mm256_mul_pd(sd, sd));
        __m256d pos = _mm256_cmp_pd(nf, _mm256_setzero_pd(), _CMP_GT_OQ);
        /* nf is an integer, so max(nf, 1) changes no positive lane */
        __m256d inv = _mm256_div_pd(_mm256_set1_pd(1.0), _mm256_sqrt_pd(_mm256_max_pd(nf, _mm256_set1_pd(1.0))));
        vh[h] = _mm256_cvtpd_ps(inv);
        __m256d flat = _mm256_cmp_pd(_mm256_mul_pd(ar, _mm256_cvtps_pd(vh[h])), _mm256_set1_pd(1e-1), _CMP_LT_OQ);
        alive |= (unsigned)_mm256_movemask_pd(_mm256_and_pd(pos, flat)) << (4 * h);
    }
    __m256 vnf = _mm256_insertf128_ps(_mm256_castps128_ps256(vh[0]), vh[1], 1);
    ptrdiff_t s = 0, n = 0;
    for (int t = 0; t < n_stages; t++) {
        __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
        for (ptrdiff_t e = s + stage_n[t]; s < e; s++) {
            const float* lv = leaves + 3 * s;
            __m256 below = dlfers_haar_below8(ps, ofs + 12 * n, wts + 3 * n, thr[n], vnf), leaf;
            if (shape[s] == 0) {
                leaf = _mm256_blendv_ps(_mm256_set1_ps(lv[1]), _mm256_set1_ps(lv[0]), below);
                n += 1;
            } else {  /* both nodes for every lane, then OpenCV's path through the tree */
                __m256 below2 = dlfers_haar_below8(ps, ofs + 12 * (n + 1), wts + 3 * (n + 1), thr[n + 1], vnf);
                __m256 deep = _mm256_blendv_ps(_mm256_set1_ps(lv[2]), _mm256_set1_ps(lv[1]), below2);
                leaf = shape[s] == 1 ? _mm256_blendv_ps(deep, _mm256_set1_ps(lv[0]), below)
                                     : _mm256_blendv_ps(_mm256_set1_ps(lv[0]), deep, below);
                n += 2;
            }
            acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(leaf)));
            acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(leaf, 1)));
        }
        __m256d st = _mm256_set1_pd((double)stage_thr[t]);
        unsigned rej = ((unsigned)_mm256_movemask_pd(_mm256_cmp_pd(acc0, st, _CMP_LT_OQ))
                        | (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(acc1, st, _CMP_LT_OQ)) << 4) & alive;
        if (t == 0)  /* OpenCV never visits the window after a first-stage rejection */
            alive &= dlfers_haar_visits(rej, 8, skip);
        alive &= ~rej;
        if (!alive) {
            if (t == 0)
                return 0;
            break;
        }
    }
    if (n_stages == 0)
        alive &= dlfers_haar_visits(0, 8, skip);
    return alive;
}

#endif

/* Which path dlfers_haar_scan takes in this build: 1 AVX2 (8 windows at a time), 0 plain C. */
static int dlfers_haar_path(void)
{
#if defined(__AVX2__)
    return 1;
#else
    return 0;
#endif
}

/* Scan one layer: windows i = 0..nx-1 of rows y = 0, ystep, ..., (ny-1)·ystep; out[(y/ystep)·nx + i]
 * = 1 where OpenCV's walk visits the window and the cascade accepts it, else 0.  `path` as
 * dlfers_haar_path (the AVX2 path needs stride >= w + 64). */
static void dlfers_haar_scan(const int32_t* sum, const uint32_t* sq, ptrdiff_t stride, ptrdiff_t nx,
                                  ptrdiff_t ny, int ystep, const int32_t* nofs, double area, const int32_t* ofs,
                                  const float* wts, const float* thr, const uint8_t* shape, const float* leaves,
                                  const int32_t* stage_n, const float* stage_thr, int n_stages, int path,
                                  uint8_t* out)
{
    for (ptrdiff_t iy = 0, y = 0; iy < ny; iy++, y += ystep) {
        uint8_t* o = out + iy * nx;
        int skip = 0;
        ptrdiff_t i = 0;
#if defined(__AVX2__)
        for (; path == 1 && i < nx; i += 8) {
            const int32_t* ps = sum + y * stride + i;
            const int32_t* pq = (const int32_t*)sq + y * stride + i;
            unsigned acc = dlfers_haar_block8(ps, pq, nofs, area, ofs, wts, thr, shape, leaves, stage_n, stage_thr,
                                              n_stages, &skip);
            for (int l = 0; l < 8 && i + l < nx; l++)
                o[i + l] = (uint8_t)(acc >> l & 1);
        }
#endif
        (void)path;
        for (; i < nx; i++) {
            if (skip) {
                skip = 0;
                o[i] = 0;
                continue;
            }
            int v = dlfers_haar_window(sum, sq, y * stride + i, nofs, area, ofs, wts, thr, shape, leaves, stage_n,
                                       stage_thr, n_stages);
            o[i] = (uint8_t)(v > 0);
            skip = v == 0;
        }
    }
}

#endif
