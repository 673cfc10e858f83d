/*
 * moe.cu - expert routing, sorting, grouped products and combination on
 * the GPU (kernels/moe.h gives the math).
 *
 * route:   one warp per token; scores in double rounded once (as the CPU),
 *          kept with the picks in shared memory; each of the top_k picks is
 *          a warp arg-max with ties to the lower index.
 * sort:    one block counts picks per expert (shared-memory atomics, exact)
 *          and scans them into offsets; then one block per expert walks the
 *          pairs in order and ranks its own with warp ballots, so the order
 *          within an expert is the pairs' order (deterministic).
 * linear:  up to BR_CUDA_MOE_DEVICE_ROWS rows: block (tile of 32 output
 *          rows, expert) - empty experts leave at once - each warp takes an
 *          output row and up to 8 of the expert's rows at a time, reading
 *          the weight row once per 8 rows with 16-byte loads; no host
 *          synchronisation, so decode steps record.  (A block per 4 rows,
 *          gemv.cuh's shape, measured 2-3x slower here: the reduction over
 *          eight warps and the many short blocks cost more than they save.)
 *          More rows: the offsets come to the host and cuBLAS runs one
 *          product per expert.
 * combine: grid-stride over [n, cols], the k sum in order.
 */
#include <cuda_bf16.h>
#include <math.h>
#include <stdint.h>

#include "convert.cuh"
#include "cuda_common.cuh"
#include "gemv.cuh"

extern "C" {
#include "kernels/linear.h"
#include "kernels/moe.h"
}

#define ROUTE_WARPS 4

/* Warp arg-max of (v, i) pairs: larger v, then smaller i; every lane gets it. */
__device__ __forceinline__ void warp_argmax(float &v, int &i) {
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, v, o);
        const int oi = __shfl_xor_sync(0xffffffffu, i, o);
        if (ov > v || (ov == v && oi < i)) v = ov, i = oi;
    }
}

__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* grid ceil(n / ROUTE_WARPS), ROUTE_WARPS warps: warp w routes token blockIdx.x * ROUTE_WARPS + w. */
__global__ void k_moe_route(br_moe_route_args a) {
    __shared__ float sm_score[ROUTE_WARPS][BR_CUDA_MOE_MAX_EXPERTS], sm_pick[ROUTE_WARPS][BR_CUDA_MOE_MAX_EXPERTS];
    __shared__ float sm_group[ROUTE_WARPS][BR_CUDA_MOE_MAX_EXPERTS];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, t = blockIdx.x * ROUTE_WARPS + warp;
    if (t >= a.n) return;
    const int E = a.experts, per_group = E / a.groups;
    const float *r = a.logits + (long)t * E;
    float *score = sm_score[warp], *pick = sm_pick[warp];
    if (a.router == BR_MOE_SOFTMAX) {
        float mx = -INFINITY;
        for (int e = lane; e < E; e += 32) mx = fmaxf(mx, r[e]);
        mx = br_warp_max(mx);
        double sum = 0;
        for (int e = lane; e < E; e += 32) sum += exp((double)r[e] - mx);
        sum = warp_sum_d(sum);
        for (int e = lane; e < E; e += 32) score[e] = (float)(exp((double)r[e] - mx) / sum);
    } else {
        for (int e = lane; e < E; e += 32) score[e] = (float)(1.0 / (1.0 + exp(-(double)r[e])));
    }
    for (int e = lane; e < E; e += 32) pick[e] = score[e] + (a.sel_bias ? a.sel_bias[e] : 0.0f);
    __syncwarp();
    if (a.groups > 1) { /* keep the topk_groups groups whose best two picks sum highest (kept: -inf) */
        float *gs = sm_group[warp];
        for (int g = lane; g < a.groups; g += 32) {
            float x = -INFINITY, y = -INFINITY;
            for (int e = g * per_group; e < (g + 1) * per_group; e++) {
                const float p = pick[e];
                if (p > x) y = x, x = p;
                else if (p > y) y = p;
            }
            gs[g] = per_group > 1 ? x + y : x;
        }
        __syncwarp();
        for (int kept = 0; kept < a.topk_groups; kept++) {
            float best = -INFINITY;
            int bi = a.groups;
            for (int g = lane; g < a.groups; g += 32)
                if (gs[g] != -INFINITY && (gs[g] > best || (gs[g] == best && g < bi))) best = gs[g], bi = g;
            warp_argmax(best, bi);
            __syncwarp();
            if (lane == 0 && bi < a.groups) gs[bi] = -INFINITY;
            __syncwarp();
        }
        for (int e = lane; e < E; e += 32)
            if (gs[e / per_group] != -INFINITY) pick[e] = -INFINITY;
        __syncwarp();
    }
    double total = 0;
    for (int k = 0; k < a.top_k; k++) {
        float best = -INFINITY;
        int bi = E;
        for (int e = lane; e < E; e += 32)
            if (pick[e] > best || (pick[e] == best && e < bi)) best = pick[e], bi = e;
        warp_argmax(best, bi);
        if (bi >= E) bi = 0; /* nothing left to pick (NaN logits): expert 0, as the CPU */
        const float s = score[bi];
        if (lane == 0) {
            a.ids[(long)t * a.top_k + k] = bi;
            a.wts[(long)t * a.top_k + k] = s;
        }
        total += s;
        __syncwarp();
        if (lane == 0) pick[bi] = -INFINITY;
        __syncwarp();
    }
    if (lane < a.top_k) {
        float w = a.wts[(long)t * a.top_k + lane];
        if (a.normalize && total > 0) w = (float)(w / total);
        a.wts[(long)t * a.top_k + lane] = w * a.route_scale;
    }
}

