/* 7-bit word assignment for dlfers._kernels._encode (encode_soft_q8).
 *
 * Descriptors and codewords (values in [0, 1]: SIFT-normalised histograms and their
 * k-means centres) are quantised to q = clamp(rint(127 v), 0, 127), and each descriptor's
 * key to codeword j is the exact integer  ||q_c_j||^2 - 2 q_x . q_c_j  (its squared
 * distance in quantised units, less ||q_x||^2).  Integers make every implementation agree
 * to the last bit; 7 bits keep each pair of u8 x s8 products inside int16 for AVX2's
 * vpmaddubsw (2 * 127 * 127 = 32258).
 *
 * Layouts: a tile of nc descriptors is packed as xp[g * ncp + i] = the four bytes of
 * dimensions 4g .. 4g+3 of descriptor i (uint32 words holding the bytes in memory order; ncp = nc rounded up to a
 * multiple of 16, dimensions past dim and rows past nc are 0); codewords are rows of
 * dim4 * 4 bytes (zero-padded).  Keys come out code-major, g[j * ncp + i], as the
 * rank-major selection in _encode.pyx reads them.
 *
 * Three paths, one answer: AVX-512 VNNI (vpdpbusd on 256-bit registers, chosen at run time
 * where the CPU and OS support it), AVX2 (vpmaddubsw + vpmaddwd), and plain C.  For up to 8
 * words per descriptor, the VNNI and AVX2 paths fuse the keys with the selection
 * (dlfers_q8_select): no key tile is written, each block's best words stay in registers.
 */
#ifndef DLFERS_Q8_H
#define DLFERS_Q8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#if defined(__AVX2__) && (defined(__GNUC__) || defined(__clang__)) && !defined(_MSC_VER)
#define DLFERS_Q8_VNNI 1
#else
#define DLFERS_Q8_VNNI 0
#endif

#define DLFERS_Q8_SCALE 127.0f
#define DLFERS_Q8_ROWS 16

/* fused keys + selection (below): the most words per descriptor kept in registers */
#define DLFERS_Q8_MAXK 8
#define DLFERS_Q8_EACH_K(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8)
typedef void (*dlfers_q8_select_fn)(const uint32_t*, ptrdiff_t, ptrdiff_t, const uint8_t*, const int32_t*, ptrdiff_t,
                                    int32_t, int32_t*, int32_t*);

/* clamp(rint(127 v), 0, 127), rounding half to even: adding and subtracting 1.5 * 2^23 rounds
   a float in [0, 2^22) to an integer under the default rounding mode (as numpy.rint does); NaN
   fails s > 0 and gives 0.  Branch-free selects, so the loop below vectorises. */
static inline uint8_t dlfers_q8_byte(float v)
{
    float s = v * DLFERS_Q8_SCALE;
    s = s > 0.0f ? s : 0.0f;
    s = s < DLFERS_Q8_SCALE ? s : DLFERS_Q8_SCALE;
    s = (s + 12582912.0f) - 12582912.0f;
    return (uint8_t)(int32_t)s;
}

/* Quantise and pack rows [0, nc) of x (row stride dim floats) into xp (dim4 x ncp uint32);
   row holds dim4 * 4 bytes of scratch. */
static void dlfers_q8_pack(const float* x, ptrdiff_t nc, ptrdiff_t ncp, ptrdiff_t dim, uint32_t* xp, uint8_t* row)
{
    ptrdiff_t dim4 = (dim + 3) / 4, i, g, d;
    uint32_t w;
    memset(xp, 0, (size_t)(dim4 * ncp) * sizeof(uint32_t));
    memset(row, 0, (size_t)(dim4 * 4));
    for (i = 0; i < nc; i++) {
        const float* src = x + i * dim;
        for (d = 0; d < dim; d++)
            row[d] = dlfers_q8_byte(src[d]);
        for (g = 0; g < dim4; g++) {
            memcpy(&w, row + 4 * g, 4);
            xp[g * ncp + i] = w;
        }
    }
}

/* Keys of codewords [0, ndc) of cq (rows of dim4 * 4 bytes; squared norms csq) against the
   packed tile: g[j * ncp + i] = csq[j] - 2 * dot(x_i, c_j), plain C. */
