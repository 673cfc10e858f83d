/*
 * test_npy.c - the .npy writer and reader: byte-identical output to
 * numpy.save (fixture from tools/make_npy_fixture.py), reading numpy's v1.0,
 * v2.0 and v3.0 files, round trips over many shapes, and every kind of bad
 * file and argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "base/npy.h"
#include "test_util.h"
#include "tmpdir.h"

static int setup_dir(void **state) {
    *state = br_test_mkdtemp("braid-npy");
    return *state ? 0 : -1;
}

static int teardown_dir(void **state) {
    br_test_rmtree(*state);
    return 0;
}

static void write_bytes(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* A v1.0 file with header dict `dict` (padded to 64 as numpy does) and
 * data_len bytes of data (counting up from 0). */
static void write_npy_v1(const char *path, const char *dict, size_t data_len) {
    unsigned char buf[1024 + 4096];
    size_t d = strlen(dict);
    size_t hlen = d + 1;
    size_t pad = 64 - (10 + hlen) % 64;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)((hlen + pad) & 0xff);
    buf[9] = (unsigned char)((hlen + pad) >> 8);
    memcpy(buf + 10, dict, d);
    memset(buf + 10 + d, ' ', pad);
    buf[10 + d + pad] = '\n';
    size_t o = 10 + d + pad + 1;
    assert_true(o + data_len <= sizeof buf);
    for (size_t i = 0; i < data_len; i++) buf[o + i] = (unsigned char)i;
    write_bytes(path, buf, o + data_len);
}

static void expect_read_fail(const char *path, br_status want, const char *needle) {
    float *data = (float *)1;
    int ndim = -1;
    int64_t shape[8];
    br_error err = {0};
    br_status st = br_npy_read_f32(path, &data, &ndim, shape, &err);
    if (getenv("BRAID_TEST_VERBOSE")) print_message("[ msg  ] %s\n", err.message);
    if (st != want) fail_msg("%s: status %s, want %s: %s", path, br_status_str(st), br_status_str(want),
                             st == BR_OK ? "" : err.message);
    if (!strstr(err.message, needle)) fail_msg("message lacks \"%s\": %s", needle, err.message);
    if (!strstr(err.message, path)) fail_msg("message lacks the path: %s", err.message);
    assert_null(data);
}

/* arange(6) * 0.5 - 1, as tools/make_npy_fixture.py writes it. */
static const float fixture_values[6] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f};

static void test_write_matches_numpy(void **state) {
    const char *dir = *state;
    char path[4096];
    snprintf(path, sizeof path, "%s", br_test_join(dir, "out.npy"));
    const int64_t shape[2] = {2, 3};
    br_error err = {0};
    assert_int_equal(br_npy_write_f32(path, fixture_values, 2, shape, &err), BR_OK);
    char *ours = NULL, *theirs = NULL;
    size_t n_ours = 0, n_theirs = 0;
    assert_int_equal(br_read_file(path, &ours, &n_ours, &err), BR_OK);
    assert_int_equal(br_read_file(br_test_path("tests/data/npy/f32_2x3.npy"), &theirs, &n_theirs, &err), BR_OK);
    assert_int_equal(n_ours, n_theirs);
    assert_memory_equal(ours, theirs, n_ours);
    /* The header string itself, as numpy 2.x writes it. */
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    assert_memory_equal(ours + 10, dict, strlen(dict));
    assert_int_equal(n_ours, 128 + 24);
    assert_int_equal(ours[127], '\n');
    free(ours);
    free(theirs);
}

