/* The two passes of the Gabor energy kernel (see _gabor.pyx), one output row of m samples at a time,
 * each tap's source a contiguous run of m floats.
 *
 * GCC and Clang: blocks of 16 samples held in vector registers through all the taps (GCC's vector
 * extensions: two AVX registers a block in the AVX2 build, four SSE registers in the baseline), two
 * rows at a time in the x pass so that enough independent sums hide the latency of an addition; a
 * tail of fewer than 16 samples one at a time.  Other compilers: the same sums in plain loops.
 *
 * The order of the float32 additions, which the Numba kernel follows too: every sum adds its terms
 * in tap order, each a·b + c as two roundings (no FMA contraction: -ffp-contract=off).  The x pass
 * of a filter with symmetric x taps sums wr[p]·(v[p] + v[k-1-p]) over the pairs p < r, then
 * wr[r]·v[r] (likewise wi with the differences); the y pass sums the four real products of the
 * complex one (A = Σ wr·Re T, B = Σ wi·Im T, C = Σ wr·Im T, D = Σ wi·Re T) and takes
 * |(A - B) + i·(C + D)|.  Every build gives the same floats. */
#ifndef DLFERS_GABOR_H
#define DLFERS_GABOR_H

#include <math.h>
#include <stddef.h>

#if (defined(__GNUC__) || defined(__clang__)) && !defined(_MSC_VER)
#define DLFERS_GABOR_VECTOR 1
/* the target's vector width in floats (GCC lowers wider generic vectors badly), and vectors per block */
#if defined(__AVX__)
#define DLFERS_GW 8
#else
#define DLFERS_GW 4
#endif
#define DLFERS_GN (16 / DLFERS_GW)
typedef float dlfers_gv __attribute__((vector_size(DLFERS_GW * 4)));
typedef float dlfers_gvu __attribute__((vector_size(DLFERS_GW * 4), aligned(4), may_alias));
#define DLFERS_GL(p) (*(const dlfers_gvu *)(p))
#define DLFERS_GS(p, v) (*(dlfers_gvu *)(p) = (v))
#define DLFERS_FOR_V for (ptrdiff_t v = 0; v < DLFERS_GN; v++)
#else
#define DLFERS_GABOR_VECTOR 0
#endif

/* x pass, rows A and B (B may be A): re[j] = Σ_b wr[b]·src[off[b] + j], im likewise with wi, for j in [0, m) */
static void dlfers_gabor_x_rows(const float *restrict srca, const float *restrict srcb,
                                const ptrdiff_t *restrict off, const float *restrict wr,
                                const float *restrict wi, ptrdiff_t k, ptrdiff_t m, float *restrict rea,
                                float *restrict ima, float *restrict reb, float *restrict imb)
{
    ptrdiff_t j0 = 0, j, b;
#if DLFERS_GABOR_VECTOR
    for (; j0 + 16 <= m; j0 += 16) {
        dlfers_gv ra[DLFERS_GN], ia[DLFERS_GN], rb[DLFERS_GN], ib[DLFERS_GN];
        DLFERS_FOR_V ra[v] = ia[v] = rb[v] = ib[v] = (dlfers_gv){0};
        for (b = 0; b < k; b++) {
            const float *pa = srca + off[b] + j0, *pb = srcb + off[b] + j0;
            const float r = wr[b], i = wi[b];
            DLFERS_FOR_V {
                const dlfers_gv va = DLFERS_GL(pa + v * DLFERS_GW), vb = DLFERS_GL(pb + v * DLFERS_GW);
                ra[v] = ra[v] + r * va;
                ia[v] = ia[v] + i * va;
                rb[v] = rb[v] + r * vb;
                ib[v] = ib[v] + i * vb;
            }
        }
        DLFERS_FOR_V {
            DLFERS_GS(rea + j0 + v * DLFERS_GW, ra[v]);
            DLFERS_GS(ima + j0 + v * DLFERS_GW, ia[v]);
            DLFERS_GS(reb + j0 + v * DLFERS_GW, rb[v]);
            DLFERS_GS(imb + j0 + v * DLFERS_GW, ib[v]);
        }
    }
#endif
    for (j = j0; j < m; j++) {
        float ra = 0.0f, ia = 0.0f, rb = 0.0f, ib = 0.0f;
        for (b = 0; b < k; b++) {
            const float va = srca[off[b] + j], vb = srcb[off[b] + j];
            ra = ra + wr[b] * va;
            ia = ia + wi[b] * va;
            rb = rb + wr[b] * vb;
            ib = ib + wi[b] * vb;
        }
        rea[j] = ra;
        ima[j] = ia;
        reb[j] = rb;
        imb[j] = ib;
    }
}

