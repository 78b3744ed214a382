/* Histogram-intersection row sum for _histkernels.pyx: sum_d min(x[d], y[d]).
 *
 * Each minimum is exact in float32 and is added in float64: eight float64 partial sums
 * (lane k adds the dimensions d = k mod 8, in increasing d; the tail d >= 8*(dim/8) goes
 * to lane 0), combined as ((s0+s4)+(s1+s5))+((s2+s6)+(s3+s7)).  The AVX, SSE2 and NEON
 * paths hold the eight lanes in vectors of doubles and the scalar path in an array, so
 * every path performs the same float64 operations in the same order and returns the same
 * bits.  Summing in float64 makes an SVM score equal, to rounding in the last bits, to
 * any other float64 summation of the same minima (e.g. per region of bins, as
 * dlfers.explain does), where float32 partial sums were off by ~1e-6 per kernel value.
 */
#ifndef DLFERS_ISECT_H
#define DLFERS_ISECT_H

#include <stddef.h>

#if defined(__AVX__)
#include <immintrin.h>
#define ISECT_AVX 1
#elif defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <emmintrin.h>
#define ISECT_SSE 1
#elif defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>
#define ISECT_NEON 1
#endif

static inline float isect_min(float u, float v) { return u < v ? u : v; }

static inline double isect_row(const float *x, const float *y, ptrdiff_t dim)
{
    ptrdiff_t stop = (dim / 8) * 8, d = 0;
    double s[8];
#if defined(ISECT_AVX)
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    for (; d < stop; d += 8) {
        __m256 m = _mm256_min_ps(_mm256_loadu_ps(x + d), _mm256_loadu_ps(y + d));
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(m)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(m, 1)));
    }
    _mm256_storeu_pd(s, lo);
    _mm256_storeu_pd(s + 4, hi);
#elif defined(ISECT_SSE)
    __m128d a0 = _mm_setzero_pd(), a1 = _mm_setzero_pd(), a2 = _mm_setzero_pd(), a3 = _mm_setzero_pd();
    for (; d < stop; d += 8) {
        __m128 m0 = _mm_min_ps(_mm_loadu_ps(x + d), _mm_loadu_ps(y + d));
        __m128 m1 = _mm_min_ps(_mm_loadu_ps(x + d + 4), _mm_loadu_ps(y + d + 4));
        a0 = _mm_add_pd(a0, _mm_cvtps_pd(m0));
        a1 = _mm_add_pd(a1, _mm_cvtps_pd(_mm_movehl_ps(m0, m0)));
        a2 = _mm_add_pd(a2, _mm_cvtps_pd(m1));
        a3 = _mm_add_pd(a3, _mm_cvtps_pd(_mm_movehl_ps(m1, m1)));
    }
    _mm_storeu_pd(s, a0);
    _mm_storeu_pd(s + 2, a1);
    _mm_storeu_pd(s + 4, a2);
    _mm_storeu_pd(s + 6, a3);
#elif defined(ISECT_NEON)
    float64x2_t a0 = vdupq_n_f64(0.0), a1 = vdupq_n_f64(0.0), a2 = vdupq_n_f64(0.0), a3 = vdupq_n_f64(0.0);
    for (; d < stop; d += 8) {
        float32x4_t m0 = vminq_f32(vld1q_f32(x + d), vld1q_f32(y + d));
        float32x4_t m1 = vminq_f32(vld1q_f32(x + d + 4), vld1q_f32(y + d + 4));
        a0 = vaddq_f64(a0, vcvt_f64_f32(vget_low_f32(m0)));
        a1 = vaddq_f64(a1, vcvt_high_f64_f32(m0));
        a2 = vaddq_f64(a2, vcvt_f64_f32(vget_low_f32(m1)));
        a3 = vaddq_f64(a3, vcvt_high_f64_f32(m1));
    }
    vst1q_f64(s, a0);
    vst1q_f64(s + 2, a1);
    vst1q_f64(s + 4, a2);
    vst1q_f64(s + 6, a3);
#else
    for (int k = 0; k < 8; k++) s[k] = 0.0;
    for (; d < stop; d += 8)
        for (int k = 0; k < 8; k++) s[k] += (double)isect_min(x[d + k], y[d + k]);
#endif
    for (; d < dim; d++) s[0] += (double)isect_min(x[d], y[d]);
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/* isect_row of x against four rows y[0..3] at once, into out[0..3], with the same bits: the AVX
   path interleaves the four rows' additions (eight independent chains instead of two, so the
   loop is no longer bound by the latency of one chain); the other paths call isect_row. */
static inline void isect_rows4(const float *x, const float *const y[4], ptrdiff_t dim, double out[4])
{
#if defined(ISECT_AVX)
    ptrdiff_t stop = (dim / 8) * 8, d;
    double s[4][8];
    __m256d lo[4], hi[4];
    int r;
    for (r = 0; r < 4; r++)
        lo[r] = hi[r] = _mm256_setzero_pd();
    for (d = 0; d < stop; d += 8) {
        __m256 xv = _mm256_loadu_ps(x + d);
        for (r = 0; r < 4; r++) {
            __m256 m = _mm256_min_ps(xv, _mm256_loadu_ps(y[r] + d));
            lo[r] = _mm256_add_pd(lo[r], _mm256_cvtps_pd(_mm256_castps256_ps128(m)));
            hi[r] = _mm256_add_pd(hi[r], _mm256_cvtps_pd(_mm256_extractf128_ps(m, 1)));
        }
    }
    for (r = 0; r < 4; r++) {
        double *t = s[r];
        _mm256_storeu_pd(t, lo[r]);
        _mm256_storeu_pd(t + 4, hi[r]);
        for (d = stop; d < dim; d++) t[0] += (double)isect_min(x[d], y[r][d]);
        out[r] = ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
    }
#else
    for (int r = 0; r < 4; r++) out[r] = isect_row(x, y[r], dim);
#endif
}

#endif
