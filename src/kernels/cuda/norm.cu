/*
 * norm.cu - RMSNorm, LayerNorm and the gated group RMSNorm: one block of
 * 256 threads per row (or per row group), sums in f32 with a block
 * reduction; the formulas are those of kernels/norm.h.  RMSNorm and the
 * gated norm keep the first 8192 values of a row in registers (NT threads
 * x CACHE each), so a row is read from memory once and SiLU computed once
 * per element; with few rows (decoding) a row gets 1024 threads.
 */
#include "cuda_common.cuh"

extern "C" {
#include "kernels/norm.h"
}

#define THREADS 256
/* Blocks per launch below which a row gets 1024 threads (decode: one row per sequence). */
#define FEW_ROWS 264

template <int NT, int CACHE>
__global__ void k_rmsnorm(int dim, const float *x, int ldx, const float *__restrict__ w, float eps, int unit_offset,
                          float *y, int ldy) {
    __shared__ float red[32];
    const float *xi = x + (long)blockIdx.x * ldx;
    float *yi = y + (long)blockIdx.x * ldy;
    float v[CACHE], ss = 0.0f;
#pragma unroll
    for (int k = 0; k < CACHE; k++) {
        const int j = threadIdx.x + k * NT;
        v[k] = j < dim ? xi[j] : 0.0f;
        ss += v[k] * v[k];
    }
    for (int j = threadIdx.x + CACHE * NT; j < dim; j += NT) ss += xi[j] * xi[j];
    const float r = rsqrtf(br_block_sum(ss, red) / dim + eps);
#pragma unroll
    for (int k = 0; k < CACHE; k++) {
        const int j = threadIdx.x + k * NT;
        if (j < dim) yi[j] = v[k] * r * (w ? (unit_offset ? 1.0f + w[j] : w[j]) : 1.0f);
    }
    for (int j = threadIdx.x + CACHE * NT; j < dim; j += NT)
        yi[j] = xi[j] * r * (w ? (unit_offset ? 1.0f + w[j] : w[j]) : 1.0f);
}

extern "C" void br_cuda_rmsnorm(const br_device *dev, int n, int dim, const float *x, int ldx, const float *w, float eps,
                                int unit_offset, float *y, int ldy) {
    if (n <= 0) return;
    if (n < FEW_ROWS) k_rmsnorm<1024, 8><<<n, 1024, 0, br_stream(dev)>>>(dim, x, ldx, w, eps, unit_offset, y, ldy);
    else k_rmsnorm<THREADS, 32><<<n, THREADS, 0, br_stream(dev)>>>(dim, x, ldx, w, eps, unit_offset, y, ldy);
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

/* block (row, group).  Gate after the norm: v = x, y = norm(v) silu(z); before: v = x silu(z), y = norm(v). */
template <int NT, int CACHE>
__global__ void k_gated_rmsnorm(int group, const float *x, int ldx, const float *z, int ldz, const float *__restrict__ w,
                                float eps, int before, float *y, int ldy) {
    __shared__ float red[32];
    const long row = blockIdx.x, g0 = (long)blockIdx.y * group;
    const float *xi = x + row * ldx + g0, *zi = z ? z + row * ldz + g0 : nullptr;
    float *yi = y + row * ldy + g0;
    const bool gate_in = zi && !before, gate_out = zi && before;
    float v[CACHE], ss = 0.0f;
#pragma unroll
    for (int k = 0; k < CACHE; k++) {
        const int j = threadIdx.x + k * NT;
        v[k] = j < group ? (gate_in ? xi[j] * br_dev_silu(zi[j]) : xi[j]) : 0.0f;
        ss += v[k] * v[k];
    }
    for (int j = threadIdx.x + CACHE * NT; j < group; j += NT) {
        const float u = gate_in ? xi[j] * br_dev_silu(zi[j]) : xi[j];
        ss += u * u;
    }
    const float r = rsqrtf(br_block_sum(ss, red) / group + eps);
#pragma unroll
    for (int k = 0; k < CACHE; k++) {
        const int j = threadIdx.x + k * NT;
        if (j < group) {
            const float o = v[k] * r * (w ? w[g0 + j] : 1.0f);
            yi[j] = gate_out ? o * br_dev_silu(zi[j]) : o;
        }
    }
    for (int j = threadIdx.x + CACHE * NT; j < group; j += NT) {
        const float u = gate_in ? xi[j] * br_dev_silu(zi[j]) : xi[j], o = u * r * (w ? w[g0 + j] : 1.0f);
        yi[j] = gate_out ? o * br_dev_silu(zi[j]) : o;
    }
}

extern "C" void br_cuda_gated_rmsnorm(const br_device *dev, int n, int dim, int group, const float *x, int ldx,
                                      const float *z, int ldz, const float *w, float eps, int norm_before_gate, float *y,
                                      int ldy) {
    if (n <= 0) return;
    dim3 grid((unsigned)n, (unsigned)(dim / group));
    if ((long)n * (dim / group) < FEW_ROWS)
        k_gated_rmsnorm<1024, 8><<<grid, 1024, 0, br_stream(dev)>>>(group, x, ldx, z, ldz, w, eps, norm_before_gate, y, ldy);
    else
        k_gated_rmsnorm<THREADS, 32><<<grid, THREADS, 0, br_stream(dev)>>>(group, x, ldx, z, ldz, w, eps, norm_before_gate,
                                                                         y, ldy);
    BR_CUDA_LAUNCHED(dev);
}
