/*
 * scan.c (cpu) - Mamba-1 selective scan, token by token per channel.
 * Prefill and step share the per-token update.
 */
#include "kernels/scan.h"

#include <math.h>

#include "kernels/act.h"

static inline void scan_token(const br_scan_args *a, long row, int c, float *h) {
    const int N = a->d_state;
    const int g = c / (a->d_inner / a->heads);
    float u = a->u[row * a->ldu + c];
    float dt = a->delta[row * a->lddelta + c] + (a->delta_bias ? a->delta_bias[c] : 0.0f);
    if (a->delta_softplus) dt = br_softplus(dt);
    const float *A = a->A + (long)c * N;
    const float *B = a->B + row * a->ldB + (long)g * N;
    const float *C = a->C + row * a->ldC + (long)g * N;
    float y = 0.0f;
    for (int n = 0; n < N; n++) {
        h[n] = expf(dt * A[n]) * h[n] + dt * B[n] * u;
        y += C[n] * h[n];
    }
    if (a->D) y += a->D[c] * u;
    if (a->z) y *= br_silu(a->z[row * a->ldz + c]);
    a->y[row * a->ldy + c] = y;
}

void br_cpu_scan_prefill(const br_device *dev, const br_scan_args *a) {
    for (int b = 0; b < a->batch; b++)
        for (int c = 0; c < a->d_inner; c++) {
            float *h = a->state + a->slots[b] * a->state_stride + (long)c * a->d_state;
            for (int t = 0; t < a->T; t++) scan_token(a, (long)b * a->T + t, c, h);
        }
}

void br_cpu_scan_step(const br_device *dev, const br_scan_args *a) {
    for (int b = 0; b < a->batch; b++)
        for (int c = 0; c < a->d_inner; c++) scan_token(a, b, c, a->state + a->slots[b] * a->state_stride + (long)c * a->d_state);
}