/* Symmetric taps (wr[b] = wr[k-1-b], wi[b] = -wi[k-1-b], as every Gabor filter's): the pixels of tap pairs
 * b, k-1-b added and subtracted once per row for all the filters of a call, as (k, m) floats ``sd``:
 * rows p < r the sums, rows r + p the differences, row 2r the centre tap's pixels (r = k/2). */
static void dlfers_gabor_pairs(const float *restrict src, const ptrdiff_t *restrict off, ptrdiff_t k, ptrdiff_t m,
                               float *restrict sd)
{
    const ptrdiff_t r = k / 2;
    ptrdiff_t p, j = 0;
#if DLFERS_GABOR_VECTOR
    for (; j + 16 <= m; j += 16) {
        for (p = 0; p < r; p++) {
            const float *a = src + off[p] + j, *b = src + off[k - 1 - p] + j;
            DLFERS_FOR_V {
                const dlfers_gv av = DLFERS_GL(a + v * DLFERS_GW), bv = DLFERS_GL(b + v * DLFERS_GW);
                DLFERS_GS(sd + p * m + j + v * DLFERS_GW, av + bv);
                DLFERS_GS(sd + (r + p) * m + j + v * DLFERS_GW, av - bv);
            }
        }
        DLFERS_FOR_V DLFERS_GS(sd + 2 * r * m + j + v * DLFERS_GW, DLFERS_GL(src + off[r] + j + v * DLFERS_GW));
    }
#endif
    for (; j < m; j++) {
        for (p = 0; p < r; p++) {
            const float a = src[off[p] + j], b = src[off[k - 1 - p] + j];
            sd[p * m + j] = a + b;
            sd[(r + p) * m + j] = a - b;
        }
        sd[2 * r * m + j] = src[off[r] + j];
    }
}

/* x pass with symmetric taps, rows A and B (B may be A) from their ``sd``: re[j] = Σ_{p<r} wr[p]·sum_p[j] +
 * wr[r]·centre[j], im[j] = Σ_{p<r} wi[p]·difference_p[j] + wi[r]·centre[j], terms added in that order */
static void dlfers_gabor_x_pairs(const float *restrict sda, const float *restrict sdb, const float *restrict wr,
                                 const float *restrict wi, ptrdiff_t k, ptrdiff_t m, float *restrict rea,
                                 float *restrict ima, float *restrict reb, float *restrict imb)
{
    const ptrdiff_t r = k / 2;
    ptrdiff_t j0 = 0, j, p;
#if DLFERS_GABOR_VECTOR
    for (; j0 + 16 <= m; j0 += 16) {
        dlfers_gv ra[DLFERS_GN], ia[DLFERS_GN], rb[DLFERS_GN], ib[DLFERS_GN];
        const float *sa = sda + j0, *da = sda + r * m + j0, *sb = sdb + j0, *db = sdb + r * m + j0;
        DLFERS_FOR_V ra[v] = ia[v] = rb[v] = ib[v] = (dlfers_gv){0};
        for (p = 0; p < r; p++, sa += m, da += m, sb += m, db += m) {
            /* pair p: sums at row p, differences at row r + p */
            const float w = wr[p], x = wi[p];
            DLFERS_FOR_V {
                ra[v] = ra[v] + w * DLFERS_GL(sa + v * DLFERS_GW);
                ia[v] = ia[v] + x * DLFERS_GL(da + v * DLFERS_GW);
                rb[v] = rb[v] + w * DLFERS_GL(sb + v * DLFERS_GW);
                ib[v] = ib[v] + x * DLFERS_GL(db + v * DLFERS_GW);
            }
        }
        {   /* the centre tap: row 2r (da, db point there now) */
            const float w = wr[r], x = wi[r];
            DLFERS_FOR_V {
                ra[v] = ra[v] + w * DLFERS_GL(da + v * DLFERS_GW);
                ia[v] = ia[v] + x * DLFERS_GL(da + v * DLFERS_GW);
                rb[v] = rb[v] + w * DLFERS_GL(db + v * DLFERS_GW);
                ib[v] = ib[v] + x * DLFERS_GL(db + v * DLFERS_GW);
            }
        }
        DLFERS_FOR_V {
            DLFERS_GS(rea + j0 + v * DLFERS_GW, ra[v]);
            DLFERS_GS(ima + j0 + v * DLFERS_GW, ia[v]);
            DLFERS_GS(reb + j0 + v * DLFERS_GW, rb[v]);
            DLFERS_GS(imb + j0 + v * DLFERS_GW, ib[v]);
        }
    }
#endif
    for (j = j0; j < m; j++) {
        float ra = 0.0f, ia = 0.0f, rb = 0.0f, ib = 0.0f;
        for (p = 0; p <= r; p++) {
            const ptrdiff_t di = (r + p) * m + j, su = p < r ? p * m + j : di;
            ra = ra + wr[p] * sda[su];
            ia = ia + wi[p] * sda[di];
            rb = rb + wr[p] * sdb[su];
            ib = ib + wi[p] * sdb[di];
        }
        rea[j] = ra;
        ima[j] = ia;
        reb[j] = rb;
        imb[j] = ib;
    }
}

