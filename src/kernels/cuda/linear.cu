/*
 * linear.cu - y = x W^T (+ b) through cuBLAS (f32, pedantic math: no TF32).
 * Row-major x [n, in] (ldx), W [out, in], y [n, out] (ldy) are, in cuBLAS's
 * column-major terms, y^T = W x^T: Sgemm(T, N, out, n, in, W, x, y).
 */
#include "cuda_common.cuh"

extern "C" {
#include "kernels/linear.h"
}

__global__ void add_bias(int n, int out, const float *__restrict__ b, float *__restrict__ y, int ldy) {
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (long)n * out) y[(i / out) * ldy + i % out] += b[i % out];
}

extern "C" void br_cuda_linear(const br_device *dev, int n, int in, int out, const float *x, int ldx, const float *w,
                               const float *b, float beta, float *y, int ldy) {
    if (n <= 0 || out <= 0) return;
    const float one = 1.0f;
    cublasStatus_t s = cublasSgemm(dev->cuda->blas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w, in, x, ldx, &beta, y, ldy);
    br_cuda_note_blas(dev, s);
    if (b) {
        add_bias<<<br_blocks((long)n * out, 256), 256, 0, br_stream(dev)>>>(n, out, b, y, ldy);
        BR_CUDA_LAUNCHED(dev);
    }
}
