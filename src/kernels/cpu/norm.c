/*
 * norm.c (cpu) - RMSNorm, LayerNorm and Mamba-2's gated group RMSNorm.
 * Sums are taken in double so the reference is not the weak link.
 */
#include "kernels/norm.h"

#include <math.h>

#include "kernels/act.h"

void br_cpu_rmsnorm(const br_device *dev, int n, int dim, const float *x, int ldx, const float *w, float eps, int unit_offset, float *y,
                    int ldy) {
    for (int i = 0; i < n; i++) {
        const float *xi = x + (long)i * ldx;
        float *yi = y + (long)i * ldy;
        double ss = 0;
        for (int j = 0; j < dim; j++) ss += (double)xi[j] * xi[j];
        float r = (float)(1.0 / sqrt(ss / dim + eps));
        for (int j = 0; j < dim; j++) {
            float g = w ? (unit_offset ? 1.0f + w[j] : w[j]) : 1.0f;
            yi[j] = xi[j] * r * g;
        }
    }
}

void br_cpu_layernorm(const br_device *dev, int n, int dim, const float *x, int ldx, const float *w, const float *b, float eps, float *y,
                      int ldy) {
    for (int i = 0; i < n; i++) {
        const float *xi = x + (long)i * ldx;
        float *yi = y + (long)i * ldy;
        double s = 0, ss = 0;
        for (int j = 0; j < dim; j++) s += xi[j];
        double mean = s / dim;
        for (int j = 0; j < dim; j++) ss += (xi[j] - mean) * (xi[j] - mean);
        float r = (float)(1.0 / sqrt(ss / dim + eps));
        for (int j = 0; j < dim; j++) yi[j] = (float)(xi[j] - mean) * r * (w ? w[j] : 1.0f) + (b ? b[j] : 0.0f);
    }
}

void br_cpu_gated_rmsnorm(const br_device *dev, int n, int dim, int group, const float *x, int ldx, const float *z, int ldz,
                          const float *w, float eps, int norm_before_gate, float *y, int ldy) {
    for (int i = 0; i < n; i++) {
        const float *xi = x + (long)i * ldx;
        const float *zi = z ? z + (long)i * ldz : NULL;
        float *yi = y + (long)i * ldy;
        for (int g0 = 0; g0 < dim; g0 += group) {
            double ss = 0;
            for (int j = g0; j < g0 + group; j++) {
                float v = (zi && !norm_before_gate) ? xi[j] * br_silu(zi[j]) : xi[j];
                ss += (double)v * v;
            }
            float r = (float)(1.0 / sqrt(ss / group + eps));
            for (int j = g0; j < g0 + group; j++) {
                float v = (zi && !norm_before_gate) ? xi[j] * br_silu(zi[j]) : xi[j];
                v = v * r * (w ? w[j] : 1.0f);
                yi[j] = (zi && norm_before_gate) ? v * br_silu(zi[j]) : v;
            }
        }
    }
}
