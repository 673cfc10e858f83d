/*
 * conv1d.c (cpu) - causal depthwise convolution with a carried window.
 */
#include "kernels/conv1d.h"

#include <string.h>

#include "kernels/act.h"

void br_cpu_conv1d_prefill(const br_device *dev, const br_conv1d_args *a) {
    const int K = a->K, C = a->channels, T = a->T;
    for (int b = 0; b < a->batch; b++) {
        for (int c = 0; c < C; c++) {
            float *st = a->state + a->slots[b] * a->state_stride + (long)c * (K - 1);
            const float *w = a->w + (long)c * K;
            float win[16]; /* the K-1 inputs before the current one, then it; K <= 16 */
            memcpy(win, st, (size_t)(K - 1) * sizeof(float));
            for (int t = 0; t < T; t++) {
                long row = (long)b * T + t;
                win[K - 1] = a->x[row * a->ldx + c];
                float acc = a->b ? a->b[c] : 0.0f;
                for (int k = 0; k < K; k++) acc += w[k] * win[k];
                a->y[row * a->ldy + c] = a->silu ? br_silu(acc) : acc;
                memmove(win, win + 1, (size_t)(K - 1) * sizeof(float));
            }
            memcpy(st, win, (size_t)(K - 1) * sizeof(float));
        }
    }
}

void br_cpu_conv1d_step(const br_device *dev, const br_conv1d_args *a) {
    const int K = a->K, C = a->channels;
    for (int b = 0; b < a->batch; b++) {
        const float *x = a->x + (long)b * a->ldx;
        float *y = a->y + (long)b * a->ldy;
        for (int c = 0; c < C; c++) {
            float *st = a->state + a->slots[b] * a->state_stride + (long)c * (K - 1);
            const float *w = a->w + (long)c * K;
            float acc = a->b ? a->b[c] : 0.0f;
            for (int k = 0; k < K - 1; k++) acc += w[k] * st[k];
            acc += w[K - 1] * x[c];
            if (K > 1) {
                memmove(st, st + 1, (size_t)(K - 2) * sizeof(float));
                st[K - 2] = x[c];
            }
            y[c] = a->silu ? br_silu(acc) : acc;
        }
    }
}