static void dlfers_q8_keys_c(const uint32_t* xp, ptrdiff_t ncp, ptrdiff_t dim4, const uint8_t* cq,
                             const int32_t* csq, ptrdiff_t ndc, int32_t* g)
{
    ptrdiff_t j, i, k;
    for (j = 0; j < ndc; j++) {
        const uint8_t* c = cq + j * dim4 * 4;
        int32_t* out = g + j * ncp;
        for (i = 0; i < ncp; i++)
            out[i] = 0;
        for (k = 0; k < dim4; k++) {
            const uint32_t* col = xp + k * ncp;
            int32_t c0 = c[4 * k], c1 = c[4 * k + 1], c2 = c[4 * k + 2], c3 = c[4 * k + 3];
            for (i = 0; i < ncp; i++) {
                const uint8_t* b = (const uint8_t*)(col + i);  /* the bytes in memory order */
                out[i] += (int32_t)b[0] * c0 + (int32_t)b[1] * c1 + (int32_t)b[2] * c2 + (int32_t)b[3] * c3;
            }
        }
        for (i = 0; i < ncp; i++)
            out[i] = csq[j] - 2 * out[i];
    }
}

#if defined(__AVX2__)
static inline int32_t dlfers_q8_word(const uint8_t* p)
{
    int32_t w;
    memcpy(&w, p, 4);
    return w;
}

/* One block kernel for both instruction sets: four codewords x sixteen descriptors per block,
   DOT(acc, x, c) adding each lane's four byte products to acc; codewords past the last multiple
   of four go to TAIL. */
