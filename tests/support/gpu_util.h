/*
 * gpu_util.h - what the CUDA tests share: the GPU they run on, host and
 * device buffers of fresh random values, and the GPU-vs-CPU comparison.
 * Without a CUDA build or a GPU, br_gpu_test_have() is 0 and says once that
 * the GPU tests are skipped.
 */
#ifndef BR_TEST_GPU_UTIL_H
#define BR_TEST_GPU_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/device.h"

/* 1 when a GPU is there (and opens it on first use), else 0 with one line to stderr. */
int br_gpu_test_have(void);
/* The GPU device (NULL without one); closed at exit. */
br_device *br_gpu_test_dev(void);
/* The random stream of this test program (seeded once, printed). */
uint64_t *br_gpu_test_rng(void);

/* n floats uniform in [lo, hi) on the host (malloc'd). */
float *br_gpu_host_rand(size_t n, float lo, float hi);
/* A device copy of `bytes` host bytes. */
void *br_gpu_to_dev(const void *host, size_t bytes);
/* n f32 values downloaded (malloc'd) after the device finished. */
float *br_gpu_from_dev(const float *d, size_t n);
/* Relative L2 error of the device result d_got against cpu[n]; printed
 * with `what`, checked against tol; frees d_got. */
void br_gpu_check(const char *what, float *d_got, const float *cpu, size_t n, double tol);

#endif /* BR_TEST_GPU_UTIL_H */
