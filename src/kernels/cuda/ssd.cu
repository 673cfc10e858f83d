/*
 * ssd.cu - the Mamba-2 scan on the GPU: one warp per (sequence, head,
 * channel p); lane l holds h[p, n] for n = l, l+32, ... in registers; each
 * token decays and updates them and a warp sum gives y_p = h_p . C.  The
 * four warps of a block share a head, so B and C rows are read once into
 * L1.  This is the recurrent form of SSD (exactly the reference's math);
 * prefill runs it over the tokens in order, a step is T == 1.  A chunked
 * tensor-core prefill is the next step for long prompts.
 */
#include "cuda_common.cuh"

extern "C" {
#include "kernels/ssd.h"
}

#define WARPS 4
#define PER_LANE 8 /* d_state up to 256 */

__global__ void k_ssd(br_ssd_args a) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int P = a.head_dim, N = a.d_state;
    const int h = blockIdx.y, b = blockIdx.z, p = blockIdx.x * WARPS + warp;
    if (p >= P) return;
    const int g = h / (a.heads / a.groups);
    float *st = a.state + a.slots[b] * a.state_stride + ((long)h * P + p) * N;
    float hr[PER_LANE];
#pragma unroll
    for (int s = 0; s < PER_LANE; s++) hr[s] = lane + 32 * s < N ? st[lane + 32 * s] : 0.0f;
    const float A = a.A[h], Dh = a.D ? a.D[h] : 0.0f, bias = a.dt_bias ? a.dt_bias[h] : 0.0f;
    for (int t = 0; t < a.T; t++) {
        const long row = (long)b * a.T + t;
        float dt = br_dev_softplus(a.dt[row * a.lddt + h] + bias);
        dt = fminf(fmaxf(dt, a.dt_min), a.dt_max);
        const float dA = expf(dt * A), x = a.x[row * a.ldx + (long)h * P + p], dx = dt * x;
        const float *B = a.B + row * a.ldB + (long)g * N, *C = a.C + row * a.ldC + (long)g * N;
        float acc = 0.0f;
#pragma unroll
        for (int s = 0; s < PER_LANE; s++) {
            int n = lane + 32 * s;
            if (n < N) {
                hr[s] = dA * hr[s] + dx * B[n];
                acc += hr[s] * C[n];
            }
        }
        acc = br_warp_sum(acc);
        if (lane == 0) a.y[row * a.ldy + (long)h * P + p] = acc + Dh * x;
    }
#pragma unroll
    for (int s = 0; s < PER_LANE; s++)
        if (lane + 32 * s < N) st[lane + 32 * s] = hr[s];
}

static void launch(const br_device *dev, const br_ssd_args *a) {
    if (a->batch <= 0 || a->heads <= 0) return;
    if (a->d_state > 32 * PER_LANE) {
        br_cuda_note(dev, cudaErrorInvalidValue); /* d_state above 256 has no CUDA scan yet */
        return;
    }
    dim3 grid(br_blocks(a->head_dim, WARPS), (unsigned)a->heads, (unsigned)a->batch);
    k_ssd<<<grid, 32 * WARPS, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}

extern "C" void br_cuda_ssd_prefill(const br_device *dev, const br_ssd_args *a) { launch(dev, a); }
extern "C" void br_cuda_ssd_step(const br_device *dev, const br_ssd_args *a) { launch(dev, a); }
