/*
 * gpu_util.c - shared helpers of the CUDA tests (gpu_util.h).
 */
#include "gpu_util.h"

#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"

static br_device *gpu;
static int state; /* 0 unknown, 1 open, -1 none */
static uint64_t rng;

#ifdef BRAID_HAVE_CUDA
static void close_gpu(void) { br_cuda_device_close(gpu); }
#endif

int br_gpu_test_have(void) {
    if (state) return state > 0;
    state = -1;
    rng = br_test_seed("gpu");
#ifdef BRAID_HAVE_CUDA
    br_error err = {0};
    if (br_gpu_count() > 0 && br_cuda_device_open(0, &gpu, &err) == BR_OK) {
        state = 1;
        atexit(close_gpu);
    } else if (br_gpu_count() > 0) {
        fprintf(stderr, "  cannot open GPU 0: %s\n", err.message);
    }
#endif
    if (state < 0) fprintf(stderr, "  no usable GPU (or braid built without CUDA): CUDA tests skipped\n");
    return state > 0;
}

br_device *br_gpu_test_dev(void) { return br_gpu_test_have() ? gpu : NULL; }

uint64_t *br_gpu_test_rng(void) {
    br_gpu_test_have();
    return &rng;
}

float *br_gpu_host_rand(size_t n, float lo, float hi) {
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    br_test_fill_uniform(x, n, lo, hi, br_gpu_test_rng());
    return x;
}

void *br_gpu_to_dev(const void *host, size_t bytes) {
    br_error err = {0};
    void *d = br_dev_alloc(gpu, bytes, &err);
    assert_non_null(d);
    assert_int_equal(br_dev_upload(gpu, d, host, bytes, &err), BR_OK);
    return d;
}

float *br_gpu_from_dev(const float *d, size_t n) {
    br_error err = {0};
    float *h = malloc(n * sizeof *h);
    assert_non_null(h);
    br_status st = br_dev_sync(gpu, &err);
    if (st != BR_OK) fprintf(stderr, "  device: %s\n", err.message);
    assert_int_equal(st, BR_OK);
    assert_int_equal(br_dev_download(gpu, h, d, n * sizeof *h, &err), BR_OK);
    return h;
}

void br_gpu_check(const char *what, float *d_got, const float *cpu, size_t n, double tol) {
    float *got = br_gpu_from_dev(d_got, n);
    double e = br_test_rel_err(got, cpu, n);
    fprintf(stderr, "  %-44s rel err %.2e%s\n", what, e, e < tol ? "" : "  <-- over the tolerance");
    assert_true(e < tol);
    free(got);
    br_dev_free(gpu, d_got);
}