#define DLFERS_Q8_DEFINE_KEYS(NAME, DOT, TAIL)                                                          \
    static void NAME(const uint32_t* xp, ptrdiff_t ncp, ptrdiff_t dim4, const uint8_t* cq,              \
                     const int32_t* csq, ptrdiff_t ndc, int32_t* g)                                     \
    {                                                                                                   \
        ptrdiff_t j = 0, i, k, c;                                                                       \
        for (; j + 4 <= ndc; j += 4) {                                                                  \
            for (i = 0; i < ncp; i += 16) {                                                             \
                __m256i acc[4][2];                                                                      \
                for (c = 0; c < 4; c++)                                                                 \
                    acc[c][0] = acc[c][1] = _mm256_setzero_si256();                                     \
                for (k = 0; k < dim4; k++) {                                                            \
                    __m256i xa = _mm256_loadu_si256((const __m256i*)(xp + k * ncp + i));                \
                    __m256i xb = _mm256_loadu_si256((const __m256i*)(xp + k * ncp + i + 8));            \
                    for (c = 0; c < 4; c++) {                                                           \
                        __m256i cb = _mm256_set1_epi32(dlfers_q8_word(cq + (j + c) * dim4 * 4 + 4 * k)); \
                        acc[c][0] = DOT(acc[c][0], xa, cb);                                             \
                        acc[c][1] = DOT(acc[c][1], xb, cb);                                             \
                    }                                                                                   \
                }                                                                                       \
                for (c = 0; c < 4; c++) {                                                               \
                    __m256i s = _mm256_set1_epi32(csq[j + c]);                                          \
                    _mm256_storeu_si256((__m256i*)(g + (j + c) * ncp + i),                              \
                                        _mm256_sub_epi32(s, _mm256_add_epi32(acc[c][0], acc[c][0])));   \
                    _mm256_storeu_si256((__m256i*)(g + (j + c) * ncp + i + 8),                          \
                                        _mm256_sub_epi32(s, _mm256_add_epi32(acc[c][1], acc[c][1])));   \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
        if (j < ndc)                                                                                    \
            TAIL(xp, ncp, dim4, cq + j * dim4 * 4, csq + j, ndc - j, g + j * ncp);                      \
    }

/* AVX2: vpmaddubsw (pairs of byte products, inside int16 for 7-bit values) + vpmaddwd by ones */
#define DLFERS_Q8_DOT_AVX2(acc, x, c) \
    _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((x), (c)), _mm256_set1_epi16(1)))
DLFERS_Q8_DEFINE_KEYS(dlfers_q8_keys_avx2, DLFERS_Q8_DOT_AVX2, dlfers_q8_keys_c)

/* The fused keys and selection of dlfers_q8_select_vnni_K (below) in AVX2: eight descriptors per
   block, two codewords per load of them, vpmaddubsw + vpmaddwd products, compare-and-blend
   insertion. */
#define DLFERS_Q8_DEFINE_SELECT_AVX2(K)                                                                     \
    static void dlfers_q8_select_avx2_##K(const uint32_t* xp, ptrdiff_t ncp, ptrdiff_t dim4,               \
                                          const uint8_t* cq, const int32_t* csq, ptrdiff_t ndc, int32_t j0, \
                                          int32_t* topv, int32_t* topi)                                     \
    {                                                                                                       \
        ptrdiff_t i, j, c, kk, nw;                                                                          \
        int p;                                                                                              \
        const __m256i ones = _mm256_set1_epi16(1);                                                          \
        for (i = 0; i < ncp; i += 8) {                                                                      \
            __m256i tv[K], ti[K];                                                                           \
            for (p = 0; p < K; p++) {                                                                       \
                tv[p] = _mm256_loadu_si256((const __m256i*)(topv + p * ncp + i));                          \
                ti[p] = _mm256_loadu_si256((const __m256i*)(topi + p * ncp + i));                          \
            }                                                                                               \
            for (j = 0; j < ndc; j += nw) {                                                                 \
                __m256i acc[2];                                                                             \
                nw = ndc - j < 2 ? ndc - j : 2;                                                             \
                acc[0] = acc[1] = _mm256_setzero_si256();                                                   \
                for (kk = 0; kk < dim4; kk++) {                                                             \
                    __m256i xa = _mm256_loadu_si256((const __m256i*)(xp + kk * ncp + i));                   \
                    for (c = 0; c < nw; c++) {                                                              \
                        __m256i cb = _mm256_set1_epi32(dlfers_q8_word(cq + (j + c) * dim4 * 4 + 4 * kk));   \
                        acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(_mm256_maddubs_epi16(xa, cb), ones)); \
                    }                                                                                       \
                }                                                                                           \
                for (c = 0; c < nw; c++) {                                                                  \
                    __m256i v = _mm256_sub_epi32(_mm256_set1_epi32(csq[j + c]), _mm256_add_epi32(acc[c], acc[c])); \
                    __m256i jv = _mm256_set1_epi32((int32_t)(j0 + j + c));                                  \
                    for (p = K - 1; p > 0; p--) {                                                           \
                        __m256i m = _mm256_cmpgt_epi32(tv[p], v);                                           \
                        __m256i mp = _mm256_cmpgt_epi32(tv[p - 1], v);                                      \
                        tv[p] = _mm256_blendv_epi8(tv[p], _mm256_blendv_epi8(v, tv[p - 1], mp), m);         \
                        ti[p] = _mm256_blendv_epi8(ti[p], _mm256_blendv_epi8(jv, ti[p - 1], mp), m);        \
                    }                                                                                       \
                    {                                                                                       \
                        __m256i m = _mm256_cmpgt_epi32(tv[0], v);                                           \
                        tv[0] = _mm256_blendv_epi8(tv[0], v, m);                                            \
                        ti[0] = _mm256_blendv_epi8(ti[0], jv, m);                                           \
                    }                                                                                       \
                }                                                                                           \
            }                                                                                               \
            for (p = 0; p < K; p++) {                                                                       \
                _mm256_storeu_si256((__m256i*)(topv + p * ncp + i), tv[p]);                                 \
                _mm256_storeu_si256((__m256i*)(topi + p * ncp + i), ti[p]);                                 \
            }                                                                                               \
        }                                                                                                   \
    }
DLFERS_Q8_EACH_K(DLFERS_Q8_DEFINE_SELECT_AVX2)
#endif

#if DLFERS_Q8_VNNI
/* AVX-512 VNNI on 256-bit registers (vpdpbusd: four u8 x s8 products summed into each int32
   lane); only called where dlfers_q8_has_vnni() says so. */