/* y pass, one row: with A = Σ_a wr[a]·tre[off[a] + j], B = Σ wi·tim, C = Σ wr·tim, D = Σ wi·tre (the terms added
 * in tap order), mag[j] = |(A - B) + i·(C + D)|, the response's magnitude; and where ``mirror`` is not NULL,
 * mirror[j] = |(A + B) + i·(D - C)|, that of the filter with the same y taps and conjugate x taps (its T is
 * the conjugate of this one's, so its A, B, C, D are A, -B, -C, D: the same floats as computing it) */
static void dlfers_gabor_y_row(const float *restrict tre, const float *restrict tim,
                               const ptrdiff_t *restrict off, const float *restrict wr,
                               const float *restrict wi, ptrdiff_t k, ptrdiff_t m, float *restrict mag,
                               float *restrict mirror)
{
    ptrdiff_t j0 = 0, j, a;
#if DLFERS_GABOR_VECTOR
    for (; j0 + 16 <= m; j0 += 16) {
        dlfers_gv sa[DLFERS_GN], sb[DLFERS_GN], sc[DLFERS_GN], sd[DLFERS_GN];
        DLFERS_FOR_V sa[v] = sb[v] = sc[v] = sd[v] = (dlfers_gv){0};
        for (a = 0; a < k; a++) {
            const float *p = tre + off[a] + j0, *q = tim + off[a] + j0;
            const float wra = wr[a], wia = wi[a];
            DLFERS_FOR_V {
                const dlfers_gv pv = DLFERS_GL(p + v * DLFERS_GW), qv = DLFERS_GL(q + v * DLFERS_GW);
                sa[v] = sa[v] + wra * pv;
                sb[v] = sb[v] + wia * qv;
                sc[v] = sc[v] + wra * qv;
                sd[v] = sd[v] + wia * pv;
            }
        }
        DLFERS_FOR_V {
            const dlfers_gv re = sa[v] - sb[v], im = sc[v] + sd[v];
            DLFERS_GS(mag + j0 + v * DLFERS_GW, re * re + im * im);
        }
        if (mirror)
            DLFERS_FOR_V {
                const dlfers_gv re = sa[v] + sb[v], im = sd[v] - sc[v];
                DLFERS_GS(mirror + j0 + v * DLFERS_GW, re * re + im * im);
            }
    }
    /* square roots of the blocks' squared magnitudes (loops the compiler vectorises) */
    for (j = 0; j < j0; j++)
        mag[j] = sqrtf(mag[j]);
    if (mirror)
        for (j = 0; j < j0; j++)
            mirror[j] = sqrtf(mirror[j]);
#endif
    for (j = j0; j < m; j++) {
        float sa = 0.0f, sb = 0.0f, sc = 0.0f, sd = 0.0f;
        for (a = 0; a < k; a++) {
            const float p = tre[off[a] + j], q = tim[off[a] + j];
            sa = sa + wr[a] * p;
            sb = sb + wi[a] * q;
            sc = sc + wr[a] * q;
            sd = sd + wi[a] * p;
        }
        mag[j] = sqrtf((sa - sb) * (sa - sb) + (sc + sd) * (sc + sd));
        if (mirror)
            mirror[j] = sqrtf((sa + sb) * (sa + sb) + (sd - sc) * (sd - sc));
    }
}

#endif
