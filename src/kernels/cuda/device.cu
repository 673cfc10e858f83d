/*
 * device.cu - opening a GPU, device memory, copies and error reporting.
 * All work goes to one stream per device; copies from pageable host memory
 * return once the host buffer may be reused.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cuda_common.cuh"
#include "cudnn_attention.h"

extern "C" {
#include "base/error.h"
}

#define BLAS_WORKSPACE ((size_t)32 << 20) /* cuBLAS's advice for Hopper */

static br_status cuda_fail(br_error *err, const char *what, cudaError_t e) {
    return BR_FAIL(err, BR_ERR_BACKEND, "CUDA %s: %s (%s)", what, cudaGetErrorName(e), cudaGetErrorString(e));
}

extern "C" int br_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* clear: no driver or no device */
        return 0;
    }
    return n;
}

extern "C" br_status br_cuda_device_open(int ordinal, br_device **out, br_error *err) {
    int n = br_cuda_device_count();
    if (ordinal < 0 || ordinal >= n)
        return BR_FAIL(err, BR_ERR_BACKEND, "GPU %d requested but %d usable GPU%s found", ordinal, n, n == 1 ? "" : "s");
    cudaError_t e = cudaSetDevice(ordinal);
    if (e != cudaSuccess) return cuda_fail(err, "cudaSetDevice", e);
    br_device *dev = (br_device *)br_calloc(1, sizeof *dev, err);
    br_cuda_ctx *ctx = (br_cuda_ctx *)br_calloc(1, sizeof *ctx, err);
    if (!dev || !ctx) {
        free(dev);
        free(ctx);
        return BR_ERR_NOMEM;
    }
    dev->backend = BR_BACKEND_CUDA;
    dev->cuda = ctx;
    ctx->ordinal = ordinal;
    e = cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        free(dev);
        free(ctx);
        return cuda_fail(err, "cudaStreamCreate", e);
    }
    cublasStatus_t bs = cublasCreate(&ctx->blas);
    if (bs == CUBLAS_STATUS_SUCCESS) bs = cublasSetStream(ctx->blas, ctx->stream);
    /* f32 products stay IEEE f32 (no TF32), so the GPU agrees with the CPU reference to f32 rounding */
    if (bs == CUBLAS_STATUS_SUCCESS) bs = cublasSetMathMode(ctx->blas, CUBLAS_PEDANTIC_MATH);
    /* a workspace of our own, so that recorded steps never make cuBLAS allocate */
    e = cudaMalloc(&ctx->blas_ws, BLAS_WORKSPACE);
    if (bs == CUBLAS_STATUS_SUCCESS && e == cudaSuccess) bs = cublasSetWorkspace(ctx->blas, ctx->blas_ws, BLAS_WORKSPACE);
    if (bs != CUBLAS_STATUS_SUCCESS || e != cudaSuccess) {
        cudaFree(ctx->blas_ws);
        if (ctx->blas) cublasDestroy(ctx->blas);
        cudaStreamDestroy(ctx->stream);
        free(dev);
        free(ctx);
        return BR_FAIL(err, BR_ERR_BACKEND, "cuBLAS initialisation failed (status %d, %s)", (int)bs, cudaGetErrorName(e));
    }
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, ordinal) == cudaSuccess) {
        ctx->sm_count = prop.multiProcessorCount;
        snprintf(ctx->name, sizeof ctx->name, "%s", prop.name);
    } else {
        ctx->sm_count = 132;
        snprintf(ctx->name, sizeof ctx->name, "unknown GPU");
    }
    ctx->cudnn = br_cudnn_open(ctx->stream, ctx->cudnn_why, sizeof ctx->cudnn_why);
    *out = dev;
    return BR_OK;
}

extern "C" void br_cuda_device_describe(const br_device *dev, char *buf, size_t n) {
    const br_cuda_ctx *c = dev->cuda;
    if (c->cudnn)
        snprintf(buf, n, "GPU %d (%s), attention: cuDNN %s", c->ordinal, c->name, br_cudnn_version(c->cudnn));
    else
        snprintf(buf, n, "GPU %d (%s), attention: braid's kernels (%s)", c->ordinal, c->name, c->cudnn_why);
}

extern "C" void br_cuda_device_close(br_device *dev) {
    if (!dev) return;
    cudaStreamSynchronize(dev->cuda->stream);
    br_cudnn_close(dev->cuda->cudnn);
    cudaFree(dev->cuda->ws);
    cublasDestroy(dev->cuda->blas);
    cudaFree(dev->cuda->blas_ws);
    cudaStreamDestroy(dev->cuda->stream);
    free(dev->cuda);
    free(dev);
}

