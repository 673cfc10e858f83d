/*
 * linear.c (cpu) - dense products through the BLAS.
 */
#include "kernels/linear.h"

#include <cblas.h>

void br_cpu_linear(const br_device *dev, int n, int in, int out, const float *x, int ldx, const float *w, const float *b, float beta,
                   float *y, int ldy) {
    if (n <= 0 || out <= 0) return;
    if (n == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, w, in, x, 1, beta, y, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, ldx, w, in, beta, y, ldy);
    }
    if (b)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < out; j++) y[(long)i * ldy + j] += b[j];
}

