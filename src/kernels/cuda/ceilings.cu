/*
 * ceilings.cu - the GPU's two ceilings, measured on random data (device.h:
 * br_dev_measure): a 1 GiB device-to-device copy (read + written bytes) and
 * a bf16 GEMM of 8192^3 with f32 accumulation through cuBLAS, each the
 * median of 9 event-timed runs after 2 warm-ups.
 */
#include <cuda_bf16.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda_common.cuh"

extern "C" {
#include "base/error.h"
}

#define RUNS 9

__global__ void k_fill_random(__nv_bfloat16 *x, long n, unsigned seed) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 15, h *= 2246822519u, h ^= h >> 13;
        x[i] = __float2bfloat16((float)(h & 0xffff) / 65536.0f - 0.5f);
    }
}

static int cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Median milliseconds of RUNS timed calls of `what` (after 2 warm-ups); -1 on a CUDA error. */
template <typename F>
static float median_ms(cudaStream_t s, F what) {
    cudaEvent_t a, b;
    float t[RUNS];
    if (cudaEventCreate(&a) != cudaSuccess || cudaEventCreate(&b) != cudaSuccess) return -1;
    for (int i = 0; i < 2; i++) what();
    for (int i = 0; i < RUNS; i++) {
        cudaEventRecord(a, s);
        what();
        cudaEventRecord(b, s);
        if (cudaEventSynchronize(b) != cudaSuccess) return -1;
        cudaEventElapsedTime(&t[i], a, b);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    qsort(t, RUNS, sizeof *t, cmp_float);
    return t[RUNS / 2];
}

extern "C" br_status br_cuda_measure(const br_device *dev, br_dev_ceilings *out, br_error *err) {
    const size_t copy_bytes = (size_t)1 << 30;
    const int n = 8192;
    const long elems = (long)n * n;
    cudaStream_t s = br_stream(dev);
    void *src = NULL, *dst = NULL;
    __nv_bfloat16 *A = NULL, *B = NULL, *C = NULL;
    cudaError_t e = cudaMalloc(&src, copy_bytes);
    if (e == cudaSuccess) e = cudaMalloc(&dst, copy_bytes);
    if (e == cudaSuccess) e = cudaMalloc(&A, elems * sizeof *A);
    if (e == cudaSuccess) e = cudaMalloc(&B, elems * sizeof *B);
    if (e == cudaSuccess) e = cudaMalloc(&C, elems * sizeof *C);
    float copy_ms = -1, gemm_ms = -1;
    cublasStatus_t bs = CUBLAS_STATUS_SUCCESS;
    if (e == cudaSuccess) {
        k_fill_random<<<4096, 256, 0, s>>>((__nv_bfloat16 *)src, (long)(copy_bytes / 2), 7u);
        k_fill_random<<<4096, 256, 0, s>>>(A, elems, 11u);
        k_fill_random<<<4096, 256, 0, s>>>(B, elems, 13u);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess)
        copy_ms = median_ms(s, [&] { cudaMemcpyAsync(dst, src, copy_bytes, cudaMemcpyDeviceToDevice, s); });
    if (e == cudaSuccess && copy_ms > 0) {
        const float one = 1.0f, zero = 0.0f;
        cublasHandle_t h = dev->cuda->blas;
        cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
        gemm_ms = median_ms(s, [&] {
            cublasStatus_t r = cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, A, CUDA_R_16BF, n, B, CUDA_R_16BF,
                                            n, &zero, C, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
            if (r != CUBLAS_STATUS_SUCCESS) bs = r;
        });
    }
    if (e == cudaSuccess) e = cudaGetLastError();
    cudaFree(src), cudaFree(dst), cudaFree(A), cudaFree(B), cudaFree(C);
    if (e != cudaSuccess || copy_ms <= 0 || gemm_ms <= 0 || bs != CUBLAS_STATUS_SUCCESS)
        return BR_FAIL(err, BR_ERR_BACKEND, "measuring GPU %d's ceilings failed (%s, cuBLAS status %d)",
                       dev->cuda->ordinal, cudaGetErrorString(e), (int)bs);
    out->copy_bytes_per_s = 2.0 * (double)copy_bytes / (copy_ms * 1e-3);
    out->matmul_flops_per_s = 2.0 * n * (double)n * n / (gemm_ms * 1e-3);
    snprintf(out->matmul_what, sizeof out->matmul_what, "bf16 GEMM %d^3 (cuBLAS)", n);
    return BR_OK;
}

extern "C" void br_cuda_memory(const br_device *dev, size_t *used, size_t *total) {
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        cudaGetLastError();
        *used = *total = 0;
        return;
    }
    *used = total_b - free_b;
    *total = total_b;
}