static void test_read_numpy_versions(void **state) {
    (void)state;
    float *data = NULL;
    int ndim = 0;
    int64_t shape[8];
    br_error err = {0};

    assert_int_equal(br_npy_read_f32(br_test_path("tests/data/npy/f32_2x3.npy"), &data, &ndim, shape, &err), BR_OK);
    assert_int_equal(ndim, 2);
    assert_true(shape[0] == 2 && shape[1] == 3);
    assert_memory_equal(data, fixture_values, sizeof fixture_values);
    free(data);

    assert_int_equal(br_npy_read_f32(br_test_path("tests/data/npy/f32_6_v2.npy"), &data, &ndim, shape, &err), BR_OK);
    assert_int_equal(ndim, 1);
    assert_int_equal(shape[0], 6);
    assert_memory_equal(data, fixture_values, sizeof fixture_values);
    free(data);

    assert_int_equal(br_npy_read_f32(br_test_path("tests/data/npy/f32_scalar_v3.npy"), &data, &ndim, shape, &err),
                     BR_OK);
    assert_int_equal(ndim, 0);
    assert_true(data[0] == -1.5f);
    free(data);
}

static void test_round_trip_shapes(void **state) {
    const char *dir = *state;
    uint64_t rng = br_test_seed("test_round_trip_shapes");
    static const struct {
        int ndim;
        int64_t shape[8];
    } cases[] = {
        {0, {0}},
        {1, {5}},
        {1, {0}},
        {2, {0, 3}},
        {2, {3, 0}},
        {2, {7, 1}},
        {3, {2, 3, 4}},
        {8, {1, 2, 1, 2, 1, 2, 1, 2}},
        {2, {123456789012345, 0}}, /* long first dim: less spare header space */
        {1, {1000}},
    };
    char path[4096];
    snprintf(path, sizeof path, "%s", br_test_join(dir, "rt.npy"));
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t numel = 1;
        for (int i = 0; i < cases[c].ndim; i++) numel *= (size_t)cases[c].shape[i];
        float *x = malloc((numel ? numel : 1) * sizeof *x);
        assert_non_null(x);
        br_test_fill_uniform(x, numel, -100.0f, 100.0f, &rng);
        br_error err = {0};
        assert_int_equal(br_npy_write_f32(path, x, cases[c].ndim, cases[c].shape, &err), BR_OK);

        char *bytes = NULL;
        size_t len = 0;
        assert_int_equal(br_read_file(path, &bytes, &len, &err), BR_OK);
        assert_int_equal((len - numel * 4) % 64, 0); /* data starts at a multiple of 64 */
        assert_int_equal(bytes[len - numel * 4 - 1], '\n');
        free(bytes);

        float *y = NULL;
        int ndim = -1;
        int64_t shape[8];
        assert_int_equal(br_npy_read_f32(path, &y, &ndim, shape, &err), BR_OK);
        assert_int_equal(ndim, cases[c].ndim);
        for (int i = 0; i < ndim; i++) assert_int_equal(shape[i], cases[c].shape[i]);
        if (numel) assert_memory_equal(x, y, numel * sizeof *x);
        free(y);
        free(x);
    }
}

static void test_read_accepts_variants(void **state) {
    const char *dir = *state;
    char path[4096];
    snprintf(path, sizeof path, "%s", br_test_join(dir, "v.npy"));
    float *data = NULL;
    int ndim = 0;
    int64_t shape[8];
    br_error err = {0};
    /* Other key order, double quotes, Python 2 long ints, no trailing comma. */
    write_npy_v1(path, "{\"shape\": (2L, 1L), \"fortran_order\": False, \"descr\": \"<f4\"}", 8);
    assert_int_equal(br_npy_read_f32(path, &data, &ndim, shape, &err), BR_OK);
    assert_true(ndim == 2 && shape[0] == 2 && shape[1] == 1);
    free(data);
    /* Fortran order of a 1-d array is the same layout. */
    write_npy_v1(path, "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", 12);
    assert_int_equal(br_npy_read_f32(path, &data, &ndim, shape, &err), BR_OK);
    assert_true(ndim == 1 && shape[0] == 3);
    free(data);
}

