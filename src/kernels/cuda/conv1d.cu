/*
 * conv1d.cu - causal depthwise convolution with carried window.
 *
 * Prefill: one thread per (sequence, channel, tile of TILE tokens), so a long
 * prompt fills the GPU; each thread reads the K-1 inputs before its tile
 * (from the prompt, or from the state for the first tokens), then slides
 * over its tile.  A second launch moves the last K-1 inputs into the state,
 * after every tile has read the old one.  A step (T == 1) is one thread per
 * (sequence, channel) doing both.  Coalesced along channels.
 */
#include "cuda_common.cuh"

extern "C" {
#include "kernels/conv1d.h"
}

#define THREADS 128
#define KMAX 16
#define TILE 32

/* Input u[t, c] of sequence b for t in [-(K-1), T): the prompt, or the state before it. */
__device__ __forceinline__ float conv_input(const br_conv1d_args &a, const float *st, int b, int t, int c) {
    return t >= 0 ? a.x[((long)b * a.T + t) * a.ldx + c] : st[(long)c * (a.K - 1) + (a.K - 1 + t)];
}

/* grid (channel blocks, tiles, batch).  KC: the width when known at compile time (the usual 4; its
 * window then lives in registers), 0 for any width up to KMAX. */
template <int KC>
__global__ void k_conv1d_tile(br_conv1d_args a) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x, t0 = blockIdx.y * TILE, b = blockIdx.z, K = KC ? KC : a.K;
    if (c >= a.channels) return;
    const float *st = a.state + a.slots[b] * a.state_stride;
    float w[KC ? KC : KMAX], win[KC ? KC : KMAX];
    for (int k = 0; k < K; k++) w[k] = a.w[(long)c * K + k];
    for (int k = 0; k < K - 1; k++) win[k] = conv_input(a, st, b, t0 - (K - 1) + k, c);
    const float bias = a.b ? a.b[c] : 0.0f;
    const int n = min(a.T - t0, TILE);
    const float *__restrict__ x = a.x + ((long)b * a.T + t0) * a.ldx + c;
    float *__restrict__ y = a.y + ((long)b * a.T + t0) * a.ldy + c;
    float in[TILE]; /* the tile's inputs, loaded together */
#pragma unroll
    for (int i = 0; i < TILE; i++) in[i] = i < n ? x[(long)i * a.ldx] : 0.0f;
#pragma unroll
    for (int i = 0; i < TILE; i++) {
        win[K - 1] = in[i];
        float acc = bias;
        for (int k = 0; k < K; k++) acc += w[k] * win[k];
        if (i < n) y[(long)i * a.ldy] = a.silu ? br_dev_silu(acc) : acc;
        for (int k = 0; k < K - 1; k++) win[k] = win[k + 1];
    }
}

/* grid (channel blocks, 1, batch): state <- inputs T-(K-1) .. T-1 (old state where the prompt is shorter). */
__global__ void k_conv1d_keep(br_conv1d_args a) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.z, K = a.K;
    if (c >= a.channels) return;
    float *st = a.state + a.slots[b] * a.state_stride;
    float keep[KMAX];
    for (int k = 0; k < K - 1; k++) keep[k] = conv_input(a, st, b, a.T - (K - 1) + k, c);
    for (int k = 0; k < K - 1; k++) st[(long)c * (K - 1) + k] = keep[k];
}

extern "C" void br_cuda_conv1d_prefill(const br_device *dev, const br_conv1d_args *a) {
    if (a->batch <= 0 || a->channels <= 0 || a->T <= 0) return;
    if (a->K > KMAX) {
        br_cuda_note(dev, cudaErrorInvalidValue); /* kernels wider than 16 taps have no CUDA conv yet */
        return;
    }
    const unsigned cb = br_blocks(a->channels, THREADS);
    const dim3 grid(cb, br_blocks(a->T, TILE), (unsigned)a->batch);
    if (a->K == 4) k_conv1d_tile<4><<<grid, THREADS, 0, br_stream(dev)>>>(*a);
    else k_conv1d_tile<0><<<grid, THREADS, 0, br_stream(dev)>>>(*a);
    k_conv1d_keep<<<dim3(cb, 1, (unsigned)a->batch), THREADS, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}

/* grid (channel blocks, batch): one token, reading and shifting the state. */
__global__ void k_conv1d_step(br_conv1d_args a) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y, K = a.K;
    if (c >= a.channels) return;
    float *st = a.state + a.slots[b] * a.state_stride + (long)c * (K - 1);
    const float x = a.x[(long)b * a.ldx + c];
    float acc = a.b ? a.b[c] : 0.0f;
    for (int k = 0; k < K - 1; k++) acc += a.w[(long)c * K + k] * st[k];
    acc += a.w[(long)c * K + K - 1] * x;
    a.y[(long)b * a.ldy + c] = a.silu ? br_dev_silu(acc) : acc;
    for (int k = 0; k < K - 2; k++) st[k] = st[k + 1];
    if (K > 1) st[K - 2] = x;
}

extern "C" void br_cuda_conv1d_step(const br_device *dev, const br_conv1d_args *a) {
    if (a->batch <= 0 || a->channels <= 0) return;
    k_conv1d_step<<<dim3(br_blocks(a->channels, THREADS), (unsigned)a->batch), THREADS, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}
