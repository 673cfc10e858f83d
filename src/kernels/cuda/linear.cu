/*
 * linear.cu - y = x W^T (+ b): braid's GEMV for decode-sized batches of
 * bf16 weights, cuBLAS otherwise.
 *
 * Row-major x [n, in] (ldx), W [out, in], y [n, out] (ldy) are, in cuBLAS's
 * column-major terms, y^T = W x^T: Gemm(T, N, out, n, in, W, x, y).
 * f32 weights: Sgemm with pedantic math (IEEE f32, no TF32), matching the
 * CPU reference to f32 rounding.  bf16 weights, n > GEMV_MAX_N: x is
 * converted to bf16 in the device workspace and GemmEx runs on the tensor
 * cores with f32 accumulation and an f32 result.
 *
 * bf16 weights, n <= GEMV_MAX_N (decode): reading W once is the whole cost,
 * so block b computes output rows 4b .. 4b+3 for all n rows of x: its 256
 * threads split `in` (thread t takes elements 8t + 2048i .. +7, one 16-byte
 * load of each of the 4 weight rows per step, x read as f32 through the
 * cache), then the partial sums meet in shared memory.  No conversion pass,
 * no workspace, one launch.
 */
#include <cuda_bf16.h>

#include "convert.cuh"
#include "cuda_common.cuh"
#include "gemv.cuh"

extern "C" {
#include "kernels/linear.h"
}

__global__ void add_bias(int n, int out, const float *__restrict__ b, float *__restrict__ y, int ldy) {
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (long)n * out) y[(i / out) * ldy + i % out] += b[i % out];
}

/* grid ceil(out / GEMV_ROWS), GEMV_THREADS threads (gemv.cuh). */
template <int N>
__global__ void __launch_bounds__(GEMV_THREADS) k_gemv_bf16(int n, int in, int out, const float *__restrict__ x, int ldx,
                                                           const __nv_bfloat16 *__restrict__ w,
                                                           const float *__restrict__ b, float beta, float *y, int ldy) {
    const int o0 = blockIdx.x * GEMV_ROWS;
    gemv_block<__nv_bfloat16, N>(n, in, o0, min(GEMV_ROWS, out - o0), x, ldx, w, b, beta, y, ldy);
}

static int gemv_suits(int n, int in, const float *x, int ldx, br_mat w) {
    return w.dtype == BR_BF16 && n <= GEMV_MAX_N && in % 8 == 0 && (n == 1 || ldx % 4 == 0) && !((uintptr_t)x & 15) &&
           !((uintptr_t)w.data & 15);
}

/* The maps of a multi-map GEMV and the first block of each (the last entry: the grid size). */
typedef struct gemv_multi {
    br_linear_out outs[BR_LINEAR_MULTI_MAX];
    int first_block[BR_LINEAR_MULTI_MAX + 1];
} gemv_multi;

template <int N>
__global__ void __launch_bounds__(GEMV_THREADS) k_gemv_multi(int n, int in, const float *__restrict__ x, int ldx,
                                                            gemv_multi m) {
    int i = 0;
    while ((int)blockIdx.x >= m.first_block[i + 1]) i++;
    const br_linear_out *o = &m.outs[i];
    const int o0 = (blockIdx.x - m.first_block[i]) * GEMV_ROWS;
    gemv_block<__nv_bfloat16, N>(n, in, o0, min(GEMV_ROWS, o->out - o0), x, ldx, (const __nv_bfloat16 *)o->w.data, o->b,
                                 0.0f, o->y, o->ldy);
}

/* braid's GEMV for n <= GEMV_MAX_N rows and bf16 weights; 0 when the shape does not suit it. */
static int gemv(const br_device *dev, int n, int in, int out, const float *x, int ldx, br_mat w, const float *b,
                float beta, float *y, int ldy) {
    if (!gemv_suits(n, in, x, ldx, w)) return 0;
    const unsigned grid = (unsigned)((out + GEMV_ROWS - 1) / GEMV_ROWS);
    const __nv_bfloat16 *wb = (const __nv_bfloat16 *)w.data;
    cudaStream_t s = br_stream(dev);
    switch (n) {
    case 1: k_gemv_bf16<1><<<grid, GEMV_THREADS, 0, s>>>(n, in, out, x, ldx, wb, b, beta, y, ldy); break;
    case 2: k_gemv_bf16<2><<<grid, GEMV_THREADS, 0, s>>>(n, in, out, x, ldx, wb, b, beta, y, ldy); break;
    case 3:
    case 4: k_gemv_bf16<4><<<grid, GEMV_THREADS, 0, s>>>(n, in, out, x, ldx, wb, b, beta, y, ldy); break;
    default: k_gemv_bf16<8><<<grid, GEMV_THREADS, 0, s>>>(n, in, out, x, ldx, wb, b, beta, y, ldy); break;
    }
    BR_CUDA_LAUNCHED(dev);
    return 1;
}

extern "C" void br_cuda_linear_multi(const br_device *dev, int n, int in, const float *x, int ldx, int count,
                                     const br_linear_out *outs) {
    if (n <= 0 || count <= 0) return;
    int one_launch = count <= BR_LINEAR_MULTI_MAX;
    for (int i = 0; i < count && one_launch; i++) one_launch = gemv_suits(n, in, x, ldx, outs[i].w);
    if (!one_launch) {
        for (int i = 0; i < count; i++)
            br_cuda_linear(dev, n, in, outs[i].out, x, ldx, outs[i].w, outs[i].b, 0.0f, outs[i].y, outs[i].ldy);
        return;
    }
    gemv_multi m = {};
    for (int i = 0; i < count; i++) {
        m.outs[i] = outs[i];
        m.first_block[i + 1] = m.first_block[i] + (outs[i].out + GEMV_ROWS - 1) / GEMV_ROWS;
    }
    for (int i = count; i < BR_LINEAR_MULTI_MAX; i++) m.first_block[i + 1] = m.first_block[count];
    const unsigned grid = (unsigned)m.first_block[count];
    cudaStream_t s = br_stream(dev);
    if (n == 1) k_gemv_multi<1><<<grid, GEMV_THREADS, 0, s>>>(n, in, x, ldx, m);
    else if (n == 2) k_gemv_multi<2><<<grid, GEMV_THREADS, 0, s>>>(n, in, x, ldx, m);
    else if (n <= 4) k_gemv_multi<4><<<grid, GEMV_THREADS, 0, s>>>(n, in, x, ldx, m);
    else k_gemv_multi<8><<<grid, GEMV_THREADS, 0, s>>>(n, in, x, ldx, m);
    BR_CUDA_LAUNCHED(dev);
}

extern "C" void br_cuda_linear(const br_device *dev, int n, int in, int out, const float *x, int ldx, br_mat w,
                               const float *b, float beta, float *y, int ldy) {
    if (n <= 0 || out <= 0) return;
    if (gemv(dev, n, in, out, x, ldx, w, b, beta, y, ldy)) return;
    const float one = 1.0f;
    cublasHandle_t h = dev->cuda->blas;
    if (w.dtype == BR_F32) {
        br_cuda_note_blas(dev, cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH));
        br_cuda_note_blas(dev, cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, (const float *)w.data, in, x,
                                           ldx, &beta, y, ldy));
    } else if (w.dtype == BR_BF16) {
        __nv_bfloat16 *xb = (__nv_bfloat16 *)br_cuda_workspace(dev, (size_t)n * in * sizeof(__nv_bfloat16));
        if (!xb) return;
        br_cuda_convert_rows(dev, n, in, x, ldx, xb, in);
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
