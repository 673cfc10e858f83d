/*
 * linear.h - dense matrix products: y = x W^T (+ b).
 *
 *   x [n, in] with row stride ldx, W [out, in] (PyTorch layout), b [out],
 *   y [n, out] with row stride ldy.  beta = 0 overwrites y, 1 accumulates.
 * x, b and y are f32; W is f32, bf16 or f16 (br_mat; f16 on the CPU only).
 * The CPU kernel calls the BLAS (OpenBLAS sgemm, threaded) for f32 weights
 * and its own 16-bit kernels for the others (kernels/cpu/linear16.h); the
 * CUDA kernel calls cuBLAS, in bf16 with f32 accumulation when W is bf16.
 */
#ifndef BR_KERNELS_LINEAR_H
#define BR_KERNELS_LINEAR_H

#include "kernels/device.h"

void br_cpu_linear(const br_device *dev, int n, int in, int out, const float *x, int ldx, br_mat w, const float *b, float beta,
                   float *y, int ldy);

/* Several maps of one input (q, k and v of attention): y_i = x W_i^T (+ b_i),
 * overwritten; one launch on a GPU for decode-sized n. */
#define BR_LINEAR_MULTI_MAX 4
typedef struct br_linear_out {
    int out;
    br_mat w;        /* [out, in] */
    const float *b;  /* [out] or NULL */
    float *y;        /* [n, out], row stride ldy */
    int ldy;
} br_linear_out;
void br_cpu_linear_multi(const br_device *dev, int n, int in, const float *x, int ldx, int count, const br_linear_out *outs);


#ifdef BRAID_HAVE_CUDA
void br_cuda_linear(const br_device *dev, int n, int in, int out, const float *x, int ldx, br_mat w, const float *b, float beta,
                   float *y, int ldy);
void br_cuda_linear_multi(const br_device *dev, int n, int in, const float *x, int ldx, int count,
                          const br_linear_out *outs);
#endif

#endif /* BR_KERNELS_LINEAR_H */
