/* One row of LBP_{8,1} patterns (see _lbp.pyx): plain loops over restrict pointers, which the
 * compiler vectorises (the AVX2 build: four doubles at a time).  No FMA contraction in either
 * build (-ffp-contract=off in the AVX2 flags; SSE2 has none), so the interpolated neighbours
 * are the same doubles as scikit-image's and the reference's. */
#ifndef DLFERS_LBP_H
#define DLFERS_LBP_H

#include <stddef.h>

static inline double dlfers_lerp2(double a, double b, double c, double d, double wc, double vc, double wr,
                                  double vr)
{
    return vr * (vc * a + wc * b) + wr * (vc * c + wc * d);
}

/* codes[x] for x in [1, w-1): rows r0 (above), r1, r2 (below); column weights lw/lv (neighbours
 * at x - t) and rw/rv (x + t); row weights rm/vm (above, y - t) and rp/vp (below, y + t) */
static void dlfers_lbp_row(const float *restrict r0, const float *restrict r1, const float *restrict r2,
                           const double *restrict lw, const double *restrict lv, const double *restrict rw,
                           const double *restrict rv, double rm, double vm, double rp, double vp, ptrdiff_t w,
                           int *restrict codes)
{
    for (ptrdiff_t x = 1; x < w - 1; x++) {
        double c = r1[x];
        int k = (r1[x + 1] >= c) | ((r0[x] >= c) << 2) | ((r1[x - 1] >= c) << 4) | ((r2[x] >= c) << 6);
        k |= (dlfers_lerp2(r0[x], r0[x + 1], r1[x], r1[x + 1], rw[x], rv[x], rm, vm) >= c) << 1;
        k |= (dlfers_lerp2(r0[x - 1], r0[x], r1[x - 1], r1[x], lw[x], lv[x], rm, vm) >= c) << 3;
        k |= (dlfers_lerp2(r1[x - 1], r1[x], r2[x - 1], r2[x], lw[x], lv[x], rp, vp) >= c) << 5;
        k |= (dlfers_lerp2(r1[x], r1[x + 1], r2[x], r2[x + 1], rw[x], rv[x], rp, vp) >= c) << 7;
        codes[x] = k;
    }
}

#endif