#define DLFERS_Q8_DOT_VNNI(acc, x, c) _mm256_dpbusd_epi32((acc), (x), (c))
__attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni")))
DLFERS_Q8_DEFINE_KEYS(dlfers_q8_keys_vnni, DLFERS_Q8_DOT_VNNI, dlfers_q8_keys_avx2)

/* Keys and selection fused (VNNI path, k <= DLFERS_Q8_MAXK): for each block of 16 descriptors, the
   running k smallest keys and their words stay in zmm registers while codewords [0, ndc) (global
   indices j0 + j) are visited in increasing order, four per load of the descriptors.  topv/topi
   hold rank p of descriptor i at p * ncp + i (read at the start, written at the end), as the
   rank-major selection in _encode.pyx keeps them, and the update is the same: rank p takes a key
   strictly smaller than it, the old rank p - 1 moving down where that one is larger too, so ties
   keep the lower index and the result is identical to keys + _insert_column. */
#define DLFERS_Q8_DEFINE_SELECT(K)                                                                          \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni")))                                       \
    static void dlfers_q8_select_vnni_##K(const uint32_t* xp, ptrdiff_t ncp, ptrdiff_t dim4,               \
                                          const uint8_t* cq, const int32_t* csq, ptrdiff_t ndc, int32_t j0, \
                                          int32_t* topv, int32_t* topi)                                     \
    {                                                                                                       \
        ptrdiff_t i, j, c, kk, nw;                                                                          \
        int p;                                                                                              \
        for (i = 0; i < ncp; i += 16) {                                                                     \
            __m512i tv[K], ti[K];                                                                           \
            for (p = 0; p < K; p++) {                                                                       \
                tv[p] = _mm512_loadu_si512((const void*)(topv + p * ncp + i));                             \
                ti[p] = _mm512_loadu_si512((const void*)(topi + p * ncp + i));                             \
            }                                                                                               \
            for (j = 0; j < ndc; j += nw) {                                                                 \
                __m512i acc[4];                                                                             \
                nw = ndc - j < 4 ? ndc - j : 4;                                                             \
                for (c = 0; c < 4; c++)                                                                     \
                    acc[c] = _mm512_setzero_si512();                                                        \
                if (nw == 4) {                                                                              \
                    for (kk = 0; kk < dim4; kk++) {                                                         \
                        __m512i xa = _mm512_loadu_si512((const void*)(xp + kk * ncp + i));                  \
                        for (c = 0; c < 4; c++)                                                             \
                            acc[c] = _mm512_dpbusd_epi32(                                                   \
                                acc[c], xa, _mm512_set1_epi32(dlfers_q8_word(cq + (j + c) * dim4 * 4 + 4 * kk))); \
                    }                                                                                       \
                } else {                                                                                    \
                    for (kk = 0; kk < dim4; kk++) {                                                         \
                        __m512i xa = _mm512_loadu_si512((const void*)(xp + kk * ncp + i));                  \
                        for (c = 0; c < nw; c++)                                                            \
                            acc[c] = _mm512_dpbusd_epi32(                                                   \
                                acc[c], xa, _mm512_set1_epi32(dlfers_q8_word(cq + (j + c) * dim4 * 4 + 4 * kk))); \
                    }                                                                                       \
                }                                                                                           \
                for (c = 0; c < nw; c++) {                                                                  \
                    __m512i v = _mm512_sub_epi32(_mm512_set1_epi32(csq[j + c]), _mm512_add_epi32(acc[c], acc[c])); \
                    __m512i jv = _mm512_set1_epi32((int32_t)(j0 + j + c));                                  \
                    for (p = K - 1; p > 0; p--) {                                                           \
                        __mmask16 m = _mm512_cmplt_epi32_mask(v, tv[p]);                                    \
                        __mmask16 mp = _mm512_cmplt_epi32_mask(v, tv[p - 1]);                               \
                        tv[p] = _mm512_mask_blend_epi32(m, tv[p], _mm512_mask_blend_epi32(mp, v, tv[p - 1])); \
                        ti[p] = _mm512_mask_blend_epi32(m, ti[p], _mm512_mask_blend_epi32(mp, jv, ti[p - 1])); \
                    }                                                                                       \
                    {                                                                                       \
                        __mmask16 m = _mm512_cmplt_epi32_mask(v, tv[0]);                                    \
                        tv[0] = _mm512_mask_blend_epi32(m, tv[0], v);                                       \
                        ti[0] = _mm512_mask_blend_epi32(m, ti[0], jv);                                      \
                    }                                                                                       \
                }                                                                                           \
            }                                                                                               \
            for (p = 0; p < K; p++) {                                                                       \
                _mm512_storeu_si512((void*)(topv + p * ncp + i), tv[p]);                                   \
                _mm512_storeu_si512((void*)(topi + p * ncp + i), ti[p]);                                   \
            }                                                                                               \
        }                                                                                                   \
    }