extern "C" void br_cuda_moe_route(const br_device *dev, const br_moe_route_args *a) {
    if (a->n <= 0) return;
    if (a->experts > BR_CUDA_MOE_MAX_EXPERTS || a->top_k > BR_CUDA_MOE_MAX_TOP_K) {
        br_cuda_note(dev, cudaErrorInvalidValue); /* refused earlier by the layer's gpu_check */
        return;
    }
    k_moe_route<<<(unsigned)((a->n + ROUTE_WARPS - 1) / ROUTE_WARPS), ROUTE_WARPS * 32, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}

/* one block of 1024: offsets[e] = picks of experts before e */
__global__ void k_moe_count(br_moe_sort_args a) {
    __shared__ int count[BR_CUDA_MOE_MAX_EXPERTS];
    for (int e = threadIdx.x; e < a.experts; e += blockDim.x) count[e] = 0;
    __syncthreads();
    for (int i = threadIdx.x; i < a.pairs; i += blockDim.x) atomicAdd(&count[a.ids[i]], 1);
    __syncthreads();
    if (threadIdx.x == 0) {
        int run = 0;
        for (int e = 0; e < a.experts; e++) {
            a.offsets[e] = run;
            run += count[e];
        }
        a.offsets[a.experts] = run;
    }
}

/* grid (experts), 256 threads: ranks expert e's pairs in pair order. */
__global__ void k_moe_place(br_moe_sort_args a) {
    __shared__ int warp_count[8];
    const int e = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int base = a.offsets[e];
    for (int i0 = 0; i0 < a.pairs; i0 += blockDim.x) {
        const int i = i0 + threadIdx.x;
        const bool mine = i < a.pairs && a.ids[i] == e;
        const unsigned ballot = __ballot_sync(0xffffffffu, mine);
        if (lane == 0) warp_count[warp] = __popc(ballot);
        __syncthreads();
        int before = 0, total = 0;
        for (int w = 0; w < (int)(blockDim.x >> 5); w++) {
            if (w < warp) before += warp_count[w];
            total += warp_count[w];
        }
        if (mine) {
            const int r = base + before + __popc(ballot & ((1u << lane) - 1u));
            a.rows_token[r] = i / a.top_k;
            a.row_of[i] = r;
        }
        base += total;
        __syncthreads();
    }
}

extern "C" void br_cuda_moe_sort(const br_device *dev, const br_moe_sort_args *a) {
    if (a->pairs <= 0) return;
    k_moe_count<<<1, 1024, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
    k_moe_place<<<(unsigned)a->experts, 256, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}

#define MOE_WARPS 8
#define MOE_ROWS 32 /* output rows per block */
#define MOE_TOK 8   /* expert rows per weight read */

/* grid (ceil(out / MOE_ROWS), experts), MOE_WARPS warps: a block of an expert without rows leaves at once;
 * warp w computes output rows w, w + MOE_WARPS, .. of its tile for MOE_TOK of the expert's rows at a time,
 * lanes splitting `in` (16-byte loads when `vec`, two in flight). */
