/* Histogram-intersection row sum for _histkernels.pyx: sum_d min(x[d], y[d]).
 *
 * Eight float32 partial sums (lane k adds the dimensions d = k mod 8) over blocks of
 * ISECT_BLOCK dimensions; each block's lanes are combined as
 * ((s0+s4)+(s1+s5))+((s2+s6)+(s3+s7)) and added to a float64 total.  The SSE and NEON
 * paths are two 4-lane vectors holding s0..s3 and s4..s7, so every path performs the
 * same float operations in the same order and returns the same bits.
 */
#ifndef DLFERS_ISECT_H
#define DLFERS_ISECT_H

#include <stddef.h>

#define ISECT_BLOCK 512

#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <emmintrin.h>
#define ISECT_SSE 1
#elif defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>
#define ISECT_NEON 1
#endif

static inline float isect_min(float u, float v) { return u < v ? u : v; }

static inline double isect_row(const float *x, const float *y, ptrdiff_t dim)
{
    double total = 0.0;
    for (ptrdiff_t d0 = 0; d0 < dim; d0 += ISECT_BLOCK) {
        ptrdiff_t end = d0 + ISECT_BLOCK < dim ? d0 + ISECT_BLOCK : dim;
        ptrdiff_t stop = d0 + ((end - d0) / 8) * 8, d = d0;
        float s[8];
#if defined(ISECT_SSE)
        __m128 lo = _mm_setzero_ps(), hi = _mm_setzero_ps();
        for (; d < stop; d += 8) {
            lo = _mm_add_ps(lo, _mm_min_ps(_mm_loadu_ps(x + d), _mm_loadu_ps(y + d)));
            hi = _mm_add_ps(hi, _mm_min_ps(_mm_loadu_ps(x + d + 4), _mm_loadu_ps(y + d + 4)));
        }
        _mm_storeu_ps(s, lo);
        _mm_storeu_ps(s + 4, hi);
#elif defined(ISECT_NEON)
        float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);
        for (; d < stop; d += 8) {
            lo = vaddq_f32(lo, vminq_f32(vld1q_f32(x + d), vld1q_f32(y + d)));
            hi = vaddq_f32(hi, vminq_f32(vld1q_f32(x + d + 4), vld1q_f32(y + d + 4)));
        }
        vst1q_f32(s, lo);
        vst1q_f32(s + 4, hi);
#else
        for (int k = 0; k < 8; k++) s[k] = 0.0f;
        for (; d < stop; d += 8)
            for (int k = 0; k < 8; k++) s[k] += isect_min(x[d + k], y[d + k]);
#endif
        for (; d < end; d++) s[0] += isect_min(x[d], y[d]);
        total += (double)(((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])));
    }
    return total;
}

#endif
