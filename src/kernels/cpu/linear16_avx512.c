/*
 * linear16_avx512.c - the 16-bit-weight kernel (linear16.h) with AVX-512:
 * 16 lanes, bf16 widened by a zero-extend and a shift, f16 by vcvtph2ps.
 * Compiled for AVX-512 by function attributes only, so the build runs on
 * any x86-64 and this kernel is chosen at run time (AVX-512 F, BW and VL:
 * Skylake-X and later, Zen 4 and later).
 */
#include "kernels/cpu/linear16.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))
#define KERNEL br_linear16_avx512
#define V __m512
#define VL 16

static inline __attribute__((always_inline)) TARGET V v_zero(void) { return _mm512_setzero_ps(); }
static inline __attribute__((always_inline)) TARGET V v_load(const float *p) { return _mm512_loadu_ps(p); }
static inline __attribute__((always_inline)) TARGET void v_store(float *p, V v) { _mm512_storeu_ps(p, v); }
static inline __attribute__((always_inline)) TARGET V v_set1(float f) { return _mm512_set1_ps(f); }
static inline __attribute__((always_inline)) TARGET V v_add(V a, V b) { return _mm512_add_ps(a, b); }
static inline __attribute__((always_inline)) TARGET V v_fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }

static inline __attribute__((always_inline)) TARGET V v_widen(const uint16_t *p, br_dtype dt) {
    const __m256i h = _mm256_loadu_si256((const __m256i *)p);
    return dt == BR_BF16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)) : _mm512_cvtph_ps(h);
}

/* Halves added, then AVX's pairwise adds: [sum a, sum b, sum c, sum d]. */
static inline __attribute__((always_inline)) TARGET __m256 half(V v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}
static inline __attribute__((always_inline)) TARGET void v_sum4(V a, V b, V c, V d, float *out) {
    const __m256 ab = _mm256_hadd_ps(half(a), half(b)), cd = _mm256_hadd_ps(half(c), half(d));
    const __m256 abcd = _mm256_hadd_ps(ab, cd);
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1)));
}

/* 16 x 16 transpose: pairs of rows interleave 32-bit, then 64-bit elements, which transposes 4 x 4 blocks
 * within each 128-bit lane; two rounds of lane shuffles then move the blocks into place. */
static inline __attribute__((always_inline)) TARGET void v_transpose(V r[16]) {
    V t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4)
        for (int j = 0; j < 2; j++) {
            const __m512d a = _mm512_castps_pd(t[i + j]), b = _mm512_castps_pd(t[i + j + 2]);
            r[i + 2 * j] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
            r[i + 2 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        }
    for (int i = 0; i < 16; i += 8)
        for (int j = 0; j < 4; j++) {
            t[i + j] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0x88);
            t[i + j + 4] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
    }
}

#include "kernels/cpu/linear16_simd.h"

int br_linear16_avx512_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma") && br_linear16_cpu_has_f16c();
}
#endif