template <typename WT>
__global__ void __launch_bounds__(MOE_WARPS * 32) k_moe_gemv(br_moe_linear_args a, int vec) {
    const int e = blockIdx.y, r0 = a.offsets[e], m = a.offsets[e + 1] - r0;
    if (m <= 0) return;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const WT *W = (const WT *)a.w.data + (long)e * a.out * a.in;
    const int o_end = min(a.out, (int)(blockIdx.x + 1) * MOE_ROWS);
    for (int o = blockIdx.x * MOE_ROWS + warp; o < o_end; o += MOE_WARPS) {
        const WT *wr = W + (long)o * a.in;
        for (int t0 = 0; t0 < m; t0 += MOE_TOK) {
            const int nt = min(MOE_TOK, m - t0);
            const float *x0 = a.x + (long)(r0 + t0) * a.ldx;
            float acc[MOE_TOK];
#pragma unroll
            for (int t = 0; t < MOE_TOK; t++) acc[t] = 0.0f;
            if (vec) {
#pragma unroll 2
                for (int c = lane * 8; c < a.in; c += 32 * 8) {
                    float wf[8];
                    gemv_load8(wr + c, wf);
#pragma unroll
                    for (int t = 0; t < MOE_TOK; t++) {
                        if (t >= nt) break;
                        float xf[8];
                        gemv_load8(x0 + (long)t * a.ldx + c, xf);
#pragma unroll
                        for (int i = 0; i < 8; i++) acc[t] += wf[i] * xf[i];
                    }
                }
            } else {
                for (int c = lane; c < a.in; c += 32) {
                    const float wv = br_as_f32(wr[c]);
#pragma unroll
                    for (int t = 0; t < MOE_TOK; t++)
                        if (t < nt) acc[t] += wv * x0[(long)t * a.ldx + c];
                }
            }
#pragma unroll
            for (int t = 0; t < MOE_TOK; t++) {
                if (t >= nt) break;
                const float v = br_warp_sum(acc[t]);
                if (lane == 0) a.y[(long)(r0 + t0 + t) * a.ldy + o] = v;
            }
        }
    }
}

extern "C" void br_cuda_moe_linear(const br_device *dev, const br_moe_linear_args *a) {
    if (a->rows <= 0 || a->out <= 0) return;
    if (a->rows <= BR_CUDA_MOE_DEVICE_ROWS) {
        const int vec = a->in % 8 == 0 && a->ldx % 4 == 0 && ((uintptr_t)a->x & 15) == 0 &&
                        ((uintptr_t)a->w.data & 15) == 0;
        dim3 grid((unsigned)((a->out + MOE_ROWS - 1) / MOE_ROWS), (unsigned)a->experts);
        if (a->w.dtype == BR_BF16) k_moe_gemv<__nv_bfloat16><<<grid, MOE_WARPS * 32, 0, br_stream(dev)>>>(*a, vec);
        else if (a->w.dtype == BR_F32) k_moe_gemv<float><<<grid, MOE_WARPS * 32, 0, br_stream(dev)>>>(*a, vec);
        else br_cuda_note(dev, cudaErrorNotSupported);
        BR_CUDA_LAUNCHED(dev);
        return;
    }
    /* many rows: the per-expert row counts come to the host, then one cuBLAS product per expert */
    cudaStreamCaptureStatus cap = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(br_stream(dev), &cap) != cudaSuccess || cap != cudaStreamCaptureStatusNone) {
        br_cuda_note(dev, cudaErrorStreamCaptureUnsupported); /* a recording cannot wait for the host */
        return;
    }
    int32_t off[BR_CUDA_MOE_MAX_EXPERTS + 1];
    if (a->experts > BR_CUDA_MOE_MAX_EXPERTS) {
        br_cuda_note(dev, cudaErrorInvalidValue);
        return;
    }
    cudaError_t err = cudaMemcpyAsync(off, a->offsets, (size_t)(a->experts + 1) * sizeof *off, cudaMemcpyDeviceToHost,
                                      br_stream(dev));
    if (err == cudaSuccess) err = cudaStreamSynchronize(br_stream(dev));
    if (err != cudaSuccess) {
        br_cuda_note(dev, err);
        return;
    }
    for (int e = 0; e < a->experts; e++) {
        const int m = off[e + 1] - off[e];
        if (m > 0)
            br_cuda_linear(dev, m, a->in, a->out, a->x + (long)off[e] * a->ldx, a->ldx,
                           br_mat_at(a->w, (long)e * a->out * a->in), NULL, 0.0f, a->y + (long)off[e] * a->ldy, a->ldy);
    }
}

__global__ void k_moe_combine(int n, int top_k, int cols, const int32_t *__restrict__ row_of,
                              const float *__restrict__ wts, const float *__restrict__ src, int lds, float *y, int ldy) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)n * cols; i += (long)gridDim.x * blockDim.x) {
        const long t = i / cols, c = i % cols;
        float acc = 0.0f;
        for (int k = 0; k < top_k; k++) acc += wts[t * top_k + k] * src[(long)row_of[t * top_k + k] * lds + c];
        y[t * ldy + c] = acc;
    }
}

extern "C" void br_cuda_moe_combine(const br_device *dev, int n, int top_k, int cols, const int32_t *row_of,
                                    const float *wts, const float *src, int lds, float *y, int ldy) {
    if (n <= 0 || cols <= 0) return;
    k_moe_combine<<<br_grid_stride((long)n * cols, 256), 256, 0, br_stream(dev)>>>(n, top_k, cols, row_of, wts, src, lds,
                                                                                  y, ldy);
    BR_CUDA_LAUNCHED(dev);
}
