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

template <typename S, typename D>
__global__ void br_k_convert_rows(int rows, int width, const S *__restrict__ src, int lds, D *__restrict__ dst, int ldd) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)rows * width; i += (long)gridDim.x * blockDim.x)
        dst[(i / width) * ldd + i % width] = br_f32_as<D>(br_as_f32(src[(i / width) * lds + i % width]));
}

template <typename S, typename D>
static inline void br_cuda_convert_rows(const br_device *dev, int rows, int width, const S *src, int lds, D *dst, int ldd) {
    if (rows <= 0 || width <= 0) return;
    br_k_convert_rows<S, D><<<br_grid_stride((long)rows * width, 256), 256, 0, br_stream(dev)>>>(rows, width, src, lds,
                                                                                               dst, ldd);
    BR_CUDA_LAUNCHED(dev);
}

#endif /* BR_KERNELS_CUDA_CONVERT_CUH */
