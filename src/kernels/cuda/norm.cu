/*
 * norm.cu - RMSNorm, LayerNorm and the gated group RMSNorm: one block of
 * 256 threads per row (or per row group), sums in f32 with a block
 * reduction; the formulas are those of kernels/norm.h.
 */
#include "cuda_common.cuh"

extern "C" {
#include "kernels/norm.h"
}

#define THREADS 256

__global__ void k_rmsnorm(int dim, const float *x, int ldx, const float *__restrict__ w, float eps, int unit_offset,
                          float *y, int ldy) {
    __shared__ float red[32];
    const float *xi = x + (long)blockIdx.x * ldx;
    float *yi = y + (long)blockIdx.x * ldy;
    float ss = 0.0f;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) ss += xi[j] * xi[j];
    float r = rsqrtf(br_block_sum(ss, red) / dim + eps);
    for (int j = threadIdx.x; j < dim; j += blockDim.x) {
        float g = w ? (unit_offset ? 1.0f + w[j] : w[j]) : 1.0f;
        yi[j] = xi[j] * r * g;
    }
}

extern "C" void br_cuda_rmsnorm(const br_device *dev, int n, int dim, const float *x, int ldx, const float *w, float eps,
                                int unit_offset, float *y, int ldy) {
    if (n <= 0) return;
    k_rmsnorm<<<n, THREADS, 0, br_stream(dev)>>>(dim, x, ldx, w, eps, unit_offset, y, ldy);
    BR_CUDA_LAUNCHED(dev);
}

__global__ void k_layernorm(int dim, const float *x, int ldx, const float *__restrict__ w, const float *__restrict__ b,
                            float eps, float *y, int ldy) {
    __shared__ float red[32];
    const float *xi = x + (long)blockIdx.x * ldx;
    float *yi = y + (long)blockIdx.x * ldy;
    float s = 0.0f;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) s += xi[j];
    const float mean = br_block_sum(s, red) / dim;
    float ss = 0.0f;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) ss += (xi[j] - mean) * (xi[j] - mean);
    const float r = rsqrtf(br_block_sum(ss, red) / dim + eps);
    for (int j = threadIdx.x; j < dim; j += blockDim.x) yi[j] = (xi[j] - mean) * r * (w ? w[j] : 1.0f) + (b ? b[j] : 0.0f);
}

extern "C" void br_cuda_layernorm(const br_device *dev, int n, int dim, const float *x, int ldx, const float *w,
                                  const float *b, float eps, float *y, int ldy) {
    if (n <= 0) return;
    k_layernorm<<<n, THREADS, 0, br_stream(dev)>>>(dim, x, ldx, w, b, eps, y, ldy);
    BR_CUDA_LAUNCHED(dev);
}

/* block (row, group) */
__global__ void k_gated_rmsnorm(int group, const float *x, int ldx, const float *z, int ldz, const float *__restrict__ w,
                                float eps, int before, float *y, int ldy) {
    __shared__ float red[32];
    const long row = blockIdx.x, g0 = (long)blockIdx.y * group;
    const float *xi = x + row * ldx + g0, *zi = z ? z + row * ldz + g0 : nullptr;
    float *yi = y + row * ldy + g0;
    float ss = 0.0f;
    for (int j = threadIdx.x; j < group; j += blockDim.x) {
        float v = (zi && !before) ? xi[j] * br_dev_silu(zi[j]) : xi[j];
        ss += v * v;
    }
    const float r = rsqrtf(br_block_sum(ss, red) / group + eps);
    for (int j = threadIdx.x; j < group; j += blockDim.x) {
        float v = (zi && !before) ? xi[j] * br_dev_silu(zi[j]) : xi[j];
        v = v * r * (w ? w[g0 + j] : 1.0f);
        yi[j] = (zi && before) ? v * br_dev_silu(zi[j]) : v;
    }
}

extern "C" void br_cuda_gated_rmsnorm(const br_device *dev, int n, int dim, int group, const float *x, int ldx,
                                      const float *z, int ldz, const float *w, float eps, int norm_before_gate, float *y,
                                      int ldy) {
    if (n <= 0) return;
    dim3 grid((unsigned)n, (unsigned)(dim / group));
    k_gated_rmsnorm<<<grid, THREADS, 0, br_stream(dev)>>>(group, x, ldx, z, ldz, w, eps, norm_before_gate, y, ldy);
    BR_CUDA_LAUNCHED(dev);
}
