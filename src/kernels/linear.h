/*
 * linear.h - dense matrix products: y = x W^T (+ b).
 *
 *   x [n, in] with row stride ldx, W [out, in] (PyTorch layout), b [out],
 *   y [n, out] with row stride ldy.  beta = 0 overwrites y, 1 accumulates.
 * The CPU kernel calls the BLAS (OpenBLAS sgemm, threaded).
 */
#ifndef BR_KERNELS_LINEAR_H
#define BR_KERNELS_LINEAR_H

void br_cpu_linear(int n, int in, int out, const float *x, int ldx, const float *w, const float *b, float beta,
                   float *y, int ldy);

/* y[n, m] = a[n, k] @ b[k, m] (both row-major, contiguous), accumulating if beta = 1. */
void br_cpu_matmul(int n, int k, int m, const float *a, const float *b, float beta, float *y);

#endif /* BR_KERNELS_LINEAR_H */
