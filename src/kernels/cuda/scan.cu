/*
 * scan.cu - the Mamba-1 selective scan: one warp per (sequence, channel);
 * lane l holds the state entries n = l, l+32, ... in registers, each token
 * updates them (h = exp(dt A) h + dt B u) and a warp sum gives C.h.  Tokens
 * run in order; prefill and step share the kernel (a step is T == 1).
 */
#include "cuda_common.cuh"

extern "C" {
#include "kernels/scan.h"
}

#define WARPS 4
#define PER_LANE (BR_CUDA_SCAN_MAX_STATE / 32)

__global__ void k_scan(br_scan_args a) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int c = blockIdx.x * WARPS + warp, b = blockIdx.y, N = a.d_state;
    if (c >= a.d_inner) return;
    const int g = c / (a.d_inner / a.heads);
    float *h = a.state + a.slots[b] * a.state_stride + (long)c * N;
    float hr[PER_LANE], A[PER_LANE];
#pragma unroll
    for (int s = 0; s < PER_LANE; s++) {
        int n = lane + 32 * s;
        hr[s] = n < N ? h[n] : 0.0f;
        A[s] = n < N ? a.A[(long)c * N + n] : 0.0f;
    }
    const float Dc = a.D ? a.D[c] : 0.0f, bias = a.delta_bias ? a.delta_bias[c] : 0.0f;
    for (int t = 0; t < a.T; t++) {
        const long row = (long)b * a.T + t;
        const float u = a.u[row * a.ldu + c];
        float dt = a.delta[row * a.lddelta + c] + bias;
        if (a.delta_softplus) dt = br_dev_softplus(dt);
        const float *B = a.B + row * a.ldB + (long)g * N, *C = a.C + row * a.ldC + (long)g * N;
        float acc = 0.0f;
#pragma unroll
        for (int s = 0; s < PER_LANE; s++) {
            int n = lane + 32 * s;
            if (n < N) {
                hr[s] = expf(dt * A[s]) * hr[s] + dt * B[n] * u;
                acc += C[n] * hr[s];
            }
        }
        acc = br_warp_sum(acc);
        if (lane == 0) {
            float y = acc + Dc * u;
            if (a.z) y *= br_dev_silu(a.z[row * a.ldz + c]);
            a.y[row * a.ldy + c] = y;
        }
    }
#pragma unroll
    for (int s = 0; s < PER_LANE; s++) {
        int n = lane + 32 * s;
        if (n < N) h[n] = hr[s];
    }
}

static void launch(const br_device *dev, const br_scan_args *a) {
    if (a->batch <= 0 || a->d_inner <= 0) return;
    if (a->d_state > BR_CUDA_SCAN_MAX_STATE) {
        br_cuda_note(dev, cudaErrorInvalidValue); /* d_state above 256 has no CUDA scan yet */
        return;
    }
    dim3 grid(br_blocks(a->d_inner, WARPS), (unsigned)a->batch);
    k_scan<<<grid, 32 * WARPS, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}

extern "C" void br_cuda_scan_prefill(const br_device *dev, const br_scan_args *a) { launch(dev, a); }
extern "C" void br_cuda_scan_step(const br_device *dev, const br_scan_args *a) { launch(dev, a); }