extern "C" void *br_cuda_alloc(const br_device *dev, size_t bytes, br_error *err) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 64);
    if (e != cudaSuccess) {
        BR_FAIL(err, BR_ERR_NOMEM, "GPU %d: cannot allocate %zu bytes: %s", dev->cuda->ordinal, bytes,
                cudaGetErrorString(e));
        return NULL;
    }
    e = cudaMemsetAsync(p, 0, bytes, dev->cuda->stream);
    if (e != cudaSuccess) {
        cudaFree(p);
        cuda_fail(err, "cudaMemset", e);
        return NULL;
    }
    return p;
}

extern "C" void br_cuda_free(const br_device *dev, void *p) {
    cudaStreamSynchronize(dev->cuda->stream); /* no queued kernel may still use it */
    cudaFree(p);
}

extern "C" br_status br_cuda_copy(const br_device *dev, void *dst, const void *src, size_t bytes, int kind,
                                  br_error *err) {
    if (!bytes) return BR_OK;
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, kind == 1 ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost,
                                    dev->cuda->stream);
    if (e == cudaSuccess && kind == 2) e = cudaStreamSynchronize(dev->cuda->stream); /* the host reads it next */
    return e == cudaSuccess ? BR_OK : cuda_fail(err, kind == 1 ? "upload" : "download", e);
}

extern "C" br_status br_cuda_copy_within(const br_device *dev, void *dst, const void *src, size_t bytes, br_error *err) {
    if (!bytes) return BR_OK;
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, dev->cuda->stream);
    return e == cudaSuccess ? BR_OK : cuda_fail(err, "device copy", e);
}

extern "C" br_status br_cuda_zero(const br_device *dev, void *p, size_t bytes, br_error *err) {
    cudaError_t e = cudaMemsetAsync(p, 0, bytes, dev->cuda->stream);
    return e == cudaSuccess ? BR_OK : cuda_fail(err, "memset", e);
}

extern "C" br_status br_cuda_check(const br_device *dev, br_error *err) {
    br_cuda_note(dev, cudaGetLastError());
    br_cuda_ctx *c = dev->cuda;
    if (c->sticky != cudaSuccess) {
        cudaError_t e = c->sticky;
        c->sticky = cudaSuccess;
        return cuda_fail(err, "kernel launch", e);
    }
    if (c->blas_status != CUBLAS_STATUS_SUCCESS) {
        int s = (int)c->blas_status;
        c->blas_status = CUBLAS_STATUS_SUCCESS;
        return BR_FAIL(err, BR_ERR_BACKEND, "cuBLAS call failed (status %d)", s);
    }
    return BR_OK;
}

extern "C" br_status br_cuda_sync(const br_device *dev, br_error *err) {
    cudaError_t e = cudaStreamSynchronize(dev->cuda->stream);
    if (e != cudaSuccess) return cuda_fail(err, "stream synchronize", e);
    return br_cuda_check(dev, err);
}

extern "C" br_status br_cuda_record_begin(const br_device *dev, br_error *err) {
    cudaError_t e = cudaStreamBeginCapture(dev->cuda->stream, cudaStreamCaptureModeThreadLocal);
    return e == cudaSuccess ? BR_OK : cuda_fail(err, "stream capture", e);
}

extern "C" br_status br_cuda_record_end(const br_device *dev, void **graph, br_error *err) {
    cudaGraph_t g = NULL;
    cudaGraphExec_t x = NULL;
    *graph = NULL;
    cudaError_t e = cudaStreamEndCapture(dev->cuda->stream, &g);
    if (e == cudaSuccess) e = cudaGraphInstantiate(&x, g, 0);
    if (g) cudaGraphDestroy(g);
    if (e != cudaSuccess) {
        /* a call the capture refused leaves its error behind: clear it, the device stays usable */
        cudaGetLastError();
        dev->cuda->sticky = cudaSuccess;
        dev->cuda->blas_status = CUBLAS_STATUS_SUCCESS;
        return cuda_fail(err, "graph capture", e);
    }
    *graph = x;
    return BR_OK;
}

extern "C" br_status br_cuda_replay(const br_device *dev, void *graph, br_error *err) {
    cudaError_t e = cudaGraphLaunch((cudaGraphExec_t)graph, dev->cuda->stream);
    return e == cudaSuccess ? BR_OK : cuda_fail(err, "graph launch", e);
}

extern "C" void br_cuda_graph_free(void *graph) { cudaGraphExecDestroy((cudaGraphExec_t)graph); }
