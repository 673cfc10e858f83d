/*
 * linear16.c - the table of 16-bit-weight kernels (linear16.h) and the
 * choice among them, made once from the CPU's features.
 */
#include "kernels/cpu/linear16.h"

#include <cpuid.h>
#include <pthread.h>

static int always(void) { return 1; }

static const br_linear16_kernel kernels[] = {
#if defined(__x86_64__)
    {"avx512", br_linear16_avx512_supported, br_linear16_avx512},
    {"avx2", br_linear16_avx2_supported, br_linear16_avx2},
#endif
    {"c", always, br_linear16_c},
};

const br_linear16_kernel *br_linear16_kernels(int *count) {
    *count = (int)(sizeof kernels / sizeof kernels[0]);
    return kernels;
}

static const br_linear16_kernel *best;
static pthread_once_t chosen = PTHREAD_ONCE_INIT;

static void choose(void) {
    int i = 0;
    while (!kernels[i].supported()) i++; /* the last is always supported */
    best = &kernels[i];
}

const br_linear16_kernel *br_linear16_best(void) {
    pthread_once(&chosen, choose);
    return best;
}

int br_linear16_cpu_has_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}
