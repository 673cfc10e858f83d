/*
 * test_util.h - helpers shared by braid's cmocka tests: paths into the
 * source tree, fresh random inputs, and relative-error comparison.
 */
#ifndef BR_TEST_UTIL_H
#define BR_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "braid.h"

/* The exit status of a test program that cannot run here (no GPU): ctest
 * reports it as skipped (SKIP_RETURN_CODE in CMakeLists.txt). */
#define BR_TEST_SKIPPED 77

/* Absolute path of `rel` under the source tree (BRAID_SOURCE_DIR, else cwd).
 * Returns a static buffer overwritten by the next call. */
const char *br_test_path(const char *rel);

/* A seed that differs from run to run (time and pid) unless BRAID_TEST_SEED
 * is set; printed so that a failure can be replayed. */
uint64_t br_test_seed(const char *test_name);

/* Fills x[n] with uniform values in [lo, hi) from a splitmix64 stream. */
void br_test_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *rng);

/* ||a - b|| / max(||b||, tiny) over n elements (L2 norms, in double). */
double br_test_rel_err(const float *a, const float *b, size_t n);

/* Largest |a - b| / max(max|b|, tiny): error relative to the scale of b. */
double br_test_max_err_scaled(const float *a, const float *b, size_t n);

/* The spec tests/data/specs/<name>.yaml with random weights from seed (asserts on failure). */
br_model *br_test_random_model(const char *name, uint64_t seed);

/* The ids of a JSON array (a fixture's prompt_ids), malloc'd; *n gets their count. */
int32_t *br_test_json_ids(const json_t *arr, int *n);

/* Notices caught: from br_test_catch_notices(1) on, the last notice the library gave is kept ("" until
 * one comes); br_test_catch_notices(0) stops catching and keeps what was caught. */
void br_test_catch_notices(int on);
const char *br_test_last_notice(void);

#endif /* BR_TEST_UTIL_H */
