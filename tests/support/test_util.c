/*
 * test_util.c - shared helpers for braid tests.
 */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

const char *br_test_path(const char *rel) {
    static char buf[4096];
    const char *root = getenv("BRAID_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/%s", root ? root : ".", rel);
    return buf;
}

uint64_t br_test_seed(const char *test_name) {
    const char *env = getenv("BRAID_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0)
                        : ((uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull) ^ (uint64_t)getpid();
    fprintf(stderr, "[ seed ] %s: BRAID_TEST_SEED=%llu\n", test_name, (unsigned long long)seed);
    return seed;
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void br_test_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *rng) {
    for (size_t i = 0; i < n; i++) {
        double u = (double)(splitmix64(rng) >> 11) / 9007199254740992.0;
        x[i] = lo + (float)(u * (hi - lo));
    }
}

double br_test_rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        if (isnan(a[i]) || isnan(b[i])) return INFINITY;
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return sqrt(num) / (den > 1e-300 ? sqrt(den) : 1e-150);
}

double br_test_max_err_scaled(const float *a, const float *b, size_t n) {
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) return INFINITY;
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
    }
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > worst) worst = d;
    }
    return worst / (scale > 1e-300 ? scale : 1e-300);
}

br_model *br_test_random_model(const char *name, uint64_t seed) {
    char rel[256];
    snprintf(rel, sizeof rel, "tests/data/specs/%s.yaml", name);
    br_spec *spec = NULL;
    br_model *m = NULL;
    br_error err = {0};
    br_status st = br_spec_load(br_test_path(rel), &spec, &err);
    if (st == BR_OK) st = br_model_create_random(spec, seed, &m, &err);
    if (st != BR_OK) fprintf(stderr, "%s: %s\n", name, err.message);
    assert_int_equal(st, BR_OK);
    return m;
}

int32_t *br_test_json_ids(const json_t *arr, int *n) {
    *n = (int)json_array_size(arr);
    int32_t *ids = malloc((size_t)(*n ? *n : 1) * sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < *n; i++) ids[i] = (int32_t)json_integer_value(json_array_get(arr, (size_t)i));
    return ids;
}

static char last_notice[1024];

static void keep_notice(void *user, const char *message) {
    (void)user;
    snprintf(last_notice, sizeof last_notice, "%s", message);
}

void br_test_catch_notices(int on) {
    if (on) last_notice[0] = '\0';
    br_set_notice_handler(on ? keep_notice : NULL, NULL);
}

const char *br_test_last_notice(void) { return last_notice; }
