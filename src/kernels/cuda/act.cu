/*
 * act.cu - activations and the gated (GLU) product, elementwise; the
 * formulas are those of kernels/act.h.
 */
#include "cuda_common.cuh"

extern "C" {
#include "kernels/act.h"
}

#define THREADS 256

__device__ __forceinline__ float act1(int act, float x) {
    switch (act) {
    case BR_ACT_SILU: return br_dev_silu(x);
    case BR_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case BR_ACT_GELU_TANH: return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case BR_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case BR_ACT_RELU2: return x > 0.0f ? x * x : 0.0f;
    default: return x;
    }
}

__global__ void k_act(int act, long n, const float *__restrict__ x, float *y) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) y[i] = act1(act, x[i]);
}

extern "C" void br_cuda_act(const br_device *dev, br_act act, size_t n, const float *x, float *y) {
    if (!n) return;
    long blocks = ((long)n + THREADS - 1) / THREADS;
    k_act<<<(unsigned)(blocks < 1048576 ? blocks : 1048576), THREADS, 0, br_stream(dev)>>>((int)act, (long)n, x, y);
    BR_CUDA_LAUNCHED(dev);
}

__global__ void k_gated_act(int act, int n, int f, const float *__restrict__ gu, int ldgu, float gate_scale, float *y) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)n * f; i += (long)gridDim.x * blockDim.x) {
        long r = i / f, j = i % f;
        const float *g = gu + r * ldgu;
        y[i] = act1(act, gate_scale * g[j]) * g[f + j];
    }
}

extern "C" void br_cuda_gated_act(const br_device *dev, br_act act, int n, int f, const float *gu, int ldgu,
                                  float gate_scale, float *y) {
    if (n <= 0 || f <= 0) return;
    long blocks = ((long)n * f + THREADS - 1) / THREADS;
    k_gated_act<<<(unsigned)(blocks < 1048576 ? blocks : 1048576), THREADS, 0, br_stream(dev)>>>((int)act, n, f, gu, ldgu,
                                                                                                  gate_scale, y);
    BR_CUDA_LAUNCHED(dev);
}
