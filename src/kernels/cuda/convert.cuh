/*
 * convert.cuh - f32 <-> bf16 on the GPU: the element conversions of
 * kernels templated on a stored type (KV caches, expert weights), and the
 * row conversion that hands f32 activations to bf16 libraries (cuBLAS,
 * cuDNN) and brings their bf16 results back:
 *   dst[r, c] = src[r, c]   (rows x width, strides lds and ldd, converted)
 */
#ifndef BR_KERNELS_CUDA_CONVERT_CUH
#define BR_KERNELS_CUDA_CONVERT_CUH

#include <cuda_bf16.h>

#include "cuda_common.cuh"

__device__ __forceinline__ float br_as_f32(float x) { return x; }
__device__ __forceinline__ float br_as_f32(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T> __device__ __forceinline__ T br_f32_as(float x);
template <> __device__ __forceinline__ float br_f32_as<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 br_f32_as<__nv_bfloat16>(float x) { return __float2bfloat16(x); }

/* Rows over grid y, columns over grid x, BR_CONVERT_RUN consecutive values a thread (no divisions). */
#define BR_CONVERT_RUN 4
template <typename S, typename D>
__global__ void br_k_convert_rows(int rows, int width, const S *__restrict__ src, int lds, D *__restrict__ dst, int ldd) {
    for (long r = blockIdx.y; r < rows; r += gridDim.y) {
        const S *s = src + r * lds;
        D *d = dst + r * ldd;
        for (int c = (blockIdx.x * blockDim.x + threadIdx.x) * BR_CONVERT_RUN; c < width;
             c += gridDim.x * blockDim.x * BR_CONVERT_RUN)
#pragma unroll
            for (int u = 0; u < BR_CONVERT_RUN; u++)
                if (c + u < width) d[c + u] = br_f32_as<D>(br_as_f32(s[c + u]));
    }
}

template <typename S, typename D>
static inline void br_cuda_convert_rows(const br_device *dev, int rows, int width, const S *src, int lds, D *dst, int ldd) {
    if (rows <= 0 || width <= 0) return;
    const int threads = 256, per_block = threads * BR_CONVERT_RUN;
    const dim3 grid((unsigned)((width + per_block - 1) / per_block), (unsigned)(rows < 65535 ? rows : 65535));
    br_k_convert_rows<S, D><<<grid, threads, 0, br_stream(dev)>>>(rows, width, src, lds, dst, ldd);
    BR_CUDA_LAUNCHED(dev);
}

#endif /* BR_KERNELS_CUDA_CONVERT_CUH */
