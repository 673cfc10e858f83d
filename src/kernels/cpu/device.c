/*
 * device.c (cpu) - the CPU device: host memory and memcpy.  The br_dev_*
 * entry points dispatch to CUDA for a CUDA device (kernels/cuda/device.cu).
 */
#include "kernels/device.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

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
br_status br_cuda_measure(const br_device *dev, br_dev_ceilings *out, br_error *err);
void br_cuda_memory(const br_device *dev, size_t *used, size_t *total);
br_status br_cuda_copy_within(const br_device *dev, void *dst, const void *src, size_t bytes, br_error *err);
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

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The best of `reps` timings of `stmt`, into `best` (seconds). */
#define BEST_OF(reps, best, stmt)                    \
    do {                                             \
        best = 1e30;                                 \
        for (int r_ = 0; r_ < (reps); r_++) {        \
            double t0_ = seconds();                  \
            stmt;                                    \
            double dt_ = seconds() - t0_;            \
            if (dt_ < best) best = dt_;              \
        }                                            \
    } while (0)

br_status br_dev_measure(const br_device *dev, br_dev_ceilings *out, br_error *err) {
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) return br_cuda_measure(dev, out, err);
#endif
    const size_t bytes = (size_t)256 << 20;
    const int n = 2048;
    char *a = malloc(bytes), *b = malloc(bytes);
    float *x = malloc((size_t)n * n * sizeof *x), *y = malloc((size_t)n * n * sizeof *y), *z = malloc((size_t)n * n * sizeof *z);
    if (!a || !b || !x || !y || !z) {
        free(a), free(b), free(x), free(y), free(z);
        return BR_FAIL(err, BR_ERR_NOMEM, "measuring the CPU's ceilings: cannot allocate %zu MiB", (2 * bytes) >> 20);
    }
    uint64_t r = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < bytes; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        a[i] = (char)(r >> 56);
        b[i] = 0;
    }
    for (size_t i = 0; i < (size_t)n * n; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)(r >> 40) / 16777216.0f - 0.5f, y[i] = x[i] * 0.5f;
    }
    double t;
    BEST_OF(5, t, memcpy(b, a, bytes));
    out->copy_bytes_per_s = 2.0 * (double)bytes / t;
    BEST_OF(3, t, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, x, n, y, n, 0.0f, z, n));
    out->matmul_flops_per_s = 2.0 * n * (double)n * n / t;
    snprintf(out->matmul_what, sizeof out->matmul_what, "f32 GEMM %d^3 (BLAS)", n);
    free(a), free(b), free(x), free(y), free(z);
    return BR_OK;
}

void br_dev_memory(const br_device *dev, size_t *used, size_t *total) {
    *used = *total = 0;
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) br_cuda_memory(dev, used, total);
#endif
}

size_t br_dev_available(const br_device *dev) {
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) {
        size_t used = 0, total = 0;
        br_cuda_memory(dev, &used, &total);
        return total > used ? total - used : 0;
    }
#endif
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    if (f) fclose(f);
    if (kb) return (size_t)kb * 1024;
    long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
}

static void bytes_text(double b, char *buf, size_t cap) {
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) b /= 1024, u++;
    snprintf(buf, cap, "%.2f %s", b, unit[u]);
}

br_status br_dev_check_room(const br_device *dev, double need, const char *what, const char *outcome, br_error *err) {
    const size_t have = br_dev_available(dev);
    if (!have || need <= (double)have) return BR_OK;
    char n[32], h[32];
    bytes_text(need, n, sizeof n);
    bytes_text((double)have, h, sizeof h);
    return BR_FAIL(err, BR_ERR_NOMEM, "%s needs %s on the %s and %s is available; %s", what, n,
                   ON_CUDA(dev) ? "GPU" : "CPU", h, outcome);
}

br_status br_dev_copy(const br_device *dev, void *dst, const void *src, size_t bytes, br_error *err) {
#ifdef BRAID_HAVE_CUDA
    if (ON_CUDA(dev)) return br_cuda_copy_within(dev, dst, src, bytes, err);
#endif
    memmove(dst, src, bytes);
    return BR_OK;
}
