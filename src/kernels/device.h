/*
 * device.h - where tensors live and how to reach them.
 *
 * A br_device says which backend runs the kernels (the CPU, or CUDA with
 * its stream and library handles) and owns nothing else.  Every kernel
 * takes the device first, so br_cpu_<op> and br_cuda_<op> share one
 * signature; memory that kernels touch (weights, states, caches, scratch)
 * is allocated with br_dev_alloc on the same device, and crosses to the
 * host only through br_dev_upload / br_dev_download.  On the CPU all of
 * this is plain memory and memcpy.
 *
 * Kernels do not return a status: a CUDA launch that fails is caught by
 * br_dev_check, which the executor calls after every unit and before it
 * hands results back.
 */
#ifndef BR_KERNELS_DEVICE_H
#define BR_KERNELS_DEVICE_H

#include <stddef.h>

#include "braid.h"

typedef enum br_backend { BR_BACKEND_CPU = 0, BR_BACKEND_CUDA = 1 } br_backend;

struct br_cuda_ctx;

/* A weight matrix as kernels take it: data on the device and its element
 * type (f32 everywhere; bf16 for matrix weights on a GPU). */
typedef struct br_mat {
    const void *data;
    br_dtype dtype;
} br_mat;

/* The matrix that starts `offset` elements into m (an expert, a head). */
static inline br_mat br_mat_at(br_mat m, long offset) {
    br_mat r = {(const char *)m.data + offset * (long)br_dtype_size(m.dtype), m.dtype};
    return r;
}
static inline br_mat br_mat_f32(const float *p) {
    br_mat r = {p, BR_F32};
    return r;
}

typedef struct br_device {
    br_backend backend;
    struct br_cuda_ctx *cuda; /* CUDA: stream, cuBLAS handle, ordinal; NULL on the CPU */
} br_device;

/* The CPU device (stateless, shared). */
extern const br_device br_cpu_device;

/* Zeroed, 64-byte aligned memory on the device; NULL (err set) on failure. */
void *br_dev_alloc(const br_device *dev, size_t bytes, br_error *err);
void br_dev_free(const br_device *dev, void *p); /* NULL-safe */
br_status br_dev_upload(const br_device *dev, void *dst, const void *src, size_t bytes, br_error *err);
br_status br_dev_download(const br_device *dev, void *dst, const void *src, size_t bytes, br_error *err);
br_status br_dev_zero(const br_device *dev, void *p, size_t bytes, br_error *err);
/* Reports a failed kernel launch (CUDA); BR_OK on the CPU. */
br_status br_dev_check(const br_device *dev, br_error *err);
/* Waits for queued work and reports failures. */
br_status br_dev_sync(const br_device *dev, br_error *err);

/* The device's two ceilings, measured now on random data (well under a
 * second): bytes per second of a large copy within the device (read and
 * written counted), and FLOP/s of a large matrix product in the type matrix
 * weights use there (bf16 with f32 accumulation on a GPU, f32 BLAS on the CPU). */
typedef struct br_dev_ceilings {
    double copy_bytes_per_s;
    double matmul_flops_per_s;
    char matmul_what[48];  /* "bf16 GEMM 8192^3 (cuBLAS)" */
} br_dev_ceilings;
br_status br_dev_measure(const br_device *dev, br_dev_ceilings *out, br_error *err);
/* Device memory in use and in all (bytes; the CPU reports 0 and 0). */
void br_dev_memory(const br_device *dev, size_t *used, size_t *total);
/* Bytes that can still be allocated on the device (the CPU: MemAvailable); 0 when unknown. */
size_t br_dev_available(const br_device *dev);
/* Memory planned before it is taken: BR_OK when `need` bytes fit in what the device has available (or
 * that is unknown), else BR_ERR_NOMEM saying "<what> needs <need> on the <CPU|GPU> and <have> is
 * available; <outcome>" (outcome: what the caller left as it was). */
br_status br_dev_check_room(const br_device *dev, double need, const char *what, const char *outcome, br_error *err);
/* Copies bytes within the device (ordered with its kernels). */
br_status br_dev_copy(const br_device *dev, void *dst, const void *src, size_t bytes, br_error *err);

/* Recording (CUDA graphs): between record_begin and record_end the device
 * queues nothing and runs nothing; it records the kernels, which replay then
 * runs again with the same arguments in one launch.  record_end hands back
 * the recording (*graph, freed with br_dev_graph_free) or fails, leaving the
 * device usable.  The CPU records nothing: record_begin says unsupported. */
br_status br_dev_record_begin(const br_device *dev, br_error *err);
br_status br_dev_record_end(const br_device *dev, void **graph, br_error *err);
br_status br_dev_replay(const br_device *dev, void *graph, br_error *err);
void br_dev_graph_free(const br_device *dev, void *graph); /* NULL-safe */

#ifdef BRAID_HAVE_CUDA
/* Opens GPU `ordinal`: a stream and a cuBLAS handle. *out owned by the caller. */
br_status br_cuda_device_open(int ordinal, br_device **out, br_error *err);
void br_cuda_device_close(br_device *dev);
/* Number of usable GPUs (0 when there is no driver or device). */
int br_cuda_device_count(void);
/* "GPU 0 (NVIDIA H200), attention: cuDNN 9.14.0 flash attention" (or what runs instead). */
void br_cuda_device_describe(const br_device *dev, char *buf, size_t n);
#endif

#endif /* BR_KERNELS_DEVICE_H */
