/*
 * cuda_common.cuh - what every CUDA kernel file shares: the device context
 * (one stream, one cuBLAS handle), launch geometry helpers, and the rule
 * that kernels are launched on the context's stream and report launch
 * failures through br_cuda_check (never by exiting).
 */
#ifndef BR_KERNELS_CUDA_COMMON_CUH
#define BR_KERNELS_CUDA_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include "kernels/device.h"
}

struct br_cudnn;

struct br_cuda_ctx {
    int ordinal;
    int sm_count;              /* multiprocessors, for sizing grids */
    char name[96];             /* the GPU's name */
    cudaStream_t stream;
    cublasHandle_t blas;
    void *blas_ws;             /* cuBLAS's workspace (fixed size) */
    void *ws;                  /* workspace for converted operands (bf16 activations), grows */
    size_t ws_bytes;
    struct br_cudnn *cudnn;    /* cuDNN's fused attention, or NULL (cudnn_why says why) */
    char cudnn_why[160];
    cudaError_t sticky;        /* first launch/library failure, reported by br_cuda_check */
    cublasStatus_t blas_status;
};

static inline cudaStream_t br_stream(const br_device *dev) { return dev->cuda->stream; }
static inline void br_cuda_note(const br_device *dev, cudaError_t e);

/* Records the first failure of an asynchronous call on the device context. */
static inline void br_cuda_note(const br_device *dev, cudaError_t e) {
    if (e != cudaSuccess && dev->cuda->sticky == cudaSuccess) dev->cuda->sticky = e;
}
static inline void br_cuda_note_blas(const br_device *dev, cublasStatus_t s) {
    if (s != CUBLAS_STATUS_SUCCESS && dev->cuda->blas_status == CUBLAS_STATUS_SUCCESS) dev->cuda->blas_status = s;
}

/* The workspace, at least `bytes` large (NULL, with the error noted, if it cannot grow). */
static inline void *br_cuda_workspace(const br_device *dev, size_t bytes) {
    br_cuda_ctx *c = dev->cuda;
    if (bytes <= c->ws_bytes) return c->ws;
    if (c->ws) {
        cudaStreamSynchronize(c->stream); /* queued kernels may still read it */
        cudaFree(c->ws);
    }
    size_t grown = bytes + bytes / 2;
    cudaError_t e = cudaMalloc(&c->ws, grown);
    if (e != cudaSuccess) {
        c->ws = NULL;
        c->ws_bytes = 0;
        br_cuda_note(dev, e);
        return NULL;
    }
    c->ws_bytes = grown;
    return c->ws;
}

static inline unsigned br_blocks(long n, int threads) { return (unsigned)((n + threads - 1) / threads); }
/* Blocks for a grid-stride loop over n elements: one per `threads` elements, at least 1, at most 65535 * 16. */
static inline unsigned br_grid_stride(long n, int threads) {
    const long b = (n + threads - 1) / threads;
    return (unsigned)(b < 65535L * 16 ? (b > 0 ? b : 1) : 65535L * 16);
}

/* After a launch: keep the launch error, if any. */
#define BR_CUDA_LAUNCHED(dev) br_cuda_note((dev), cudaGetLastError())

__device__ __forceinline__ float br_dev_silu(float x) { return x / (1.0f + expf(-x)); }
__device__ __forceinline__ float br_dev_softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

__device__ __forceinline__ float br_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float br_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Sum over a block of blockDim.x threads (a multiple of 32, at most 1024); every thread gets it. */
__device__ __forceinline__ float br_block_sum(float v, float *shared32) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = br_warp_sum(v);
    __syncthreads();
    if (lane == 0) shared32[warp] = v;
    __syncthreads();
    v = lane < nw ? shared32[lane] : 0.0f;
    return br_warp_sum(v);
}

#endif /* BR_KERNELS_CUDA_COMMON_CUH */
