/*
 * linear.c (cpu) - dense products through the BLAS.  CPU models hold f32
 * weights; a narrower matrix (only ever made for a GPU) is still handled,
 * row by row, so no caller can get a wrong answer.
 */
#include "kernels/linear.h"

#include <cblas.h>

#include "base/dtype.h"

static float weight_at(br_mat w, long i) {
    const uint16_t *h = w.data;
    return w.dtype == BR_BF16 ? br_bf16_to_f32(h[i]) : br_f16_to_f32(h[i]);
}

void br_cpu_linear(const br_device *dev, int n, int in, int out, const float *x, int ldx, br_mat w, const float *b,
                   float beta, float *y, int ldy) {
    if (n <= 0 || out <= 0) return;
    if (w.dtype != BR_F32) {
        for (int i = 0; i < n; i++)
            for (int o = 0; o < out; o++) {
                double acc = 0;
                for (int k = 0; k < in; k++) acc += (double)x[(long)i * ldx + k] * weight_at(w, (long)o * in + k);
                float *yo = &y[(long)i * ldy + o];
                *yo = (float)acc + (beta != 0.0f ? beta * *yo : 0.0f);
            }
    } else if (n == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, w.data, in, x, 1, beta, y, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, ldx, w.data, in, beta, y, ldy);
    }
    if (b)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < out; j++) y[(long)i * ldy + j] += b[j];
}

void br_cpu_linear_multi(const br_device *dev, int n, int in, const float *x, int ldx, int count, const br_linear_out *outs) {
    for (int i = 0; i < count; i++)
        br_cpu_linear(dev, n, in, outs[i].out, x, ldx, outs[i].w, outs[i].b, 0.0f, outs[i].y, outs[i].ldy);
}
