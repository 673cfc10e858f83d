/*
 * linear.cu - y = x W^T (+ b) through cuBLAS.
 *
 * Row-major x [n, in] (ldx), W [out, in], y [n, out] (ldy) are, in cuBLAS's
 * column-major terms, y^T = W x^T: Gemm(T, N, out, n, in, W, x, y).
 * f32 weights: Sgemm with pedantic math (IEEE f32, no TF32), matching the
 * CPU reference to f32 rounding.  bf16 weights: x is converted to bf16 in
 * the device workspace and GemmEx runs on the tensor cores with f32
 * accumulation and an f32 result.
 */
#include <cuda_bf16.h>

#include "cuda_common.cuh"

extern "C" {
#include "kernels/linear.h"
}

__global__ void add_bias(int n, int out, const float *__restrict__ b, float *__restrict__ y, int ldy) {
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (long)n * out) y[(i / out) * ldy + i % out] += b[i % out];
}

__global__ void to_bf16(int n, int in, const float *__restrict__ x, int ldx, __nv_bfloat16 *__restrict__ xb) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)n * in; i += (long)gridDim.x * blockDim.x)
        xb[i] = __float2bfloat16(x[(i / in) * ldx + i % in]);
}

extern "C" void br_cuda_linear(const br_device *dev, int n, int in, int out, const float *x, int ldx, br_mat w,
                               const float *b, float beta, float *y, int ldy) {
    if (n <= 0 || out <= 0) return;
    const float one = 1.0f;
    cublasHandle_t h = dev->cuda->blas;
    if (w.dtype == BR_F32) {
        br_cuda_note_blas(dev, cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH));
        br_cuda_note_blas(dev, cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, (const float *)w.data, in, x,
                                           ldx, &beta, y, ldy));
    } else if (w.dtype == BR_BF16) {
        __nv_bfloat16 *xb = (__nv_bfloat16 *)br_cuda_workspace(dev, (size_t)n * in * sizeof(__nv_bfloat16));
        if (!xb) return;
        long blocks = ((long)n * in + 255) / 256;
        to_bf16<<<(unsigned)(blocks < 65535 ? blocks : 65535), 256, 0, br_stream(dev)>>>(n, in, x, ldx, xb);
        BR_CUDA_LAUNCHED(dev);
        br_cuda_note_blas(dev, cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
        br_cuda_note_blas(dev, cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w.data, CUDA_R_16BF, in, xb,
                                            CUDA_R_16BF, in, &beta, y, CUDA_R_32F, ldy, CUBLAS_COMPUTE_32F,
                                            CUBLAS_GEMM_DEFAULT));
    } else {
        br_cuda_note(dev, cudaErrorNotSupported); /* f16 matrices are not produced on the GPU */
        return;
    }
    if (b) {
        add_bias<<<br_blocks((long)n * out, 256), 256, 0, br_stream(dev)>>>(n, out, b, y, ldy);
        BR_CUDA_LAUNCHED(dev);
    }
}
