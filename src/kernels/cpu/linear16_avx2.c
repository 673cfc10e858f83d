/*
 * linear16_avx2.c - the 16-bit-weight kernel (linear16.h) with AVX2 and
 * FMA: 8 lanes, bf16 widened by a zero-extend and a shift, f16 by F16C's
 * vcvtph2ps.  Compiled for AVX2 by function attributes only and chosen at
 * run time (Haswell, Zen and later).
 */
#include "kernels/cpu/linear16.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define TARGET __attribute__((target("avx2,fma,f16c")))
#define KERNEL br_linear16_avx2
#define V __m256
#define VL 8

static inline __attribute__((always_inline)) TARGET V v_zero(void) { return _mm256_setzero_ps(); }
static inline __attribute__((always_inline)) TARGET V v_load(const float *p) { return _mm256_loadu_ps(p); }
static inline __attribute__((always_inline)) TARGET void v_store(float *p, V v) { _mm256_storeu_ps(p, v); }
static inline __attribute__((always_inline)) TARGET V v_set1(float f) { return _mm256_set1_ps(f); }
static inline __attribute__((always_inline)) TARGET V v_add(V a, V b) { return _mm256_add_ps(a, b); }
static inline __attribute__((always_inline)) TARGET V v_fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }

static inline __attribute__((always_inline)) TARGET V v_widen(const uint16_t *p, br_dtype dt) {
    const __m128i h = _mm_loadu_si128((const __m128i *)p);
    return dt == BR_BF16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)) : _mm256_cvtph_ps(h);
}

/* Pairwise adds: [sum a, sum b, sum c, sum d]. */
static inline __attribute__((always_inline)) TARGET void v_sum4(V a, V b, V c, V d, float *out) {
    const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1)));
}

/* 8 x 8 transpose: pairs of rows interleave 32-bit, then 64-bit elements, which transposes 4 x 4 blocks
 * within each 128-bit lane; a lane exchange then moves the blocks into place. */
static inline __attribute__((always_inline)) TARGET void v_transpose(V r[8]) {
    V t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4)
        for (int j = 0; j < 2; j++) {
            const __m256d a = _mm256_castps_pd(t[i + j]), b = _mm256_castps_pd(t[i + j + 2]);
            r[i + 2 * j] = _mm256_castpd_ps(_mm256_unpacklo_pd(a, b));
            r[i + 2 * j + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a, b));
        }
    for (int j = 0; j < 4; j++) {
        t[j] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x20);
        t[j + 4] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x31);
    }
    for (int j = 0; j < 8; j++) r[j] = t[j];
}

#include "kernels/cpu/linear16_simd.h"

int br_linear16_avx2_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && br_linear16_cpu_has_f16c();
}
#endif
