/*
 * conv1d.h - causal depthwise 1-D convolution with carried state (the short
 * convolution in front of Mamba's scan).
 *
 *   y[t, c] = act(b[c] + sum_{k<K} w[c, k] * u[t - (K-1) + k, c])
 *
 * where u before the first new token comes from the state, which holds the
 * previous K-1 inputs per channel, oldest first ([channels, K-1]).  Both
 * entry points leave the state holding the last K-1 inputs.  act is SiLU
 * when `silu` is set, else identity.
 */
#ifndef BR_KERNELS_CONV1D_H
#define BR_KERNELS_CONV1D_H

#include <stdint.h>

#include "kernels/device.h"

typedef struct br_conv1d_args {
    int batch, T, channels, K;
    const float *x; int ldx;  /* [batch*T, >= channels] inputs, row stride ldx */
    const float *w;           /* [channels, K] */
    const float *b;           /* [channels] or NULL */
    float *y; int ldy;        /* [batch*T, >= channels] outputs */
    float *state;             /* state pool [n_slots, ...]; sequence b uses slot slots[b]: [channels, K-1] */
    const int32_t *slots;     /* [batch] slot of each sequence (on the device) */
    long state_stride;        /* elements per slot */
    int silu;
} br_conv1d_args;

void br_cpu_conv1d_prefill(const br_device *dev, const br_conv1d_args *a);
void br_cpu_conv1d_step(const br_device *dev, const br_conv1d_args *a); /* T == 1 */

#ifdef BRAID_HAVE_CUDA
void br_cuda_conv1d_prefill(const br_device *dev, const br_conv1d_args *a);
void br_cuda_conv1d_step(const br_device *dev, const br_conv1d_args *a);
#endif

#endif /* BR_KERNELS_CONV1D_H */
