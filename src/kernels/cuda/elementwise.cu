/*
 * elementwise.cu - data movement and small arithmetic between kernels:
 * one thread per element of a rows x cols block (grid-stride), so every
 * kernel is memory-bound and coalesced along rows.
 */
#include <cuda_bf16.h>

#include "cuda_common.cuh"

extern "C" {
#include "kernels/elementwise.h"
}

#define THREADS 256

static unsigned grid_for(long n) { return br_grid_stride(n, THREADS); }

__global__ void k_axpby(int rows, int cols, float a, const float *__restrict__ x, int ldx, float b, float *y, int ldy) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)rows * cols; i += (long)gridDim.x * blockDim.x) {
        long r = i / cols, c = i % cols;
        float v = a * x[r * ldx + c];
        y[r * ldy + c] = b == 0.0f ? v : v + b * y[r * ldy + c];
    }
}

extern "C" void br_cuda_axpby(const br_device *dev, int rows, int cols, float a, const float *x, int ldx, float b, float *y,
                              int ldy) {
    if (rows <= 0 || cols <= 0) return;
    k_axpby<<<grid_for((long)rows * cols), THREADS, 0, br_stream(dev)>>>(rows, cols, a, x, ldx, b, y, ldy);
    BR_CUDA_LAUNCHED(dev);
}

extern "C" void br_cuda_copy2d(const br_device *dev, int rows, int cols, const float *src, int lds, float *dst, int ldd) {
    if (rows <= 0 || cols <= 0) return;
    br_cuda_note(dev, cudaMemcpy2DAsync(dst, (size_t)ldd * sizeof(float), src, (size_t)lds * sizeof(float),
                                        (size_t)cols * sizeof(float), (size_t)rows, cudaMemcpyDeviceToDevice,
                                        br_stream(dev)));
}

__global__ void k_scale2d(int rows, int cols, float s, float *x, int ldx) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)rows * cols; i += (long)gridDim.x * blockDim.x)
        x[(i / cols) * ldx + i % cols] *= s;
}

extern "C" void br_cuda_scale2d(const br_device *dev, int rows, int cols, float s, float *x, int ldx) {
    if (rows <= 0 || cols <= 0) return;
    k_scale2d<<<grid_for((long)rows * cols), THREADS, 0, br_stream(dev)>>>(rows, cols, s, x, ldx);
    BR_CUDA_LAUNCHED(dev);
}

__global__ void k_mul_silu(int rows, int cols, float *y, int ldy, const float *__restrict__ z, int ldz) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)rows * cols; i += (long)gridDim.x * blockDim.x) {
        long r = i / cols, c = i % cols;
        y[r * ldy + c] *= br_dev_silu(z[r * ldz + c]);
    }
}

extern "C" void br_cuda_mul_silu(const br_device *dev, int rows, int cols, float *y, int ldy, const float *z, int ldz) {
    if (rows <= 0 || cols <= 0) return;
    k_mul_silu<<<grid_for((long)rows * cols), THREADS, 0, br_stream(dev)>>>(rows, cols, y, ldy, z, ldz);
    BR_CUDA_LAUNCHED(dev);
}

template <typename T>
__global__ void k_embed(int n, int dim, const int32_t *__restrict__ ids, const T *__restrict__ table, float scale,
                        float *out) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)n * dim; i += (long)gridDim.x * blockDim.x)
        out[i] = (float)table[(long)ids[i / dim] * dim + i % dim] * scale;
}

extern "C" void br_cuda_embed(const br_device *dev, int n, int dim, const int32_t *ids, br_mat table, float scale,
                              float *out) {
    if (n <= 0) return;
    if (table.dtype == BR_BF16)
        k_embed<__nv_bfloat16><<<grid_for((long)n * dim), THREADS, 0, br_stream(dev)>>>(
            n, dim, ids, (const __nv_bfloat16 *)table.data, scale, out);
    else
        k_embed<float><<<grid_for((long)n * dim), THREADS, 0, br_stream(dev)>>>(n, dim, ids, (const float *)table.data,
                                                                                 scale, out);
    BR_CUDA_LAUNCHED(dev);
}

__global__ void k_gather_rows(int rows, int cols, const int32_t *__restrict__ idx, const float *__restrict__ src, int lds,
                              float *dst, int ldd) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)rows * cols; i += (long)gridDim.x * blockDim.x) {
        long r = i / cols, c = i % cols;
        dst[r * ldd + c] = src[(long)idx[r] * lds + c];
    }
}

extern "C" void br_cuda_gather_rows(const br_device *dev, int rows, int cols, const int32_t *idx, const float *src,
                                    int lds, float *dst, int ldd) {
    if (rows <= 0 || cols <= 0) return;
    k_gather_rows<<<grid_for((long)rows * cols), THREADS, 0, br_stream(dev)>>>(rows, cols, idx, src, lds, dst, ldd);
    BR_CUDA_LAUNCHED(dev);
}

/* idx rows are distinct within one call, so plain adds do not race */