static void test_read_errors(void **state) {
    const char *dir = *state;
    char path[4096];
    snprintf(path, sizeof path, "%s", br_test_join(dir, "bad.npy"));

    expect_read_fail(br_test_join(dir, "absent.npy"), BR_ERR_IO, "cannot open");

    write_bytes(path, "hello world, not npy", 20);
    expect_read_fail(path, BR_ERR_PARSE, "not a .npy file");

    write_bytes(path, "\x93NUMPY\x01", 7);
    expect_read_fail(path, BR_ERR_PARSE, "not a .npy file");

    write_bytes(path, "\x93NUMPY\x04\x00\x10\x00{}", 12);
    expect_read_fail(path, BR_ERR_UNSUPPORTED, "version 4.0");

    write_bytes(path, "\x93NUMPY\x01\x00\xff\x00{}", 12);
    expect_read_fail(path, BR_ERR_IO, "header length 255");

    write_bytes(path, "\x93NUMPY\x02\x00\x10\x00", 10);
    expect_read_fail(path, BR_ERR_IO, "truncated");

    write_npy_v1(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16);
    expect_read_fail(path, BR_ERR_UNSUPPORTED, "'<f8'");

    write_npy_v1(path, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8);
    expect_read_fail(path, BR_ERR_UNSUPPORTED, "'>f4'");

    write_npy_v1(path, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16);
    expect_read_fail(path, BR_ERR_UNSUPPORTED, "Fortran");

    write_npy_v1(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", 4);
    expect_read_fail(path, BR_ERR_UNSUPPORTED, "more than 8 dims");

    write_npy_v1(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20);
    expect_read_fail(path, BR_ERR_IO, "20 data bytes, but 6 float32 elements need 24");

    write_npy_v1(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28);
    expect_read_fail(path, BR_ERR_PARSE, "28 data bytes");

    write_npy_v1(path, "{'descr': '<f4', 'fortran_order': False, }", 4);
    expect_read_fail(path, BR_ERR_PARSE, "lacks");

    write_npy_v1(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}", 24);
    expect_read_fail(path, BR_ERR_PARSE, "unexpected key 'extra'");

    const char *const malformed[] = {
        "",
        "[]",
        "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} trailing",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        write_npy_v1(path, malformed[i], 4);
        expect_read_fail(path, BR_ERR_PARSE, "header");
    }

    /* Element count whose byte size overflows. */
    write_npy_v1(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }", 4);
    expect_read_fail(path, BR_ERR_RANGE, "too many elements");
}

static void test_write_errors(void **state) {
    const char *dir = *state;
    const int64_t neg[2] = {2, -1};
    const int64_t ok[2] = {2, 2};
    const int64_t big[2] = {INT64_MAX, 8};
    float x[4] = {0};
    br_error err = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s", br_test_join(dir, "w.npy"));
    assert_int_equal(br_npy_write_f32(path, x, 9, ok, &err), BR_ERR_INVALID_ARG);
    assert_int_equal(br_npy_write_f32(path, x, -1, ok, &err), BR_ERR_INVALID_ARG);
    assert_int_equal(br_npy_write_f32(path, x, 2, NULL, &err), BR_ERR_INVALID_ARG);
    assert_int_equal(br_npy_write_f32(path, x, 2, neg, &err), BR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "shape[1] is negative"));
    assert_int_equal(br_npy_write_f32(path, NULL, 2, ok, &err), BR_ERR_INVALID_ARG);
    assert_int_equal(br_npy_write_f32(path, x, 2, big, &err), BR_ERR_RANGE);
    assert_int_equal(br_npy_write_f32(NULL, x, 2, ok, &err), BR_ERR_INVALID_ARG);
    assert_int_equal(br_npy_write_f32(br_test_join(dir, "no/such/dir.npy"), x, 2, ok, &err), BR_ERR_IO);
    assert_non_null(strstr(err.message, "no/such/dir.npy"));
    assert_false(br_file_exists(path));
    /* An empty array needs no data. */
    const int64_t empty[1] = {0};
    assert_int_equal(br_npy_write_f32(path, NULL, 1, empty, &err), BR_OK);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown_dir)
    const struct CMUnitTest tests[] = {
        T(test_write_matches_numpy), cmocka_unit_test(test_read_numpy_versions),
        T(test_round_trip_shapes),   T(test_read_accepts_variants),
        T(test_read_errors),         T(test_write_errors),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
