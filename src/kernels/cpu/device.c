/*
 * device.c (cpu) - the CPU device: host memory and memcpy.  The br_dev_*
 * entry points dispatch to CUDA for a CUDA device (kernels/cuda/device.cu).
 */
#include "kernels/device.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

const br_device br_cpu_device = {BR_BACKEND_CPU, NULL};

#ifdef BRAID_HAVE_CUDA
void *br_cuda_alloc(const br_device *dev, size_t bytes, br_error *err);
void br_cuda_free(const br_device *dev, void *p);
br_status br_cuda_copy(const br_device *dev, void *dst, const void *src, size_t bytes, int kind, br_error *err);
br_status br_cuda_zero(const br_device *dev, void *p, size_t bytes, br_error *err);
br_status br_cuda_check(const br_device *dev, br_error *err);
br_status br_cuda_sync(const br_device *dev, br_error *err);
br_status br_cuda_record_begin(const br_device *dev, br_error *err);
br_status br_cuda_record_end(const br_device *dev, void **graph, br_error *err);
br_status br_cuda_replay(const br_device *dev, void *graph, br_error *err);
void br_cuda_graph_free(void *graph);
#define ON_CUDA(dev) ((dev) && (dev)->backend == BR_BACKEND_CUDA)
#else
#define ON_CUDA(dev) 0
#endif

void *br_dev_alloc(const br_device *dev, size_t bytes, br_error *err) {
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) return br_cuda_alloc(dev, bytes, err);
#endif
    size_t rounded = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) {
        BR_FAIL(err, BR_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
        return NULL;
    }
    memset(p, 0, rounded ? rounded : 64);
    return p;
}

void br_dev_free(const br_device *dev, void *p) {
    if (!p) return;
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) {
        br_cuda_free(dev, p);
        return;
    }
#endif
    free(p);
}

br_status br_dev_upload(const br_device *dev, void *dst, const void *src, size_t bytes, br_error *err) {
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) return br_cuda_copy(dev, dst, src, bytes, 1, err);
#endif
    if (bytes) memmove(dst, src, bytes);
    return BR_OK;
}

br_status br_dev_download(const br_device *dev, void *dst, const void *src, size_t bytes, br_error *err) {
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) return br_cuda_copy(dev, dst, src, bytes, 2, err);
#endif
    if (bytes) memmove(dst, src, bytes);
    return BR_OK;
}

br_status br_dev_zero(const br_device *dev, void *p, size_t bytes, br_error *err) {
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) return br_cuda_zero(dev, p, bytes, err);
#endif
    if (bytes) memset(p, 0, bytes);
    return BR_OK;
}

br_status br_dev_check(const br_device *dev, br_error *err) {
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) return br_cuda_check(dev, err);
#endif
    return BR_OK;
}

br_status br_dev_sync(const br_device *dev, br_error *err) {
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) return br_cuda_sync(dev, err);
#endif
    return BR_OK;
}

br_status br_dev_record_begin(const br_device *dev, br_error *err) {
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) return br_cuda_record_begin(dev, err);
#endif
    return BR_FAIL(err, BR_ERR_UNSUPPORTED, "the CPU device does not record kernels");
}

br_status br_dev_record_end(const br_device *dev, void **graph, br_error *err) {
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) return br_cuda_record_end(dev, graph, err);
#endif
    *graph = NULL;
    return BR_FAIL(err, BR_ERR_UNSUPPORTED, "the CPU device does not record kernels");
}

br_status br_dev_replay(const br_device *dev, void *graph, br_error *err) {
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) return br_cuda_replay(dev, graph, err);
#endif
    return BR_FAIL(err, BR_ERR_UNSUPPORTED, "the CPU device does not replay recordings");
}

void br_dev_graph_free(const br_device *dev, void *graph) {
#ifdef BRAID_HAVE_CUDA
    if (graph && ON_CUDA(dev)) br_cuda_graph_free(graph);
#endif
}