DLFERS_Q8_EACH_K(DLFERS_Q8_DEFINE_SELECT)


static int dlfers_q8_has_vnni(void)
{
    static int known = -1;  /* a benign race: every thread computes the same value */
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
                && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
    }
    return known;
}
#endif

/* The path dlfers_q8_keys takes on this CPU: 2 AVX-512 VNNI, 1 AVX2, 0 plain C.
   DLFERS_Q8_NO_VNNI set in the environment (read by the caller) passes allow_vnni = 0. */
static int dlfers_q8_path(int allow_vnni)
{
#if DLFERS_Q8_VNNI
    if (allow_vnni && dlfers_q8_has_vnni())
        return 2;
#else
    (void)allow_vnni;
#endif
#if defined(__AVX2__)
    return 1;
#else
    return 0;
#endif
}

/* The k smallest keys of codewords [0, ndc) (global indices j0 + j) merged into topv/topi
   (rank-major, ncp per rank) by the fused kernel: 1 where this path has one (VNNI or AVX2, k <= 8),
   0 where the caller computes the keys and inserts them itself (plain C, or k > 8). */
static int dlfers_q8_select(int path, const uint32_t* xp, ptrdiff_t ncp, ptrdiff_t dim4, const uint8_t* cq,
                            const int32_t* csq, ptrdiff_t ndc, int32_t j0, ptrdiff_t k, int32_t* topv,
                            int32_t* topi)
{
    dlfers_q8_select_fn fn = NULL;
#if DLFERS_Q8_VNNI
#define DLFERS_Q8_VNNI_ENTRY(K) dlfers_q8_select_vnni_##K,
    static const dlfers_q8_select_fn vnni[DLFERS_Q8_MAXK] = {DLFERS_Q8_EACH_K(DLFERS_Q8_VNNI_ENTRY)};
    if (path == 2 && k >= 1 && k <= DLFERS_Q8_MAXK)
        fn = vnni[k - 1];
#endif
#if defined(__AVX2__)
#define DLFERS_Q8_AVX2_ENTRY(K) dlfers_q8_select_avx2_##K,
    static const dlfers_q8_select_fn avx2[DLFERS_Q8_MAXK] = {DLFERS_Q8_EACH_K(DLFERS_Q8_AVX2_ENTRY)};
    if (path == 1 && k >= 1 && k <= DLFERS_Q8_MAXK)
        fn = avx2[k - 1];
#endif
    if (fn != NULL) {
        fn(xp, ncp, dim4, cq, csq, ndc, j0, topv, topi);
        return 1;
    }
    (void)path; (void)xp; (void)ncp; (void)dim4; (void)cq; (void)csq; (void)ndc; (void)j0; (void)k;
    (void)topv; (void)topi;
    return 0;
}

static void dlfers_q8_keys(int path, const uint32_t* xp, ptrdiff_t ncp, ptrdiff_t dim4, const uint8_t* cq,
                           const int32_t* csq, ptrdiff_t ndc, int32_t* g)
{
#if DLFERS_Q8_VNNI
    if (path == 2) {
        dlfers_q8_keys_vnni(xp, ncp, dim4, cq, csq, ndc, g);
        return;
    }
#endif
#if defined(__AVX2__)
    if (path >= 1) {
        dlfers_q8_keys_avx2(xp, ncp, dim4, cq, csq, ndc, g);
        return;
    }
#endif
    (void)path;
    dlfers_q8_keys_c(xp, ncp, dim4, cq, csq, ndc, g);
}

#endif
