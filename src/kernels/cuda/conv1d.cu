/*
 * conv1d.cu - causal depthwise convolution with carried window: one thread
 * per (sequence, channel) walks the new tokens in order, keeping the last
 * K-1 inputs in registers; coalesced along channels.  Prefill and step
 * share the kernel (a step is T == 1).
 */
#include "cuda_common.cuh"

extern "C" {
#include "kernels/conv1d.h"
}

#define THREADS 128
#define KMAX 16

__global__ void k_conv1d(br_conv1d_args a) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y, K = a.K;
    if (c >= a.channels) return;
    float *st = a.state + a.slots[b] * a.state_stride + (long)c * (K - 1);
    float w[KMAX], win[KMAX];
    for (int k = 0; k < K; k++) w[k] = a.w[(long)c * K + k];
    for (int k = 0; k < K - 1; k++) win[k] = st[k];
    const float bias = a.b ? a.b[c] : 0.0f;
    for (int t = 0; t < a.T; t++) {
        const long row = (long)b * a.T + t;
        win[K - 1] = a.x[row * a.ldx + c];
        float acc = bias;
        for (int k = 0; k < K; k++) acc += w[k] * win[k];
        a.y[row * a.ldy + c] = a.silu ? br_dev_silu(acc) : acc;
        for (int k = 0; k < K - 1; k++) win[k] = win[k + 1];
    }
    for (int k = 0; k < K - 1; k++) st[k] = win[k];
}

static void launch(const br_device *dev, const br_conv1d_args *a) {
    if (a->batch <= 0 || a->channels <= 0) return;
    dim3 grid(br_blocks(a->channels, THREADS), (unsigned)a->batch);
    k_conv1d<<<grid, THREADS, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}

extern "C" void br_cuda_conv1d_prefill(const br_device *dev, const br_conv1d_args *a) { launch(dev, a); }
extern "C" void br_cuda_conv1d_step(const br_device *dev, const br_conv1d_args *a) { launch(dev, a); }
