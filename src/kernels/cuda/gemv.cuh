/*
 * gemv.cuh - the matrix-vector product decode steps are made of, shared by
 * the dense linear maps (linear.cu) and the experts (moe.cu).
 *
 * One block of GEMV_THREADS threads computes GEMV_ROWS output rows for up
 * to N rows of x (N a compile-time bound, n at run time): thread t takes
 * elements 8t + 8 GEMV_THREADS i .. +7 of every row, one 16-byte load of
 * each weight row per step (all GEMV_ROWS loads independent, so they are in
 * flight together), x read as f32 through the cache; the partial sums meet
 * in shared memory.  Needs in % 8 == 0 and 16-byte aligned rows of W and x.
 *   y[t, o] = x[t, :] . W[o, :] (+ b[o]) (+ beta y[t, o])
 */
#ifndef BR_KERNELS_CUDA_GEMV_CUH
#define BR_KERNELS_CUDA_GEMV_CUH

#include <cuda_bf16.h>

#include "cuda_common.cuh"

#define GEMV_ROWS 4
#define GEMV_THREADS 256
#define GEMV_MAX_N 8

__device__ __forceinline__ void gemv_load8(const __nv_bfloat16 *w, float *f) {
    const uint4 u = __ldg((const uint4 *)w);
    const __nv_bfloat162 *h = (const __nv_bfloat162 *)&u;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const float2 p = __bfloat1622float2(h[i]);
        f[2 * i] = p.x, f[2 * i + 1] = p.y;
    }
}
__device__ __forceinline__ void gemv_load8(const float *w, float *f) {
    const float4 a = __ldg((const float4 *)w), b = __ldg((const float4 *)(w + 4));
    f[0] = a.x, f[1] = a.y, f[2] = a.z, f[3] = a.w, f[4] = b.x, f[5] = b.y, f[6] = b.z, f[7] = b.w;
}

/* Rows o0 .. o0 + rows - 1 of W [., in] (rows <= GEMV_ROWS) against x [n, ldx] (n <= N) into y [n, ldy].
 * Called by all GEMV_THREADS threads of a block. */
template <typename WT, int N>
__device__ __forceinline__ void gemv_block(int n, int in, int o0, int rows, const float *__restrict__ x, int ldx,
                                           const WT *__restrict__ w, const float *__restrict__ b, float beta, float *y,
                                           int ldy) {
    __shared__ float red[GEMV_THREADS / 32][GEMV_ROWS][N];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    float acc[GEMV_ROWS][N];
#pragma unroll
    for (int r = 0; r < GEMV_ROWS; r++)
#pragma unroll
        for (int t = 0; t < N; t++) acc[r][t] = 0.0f;
    for (int c = tid * 8; c < in; c += GEMV_THREADS * 8) {
        float wf[GEMV_ROWS][8];
#pragma unroll
        for (int r = 0; r < GEMV_ROWS; r++) {
            if (r < rows) gemv_load8(w + (long)(o0 + r) * in + c, wf[r]);
            else
#pragma unroll
                for (int i = 0; i < 8; i++) wf[r][i] = 0.0f;
        }
#pragma unroll
        for (int t = 0; t < N; t++) {
            if (t >= n) break;
            float xf[8];
            gemv_load8(x + (long)t * ldx + c, xf);
#pragma unroll
            for (int r = 0; r < GEMV_ROWS; r++)
#pragma unroll
                for (int i = 0; i < 8; i++) acc[r][t] += wf[r][i] * xf[i];
        }
    }
#pragma unroll
    for (int r = 0; r < GEMV_ROWS; r++)
#pragma unroll
        for (int t = 0; t < N; t++) {
            const float v = br_warp_sum(acc[r][t]);
            if (lane == 0) red[warp][r][t] = v;
        }
    __syncthreads();
    if (tid < GEMV_ROWS * N) {
        const int r = tid / N, t = tid % N;
        if (r < rows && t < n) {
            float v = 0.0f;
#pragma unroll
            for (int k = 0; k < GEMV_THREADS / 32; k++) v += red[k][r][t];
            if (b) v += b[o0 + r];
            float *yo = y + (long)t * ldy + o0 + r;
            *yo = beta != 0.0f ? v + beta * *yo : v;
        }
    }
    __syncthreads(); /* red is reused by a following call */
}

#endif /* BR_KERNELS_CUDA_GEMV_CUH */
