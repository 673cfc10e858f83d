/*
 * linear16.h - products with 16-bit matrix weights on the CPU, used where
 * they are stored (no widened copy):
 *
 *   y[i, o] = sum_k x[i, k] W[o, k]  (+ b[o])  (+ beta y[i, o])
 *   x [n, in] f32, row stride ldx;  W [out, in] bf16 or f16 (PyTorch layout);
 *   y [n, out] f32, row stride ldy;  y is not read when beta is 0.
 *
 * Each element of W is widened to f32 exactly (bf16: a 16-bit shift; f16:
 * the hardware conversion) and multiplied with f32 x, accumulating in f32,
 * so the result differs from the f32 BLAS product of the widened matrix by
 * summation order only.  (The AVX-512 BF16 dot product, vdpbf16ps, would
 * round x to bf16 and is not used: on this project's 2-core Xeon, model
 * 207, it ran 33-42 G multiply-adds/s per core against 86 G for FMA; as a
 * matrix-vector product it was 10-25% faster with the matrix in cache and
 * the same from memory, where decode runs.)
 *
 * One kernel per instruction set, all with one signature that computes the
 * rows o in [o0, o1); br_cpu_linear (linear.c) picks the fastest the CPU
 * supports and splits rows over the thread pool.  The SIMD kernels are
 * written once (linear16_simd.h), with dot products for decode and a packed
 * matrix-matrix product for prefill.  The plain C kernel is the
 * reference the others are tested against (tests/test_linear.c).
 */
#ifndef BR_KERNELS_CPU_LINEAR16_H
#define BR_KERNELS_CPU_LINEAR16_H

#include <stdint.h>

#include "braid.h"

typedef struct br_linear16_args {
    int n, in, out;
    const float *x;     /* [n, in], row stride ldx */
    int ldx;
    const uint16_t *w;  /* [out, in] of dtype */
    br_dtype dtype;     /* BR_BF16 or BR_F16 */
    const float *b;     /* [out] or NULL */
    float beta;
    float *y;           /* [n, out], row stride ldy */
    int ldy;
} br_linear16_args;

/* From this many rows of x on, a kernel given work memory (BR_LINEAR16_WORK_FLOATS floats, one per
 * thread) packs blocks of W there, widened once, for a matrix-matrix product; otherwise, or without
 * work memory, it takes dot products of the matrix as stored.  (Measured with AVX-512 on W of
 * 1024 x 256 and 2048 x 2048, one thread: the two break even at 32-48 rows; at 512 rows packing is
 * 1.25-1.8x faster.) */
#define BR_LINEAR16_GEMM_ROWS 32
#define BR_LINEAR16_WORK_FLOATS (256 * 64)

typedef void (*br_linear16_fn)(const br_linear16_args *a, int o0, int o1, float *work);

typedef struct br_linear16_kernel {
    const char *name;       /* "avx512", "avx2", "c" */
    int (*supported)(void); /* 1 when this CPU runs it */
    br_linear16_fn run;
} br_linear16_kernel;

/* Every kernel, fastest first; the last (plain C) runs everywhere. */
const br_linear16_kernel *br_linear16_kernels(int *count);
/* The fastest kernel this CPU runs (chosen once). */
const br_linear16_kernel *br_linear16_best(void);

void br_linear16_c(const br_linear16_args *a, int o0, int o1, float *work);
/* 1 when the CPU converts f16 <-> f32 (F16C, read from cpuid: older compilers' __builtin_cpu_supports
 * do not know the feature). */
int br_linear16_cpu_has_f16c(void);
int br_linear16_avx2_supported(void);
void br_linear16_avx2(const br_linear16_args *a, int o0, int o1, float *work);
int br_linear16_avx512_supported(void);
void br_linear16_avx512(const br_linear16_args *a, int o0, int o1, float *work);

#endif /* BR_KERNELS_CPU_LINEAR16_H */
