/*
 * test_safetensors.c - the safetensors reader: round trips of F32/BF16/F16
 * (scalars, empty tensors, unaligned data), metadata, every format dtype,
 * sharded checkpoints, every kind of bad file and bad index (status and a
 * message naming the file and tensor), the real published index files of
 * mamba-2.8b-hf and Mistral-7B-v0.1, truncation and byte-flip robustness, and
 * a fixture written by the Python safetensors library.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/dtype.h"
#include "base/error.h"
#include "base/file.h"
#include "base/json.h"
#include "checkpoint/safetensors.h"
#include "st_writer.h"
#include "test_util.h"
#include "tmpdir.h"

/* ---- helpers ---- */

static int setup_dir(void **state) {
    *state = br_test_mkdtemp("braid-st");
    return *state ? 0 : -1;
}

static int teardown_dir(void **state) {
    br_test_rmtree(*state);
    return 0;
}

/* Asserts that `got` is `want` and that the message holds every needle
 * (a NULL-terminated list); `what` names the case in failure output.
 * BRAID_TEST_VERBOSE=1 prints every message, to review their wording. */
static void check_error_list(const char *what, br_status got, const br_error *err, br_status want,
                             const char *const *needles) {
    if (getenv("BRAID_TEST_VERBOSE")) print_message("[ msg  ] %s: %s\n", what, err->message);
    if (got != want)
        fail_msg("%s: status %d (%s), want %d (%s); message: %s", what, got, br_status_str(got), want,
                 br_status_str(want), got == BR_OK ? "(none)" : err->message);
    for (size_t i = 0; needles[i]; i++)
        if (!strstr(err->message, needles[i]))
            fail_msg("%s: message lacks \"%s\": %s", what, needles[i], err->message);
}
#define CHECK_ERROR(what, got, err, want, ...) \
    check_error_list((what), (got), (err), (want), (const char *const[]){__VA_ARGS__, NULL})

/* Opens path, expecting failure; *out must stay NULL. */
#define EXPECT_OPEN_FAIL(open_fn, path, want, ...)                     \
    do {                                                               \
        br_st_archive *a_ = (br_st_archive *)1;                        \
        br_error e_ = {0};                                             \
        br_status s_ = open_fn((path), &a_, &e_);                      \
        CHECK_ERROR((path), s_, &e_, (want), __VA_ARGS__);             \
        assert_null(a_);                                               \
    } while (0)

static br_st_archive *open_ok(const char *path) {
    br_st_archive *a = NULL;
    br_error err = {0};
    br_status st = br_st_open_file(path, &a, &err);
    if (st != BR_OK) fail_msg("open %s: %s", path, err.message);
    return a;
}

static br_st_archive *open_dir_ok(const char *dir) {
    br_st_archive *a = NULL;
    br_error err = {0};
    br_status st = br_st_open_dir(dir, &a, &err);
    if (st != BR_OK) fail_msg("open dir %s: %s", dir, err.message);
    return a;
}

static void write_bytes(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static int ends_with(const char *s, const char *tail) {
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

/* A tensor of `n` floats stored as `dtype` (F32/BF16/F16): the stored bytes
 * in raw, and the values braid must read back in want. */
typedef struct test_tensor {
    float want[64];
    unsigned char raw[256];
    size_t nbytes;
} test_tensor;

static void make_tensor(test_tensor *t, br_dtype dtype, size_t n, uint64_t *rng) {
    float src[64];
    br_test_fill_uniform(src, n, -4.0f, 4.0f, rng);
    br_from_f32(t->raw, src, dtype, n);
    br_to_f32(t->want, t->raw, dtype, n);
    t->nbytes = n * br_dtype_size(dtype);
}

static void assert_reads(const br_st_tensor *t, const float *want, size_t n) {
    float got[64];
    br_error err = {0};
    assert_int_equal(br_st_numel(t), n);
    assert_int_equal(br_st_read_f32(t, got, &err), BR_OK);
    assert_memory_equal(got, want, n * sizeof(float));
}

/* ---- valid files ---- */

static void test_round_trip(void **state) {
    const char *dir = *state;
    uint64_t rng = br_test_seed("test_round_trip");
    test_tensor f32, bf16, f16, scalar;
    make_tensor(&f32, BR_F32, 6, &rng);
    make_tensor(&bf16, BR_BF16, 4, &rng);
    make_tensor(&f16, BR_F16, 8, &rng);
    make_tensor(&scalar, BR_F32, 1, &rng);
    const br_test_st_entry e[] = {
        {"model.w", "F32", 2, {2, 3}, f32.raw, f32.nbytes},
        {"model.b", "BF16", 1, {4}, bf16.raw, bf16.nbytes},
        {"cube", "F16", 3, {2, 2, 2}, f16.raw, f16.nbytes},
        {"scalar", "F32", 0, {0}, scalar.raw, scalar.nbytes},
        {"empty", "BF16", 2, {0, 3}, NULL, 0},
    };
    char path[4096];
    snprintf(path, sizeof path, "%s", br_test_join(dir, "rt.safetensors"));
    assert_int_equal(br_test_st_write(path, e, 5, NULL, 8), 0);

    br_st_archive *a = open_ok(path);
    assert_int_equal(br_st_count(a), 5);
    const char *sorted[] = {"cube", "empty", "model.b", "model.w", "scalar"};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(br_st_at(a, i)->name, sorted[i]);
        assert_string_equal(br_st_at(a, i)->file, path);
        assert_ptr_equal(br_st_find(a, sorted[i]), br_st_at(a, i));
    }
    assert_null(br_st_at(a, 5));
    assert_null(br_st_find(a, "model"));
    assert_null(br_st_find(a, "zzz"));

    const br_st_tensor *t = br_st_find(a, "model.w");
    assert_int_equal(t->dtype, BR_ST_F32);
    assert_int_equal(t->ndim, 2);
    assert_true(t->shape[0] == 2 && t->shape[1] == 3);
    assert_int_equal(t->nbytes, 24);
    assert_reads(t, f32.want, 6);

    t = br_st_find(a, "model.b");
    assert_int_equal(t->dtype, BR_ST_BF16);
    assert_reads(t, bf16.want, 4);

    t = br_st_find(a, "cube");
    assert_int_equal(t->dtype, BR_ST_F16);
    assert_int_equal(t->ndim, 3);
    assert_reads(t, f16.want, 8);

    t = br_st_find(a, "scalar");
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->nbytes, 4);
    assert_reads(t, scalar.want, 1);

    t = br_st_find(a, "empty");
    assert_int_equal(t->nbytes, 0);
    assert_int_equal(br_st_numel(t), 0);
    br_error err = {0};
    assert_int_equal(br_st_read_f32(t, NULL, &err), BR_OK);

    br_dtype d;
    assert_true(br_st_to_br_dtype(BR_ST_BF16, &d) && d == BR_BF16);
    assert_null(br_st_metadata(a, "format"));
    br_st_close(a);
}

static void test_metadata(void **state) {
    const char *dir = *state;
    float v = 1.5f;
    const br_test_st_entry e[] = {{"w", "F32", 1, {1}, &v, 4}};
    const char *path = br_test_join(dir, "meta.safetensors");
    assert_int_equal(br_test_st_write(path, e, 1, "{\"format\":\"pt\",\"note\":\"h\\u00e9llo\"}", 8), 0);
    br_st_archive *a = open_ok(path);
    assert_int_equal(br_st_count(a), 1); /* __metadata__ is not a tensor */
    assert_string_equal(br_st_metadata(a, "format"), "pt");
    assert_string_equal(br_st_metadata(a, "note"), "h\xc3\xa9llo");
    assert_null(br_st_metadata(a, "absent"));
    assert_null(br_st_find(a, "__metadata__"));
    br_st_close(a);

    /* null metadata is accepted, as serde's Option does */
    assert_int_equal(br_test_st_write_header(path, "{\"__metadata__\":null}", 0), 0);
    a = open_ok(path);
    assert_int_equal(br_st_count(a), 0);
    br_st_close(a);
}

/* Header padding (spaces, as the Python library writes) and an odd header
 * length, which leaves every tensor unaligned. */
static void test_padding_and_unaligned_data(void **state) {
    const char *dir = *state;
    uint64_t rng = br_test_seed("test_padding_and_unaligned_data");
    test_tensor f32, f16;
    make_tensor(&f32, BR_F32, 5, &rng);
    make_tensor(&f16, BR_F16, 3, &rng);
    const br_test_st_entry e[] = {
        {"a", "F16", 1, {3}, f16.raw, f16.nbytes},
        {"b", "F32", 1, {5}, f32.raw, f32.nbytes},
    };
    const size_t aligns[] = {1, 8, 64, 4096};
    for (size_t k = 0; k < 4; k++) {
        const char *path = br_test_join(dir, "pad.safetensors");
        assert_int_equal(br_test_st_write(path, e, 2, NULL, aligns[k]), 0);
        br_st_archive *a = open_ok(path);
        assert_reads(br_st_find(a, "a"), f16.want, 3);
        assert_reads(br_st_find(a, "b"), f32.want, 5); /* at odd offset 6 + N */
        br_st_close(a);
    }
    /* Whitespace and CRLF inside the JSON are fine too. */
    const char *text = "\r\n {\r\n \"w\" : { \"dtype\":\"F32\", \"shape\":[ 1 ], \"data_offsets\":[0, 4] } }  \r\n ";
    const char *path = br_test_join(dir, "ws.safetensors");
    assert_int_equal(br_test_st_write_header(path, text, 4), 0);
    br_st_archive *a = open_ok(path);
    assert_int_equal(br_st_count(a), 1);
    br_st_close(a);
}

static void test_every_dtype(void **state) {
    const char *dir = *state;
    for (int d = 0; d < BR_ST_DTYPE_COUNT; d++) {
        const char *name = br_st_dtype_name((br_st_dtype)d);
        assert_int_equal(br_st_dtype_parse(name), d);
        int bits = br_st_dtype_bits((br_st_dtype)d);
        assert_true(bits > 0);
        /* 8 elements are a whole number of bytes for every width (4 and 6 bits too). */
        size_t nbytes = (size_t)(8 * bits / 8);
        const br_test_st_entry e[] = {{"t", name, 2, {2, 4}, NULL, nbytes}};
        const char *path = br_test_join(dir, "dt.safetensors");
        assert_int_equal(br_test_st_write(path, e, 1, NULL, 8), 0);
        br_st_archive *a = open_ok(path);
        const br_st_tensor *t = br_st_find(a, "t");
        assert_int_equal(t->dtype, d);
        assert_int_equal(t->nbytes, nbytes);
        br_dtype bd;
        int compute = d == BR_ST_F32 || d == BR_ST_BF16 || d == BR_ST_F16;
        assert_int_equal(br_st_to_br_dtype((br_st_dtype)d, &bd), compute);
        float out[8];
        br_error err = {0};
        if (compute) {
            assert_int_equal(br_st_read_f32(t, out, &err), BR_OK);
        } else {
            CHECK_ERROR(name, br_st_read_f32(t, out, &err), &err, BR_ERR_UNSUPPORTED, "'t'", name,
                        "dt.safetensors");
        }
        br_st_close(a);
    }
    assert_string_equal(br_st_dtype_name(BR_ST_DTYPE_COUNT), "?");
    assert_int_equal(br_st_dtype_parse("f32"), -1); /* names are case-sensitive */
    assert_int_equal(br_st_dtype_bits(BR_ST_F4), 4);
    assert_int_equal(br_st_dtype_bits(BR_ST_F6_E3M2), 6);
}

static void test_empty_header_and_zero_size_tensors(void **state) {
    const char *dir = *state;
    const char *path = br_test_join(dir, "z.safetensors");
    assert_int_equal(br_test_st_write_header(path, "{}", 0), 0);
    br_st_archive *a = open_ok(path);
    assert_int_equal(br_st_count(a), 0);
    assert_null(br_st_at(a, 0));
    br_st_close(a);
    /* An empty tensor at an offset inside another shares no byte with it. */
    assert_int_equal(br_test_st_write_header(path,
                                             "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                                             "\"e\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[8,8]}}",
                                             16),
                     0);
    a = open_ok(path);
    assert_int_equal(br_st_count(a), 2);
    br_st_close(a);
}

/* ---- bad files ---- */

typedef struct bad_header {
    const char *what;
    const char *header;
    size_t data_len;
    br_status want;
    const char *needle1, *needle2, *needle3;
} bad_header;

#define ENTRY(name, dtype, shape, offs) \
    "\"" name "\":{\"dtype\":" dtype ",\"shape\":" shape ",\"data_offsets\":" offs "}"

static const bad_header bad_headers[] = {
    {"truncated JSON", "{\"w\":", 0, BR_ERR_PARSE, "not valid JSON", "line 1", NULL},
    {"garbage", "hello", 0, BR_ERR_PARSE, "not valid JSON", NULL, NULL},
    {"empty header", "", 0, BR_ERR_PARSE, "not valid JSON", NULL, NULL},
    {"header array", "[1,2]", 0, BR_ERR_PARSE, "expected a JSON object", "an array", NULL},
    {"header string", "\"x\"", 0, BR_ERR_PARSE, "expected a JSON object", NULL, NULL},
    {"NaN literal", "{\"w\":NaN}", 0, BR_ERR_PARSE, "not valid JSON", NULL, NULL},
    {"invalid UTF-8", "{\"w\xff\":{}}", 0, BR_ERR_PARSE, "not valid JSON", NULL, NULL},
    {"duplicate name", "{" ENTRY("w", "\"F32\"", "[1]", "[0,4]") "," ENTRY("w", "\"F32\"", "[1]", "[4,8]") "}", 8,
     BR_ERR_PARSE, "duplicate", NULL, NULL},
    {"entry not object", "{\"w\":3}", 0, BR_ERR_PARSE, "'w'", "an integer", "expected an object"},
    {"missing dtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, BR_ERR_PARSE, "'w'",
     "missing \"dtype\"", NULL},
    {"missing shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, BR_ERR_PARSE, "'w'",
     "missing \"shape\"", NULL},
    {"missing offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, BR_ERR_PARSE, "'w'",
     "missing \"data_offsets\"", NULL},
    {"dtype number", "{" ENTRY("w", "7", "[1]", "[0,4]") "}", 4, BR_ERR_PARSE, "'w'",
     "\"dtype\" is an integer", NULL},
    {"unknown dtype", "{" ENTRY("w", "\"F128\"", "[1]", "[0,4]") "}", 4, BR_ERR_PARSE, "'w'",
     "unknown dtype \"F128\"", NULL},
    {"lowercase dtype", "{" ENTRY("w", "\"f32\"", "[1]", "[0,4]") "}", 4, BR_ERR_PARSE, "'w'",
     "unknown dtype \"f32\"", NULL},
    {"shape string", "{" ENTRY("w", "\"F32\"", "\"1\"", "[0,4]") "}", 4, BR_ERR_PARSE, "'w'",
     "\"shape\" is a string", NULL},
    {"shape null", "{" ENTRY("w", "\"F32\"", "null", "[0,4]") "}", 4, BR_ERR_PARSE, "'w'",
     "\"shape\" is null", NULL},
    {"negative dim", "{" ENTRY("w", "\"F32\"", "[2,-1]", "[0,4]") "}", 4, BR_ERR_PARSE, "'w'",
     "shape[1] is negative", NULL},
    {"fractional dim", "{" ENTRY("w", "\"F32\"", "[1.5]", "[0,4]") "}", 4, BR_ERR_PARSE, "'w'",
     "shape[0] is a non-integer number", NULL},
    {"float dim", "{" ENTRY("w", "\"F32\"", "[1.0]", "[0,4]") "}", 4, BR_ERR_PARSE, "'w'",
     "shape[0] is a non-integer", NULL},
    {"string dim", "{" ENTRY("w", "\"F32\"", "[\"2\"]", "[0,8]") "}", 8, BR_ERR_PARSE, "'w'",
     "shape[0] is a string", NULL},
    {"bool dim", "{" ENTRY("w", "\"F32\"", "[true]", "[0,4]") "}", 4, BR_ERR_PARSE, "'w'",
     "shape[0] is a boolean", NULL},
    {"huge dim", "{" ENTRY("w", "\"F32\"", "[99999999999999999999]", "[0,4]") "}", 4, BR_ERR_PARSE,
     "not valid JSON", NULL, NULL},
    {"nine dims", "{" ENTRY("w", "\"F32\"", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4, BR_ERR_UNSUPPORTED,
     "'w'", "9 dims", NULL},
    {"offsets one", "{" ENTRY("w", "\"F32\"", "[1]", "[4]") "}", 4, BR_ERR_PARSE, "'w'", "data_offsets",
     NULL},
    {"offsets three", "{" ENTRY("w", "\"F32\"", "[1]", "[0,4,8]") "}", 8, BR_ERR_PARSE, "'w'",
     "data_offsets", NULL},
    {"offsets object", "{" ENTRY("w", "\"F32\"", "[1]", "{}") "}", 4, BR_ERR_PARSE, "'w'", "data_offsets",
     NULL},
    {"offset real", "{" ENTRY("w", "\"F32\"", "[1]", "[0,4.0]") "}", 4, BR_ERR_PARSE, "'w'",
     "data_offsets", NULL},
    {"offset negative", "{" ENTRY("w", "\"F32\"", "[1]", "[-4,0]") "}", 4, BR_ERR_PARSE, "'w'",
     "non-negative", NULL},
    {"begin > end", "{" ENTRY("w", "\"F32\"", "[1]", "[8,4]") "}", 8, BR_ERR_PARSE, "'w'",
     "begin 8 > end 4", NULL},
    {"end beyond data", "{" ENTRY("w", "\"F32\"", "[4]", "[0,16]") "}", 8, BR_ERR_IO, "'w'",
     "beyond the data section (8 bytes)", NULL},
    {"end far beyond", "{" ENTRY("w", "\"U8\"", "[4]", "[1000000000000,1000000000004]") "}", 8, BR_ERR_IO,
     "'w'", "beyond", NULL},
    {"size mismatch", "{" ENTRY("w", "\"F32\"", "[2,3]", "[0,20]") "}", 24, BR_ERR_PARSE, "'w'",
     "shape [2, 3] of F32 needs 24 bytes", "hold 20"},
    {"size mismatch bf16", "{" ENTRY("w", "\"BF16\"", "[2,3]", "[0,24]") "}", 24, BR_ERR_PARSE, "'w'",
     "needs 12 bytes", "hold 24"},
    {"size mismatch scalar", "{" ENTRY("w", "\"F64\"", "[]", "[0,4]") "}", 8, BR_ERR_PARSE, "'w'",
     "shape [] of F64 needs 8 bytes", NULL},
    {"numel overflow", "{" ENTRY("w", "\"F32\"", "[4294967296,4294967296,16]", "[0,4]") "}", 4,
     BR_ERR_PARSE, "'w'", "too many elements", NULL},
    {"bits overflow", "{" ENTRY("w", "\"F64\"", "[4294967296,1073741824]", "[0,4]") "}", 4, BR_ERR_PARSE,
     "'w'", "too many elements", NULL},
    {"F4 odd count", "{" ENTRY("w", "\"F4\"", "[3]", "[0,1]") "}", 1, BR_ERR_PARSE, "'w'",
     "not a whole number of bytes", NULL},
    {"overlap", "{" ENTRY("a", "\"F32\"", "[4]", "[0,16]") "," ENTRY("b", "\"F32\"", "[4]", "[8,24]") "}", 24,
     BR_ERR_PARSE, "'a' [0, 16)", "'b' [8, 24)", "overlap"},
    {"overlap nested", "{" ENTRY("b", "\"F32\"", "[2]", "[8,16]") "," ENTRY("a", "\"F32\"", "[8]", "[0,32]") "}",
     32, BR_ERR_PARSE, "'a'", "'b'", "overlap"},
    {"overlap same range", "{" ENTRY("a", "\"I32\"", "[1]", "[0,4]") "," ENTRY("b", "\"F32\"", "[1]", "[0,4]") "}",
     4, BR_ERR_PARSE, "'a'", "'b'", "overlap"},
    {"overlap after gap", "{" ENTRY("a", "\"F32\"", "[1]", "[0,4]") "," ENTRY("b", "\"F32\"", "[4]", "[8,24]")
     "," ENTRY("c", "\"F32\"", "[2]", "[20,28]") "}", 28, BR_ERR_PARSE, "'b'", "'c'", "overlap"},
    {"metadata array", "{\"__metadata__\":[1]}", 0, BR_ERR_PARSE, "__metadata__", "an array", NULL},
    {"metadata int value", "{\"__metadata__\":{\"format\":\"pt\",\"step\":3}}", 0, BR_ERR_PARSE,
     "__metadata__", "'step'", "an integer"},
    {"second entry bad", "{" ENTRY("ok", "\"F32\"", "[1]", "[0,4]") "," ENTRY("bad", "\"F32\"", "[1]", "[4,6]") "}",
     8, BR_ERR_PARSE, "'bad'", "needs 4 bytes", NULL},
};

static void test_bad_headers(void **state) {
    const char *dir = *state;
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        const bad_header *b = &bad_headers[i];
        char path[4096];
        snprintf(path, sizeof path, "%s", br_test_join(dir, "bad.safetensors"));
        assert_int_equal(br_test_st_write_header(path, b->header, b->data_len), 0);
        br_st_archive *a = (br_st_archive *)1;
        br_error err = {0};
        br_status st = br_st_open_file(path, &a, &err);
        const char *needles[] = {path, b->needle1 ? b->needle1 : path, b->needle2 ? b->needle2 : path,
                                 b->needle3 ? b->needle3 : path, NULL};
        check_error_list(b->what, st, &err, b->want, needles);
        assert_null(a);
    }
}

static void test_bad_lengths(void **state) {
    const char *dir = *state;
    char path[4096];
    snprintf(path, sizeof path, "%s", br_test_join(dir, "short.safetensors"));

    assert_int_equal(br_test_st_write_raw(path, 0, "", 0, NULL, 0), 0); /* 8 bytes: N = 0 */
    EXPECT_OPEN_FAIL(br_st_open_file, path, BR_ERR_PARSE, "short.safetensors", "not valid JSON");

    /* Padding must be spaces: NULs after the JSON are rejected (as serde_json does). */
    assert_int_equal(br_test_st_write_raw(path, 4, "{}\0\0", 4, NULL, 0), 0);
    EXPECT_OPEN_FAIL(br_st_open_file, path, BR_ERR_PARSE, "short.safetensors", "not valid JSON");

    assert_int_equal(br_test_write_text(path, ""), 0);
    EXPECT_OPEN_FAIL(br_st_open_file, path, BR_ERR_IO, "short.safetensors", "0 bytes", "too short");

    write_bytes(path, "\x10\x00\x00\x00\x00", 5);
    EXPECT_OPEN_FAIL(br_st_open_file, path, BR_ERR_IO, "short.safetensors", "5 bytes", "too short");

    assert_int_equal(br_test_st_write_raw(path, 1000, "{}        ", 10, NULL, 0), 0);
    EXPECT_OPEN_FAIL(br_st_open_file, path, BR_ERR_IO, "short.safetensors", "header length 1000",
                     "18-byte file");

    assert_int_equal(br_test_st_write_raw(path, 100000001, "{}", 2, NULL, 0), 0);
    EXPECT_OPEN_FAIL(br_st_open_file, path, BR_ERR_PARSE, "short.safetensors", "header length 100000001",
                     "100000000-byte limit");

    assert_int_equal(br_test_st_write_raw(path, UINT64_MAX, "{}", 2, NULL, 0), 0);
    EXPECT_OPEN_FAIL(br_st_open_file, path, BR_ERR_PARSE, "short.safetensors", "limit");

    EXPECT_OPEN_FAIL(br_st_open_file, br_test_join(dir, "absent.safetensors"), BR_ERR_IO,
                     "absent.safetensors", "cannot open");
    EXPECT_OPEN_FAIL(br_st_open_file, dir, BR_ERR_IO, "not a regular file");
}

/* Every truncation of a valid file fails cleanly; so does flipping header
 * bytes (either an error or a valid archive whose float tensors read). */
static void test_truncation_and_byte_flips(void **state) {
    const char *dir = *state;
    char *bytes = NULL;
    size_t len = 0;
    br_error err = {0};
    assert_int_equal(br_read_file(br_test_path("tests/data/safetensors/tiny.safetensors"), &bytes, &len, &err),
                     BR_OK);
    char path[4096];
    snprintf(path, sizeof path, "%s", br_test_join(dir, "cut.safetensors"));
    for (size_t n = 0; n < len; n++) {
        write_bytes(path, bytes, n);
        br_st_archive *a = NULL;
        br_status st = br_st_open_file(path, &a, &err);
        if (st == BR_OK) fail_msg("truncated to %zu of %zu bytes, yet opened", n, len);
        assert_true(st == BR_ERR_IO || st == BR_ERR_PARSE);
        assert_non_null(strstr(err.message, "cut.safetensors"));
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | (unsigned char)bytes[i];
    const unsigned char flips[] = {0x00, 0x01, 0x22, 0x2c, 0x30, 0x39, 0x5b, 0x5d, 0x7b, 0x7d, 0x80, 0xff};
    float out[64];
    for (size_t pos = 0; pos < 8 + hlen; pos++)
        for (size_t k = 0; k < sizeof flips; k++) {
            char saved = bytes[pos];
            bytes[pos] = (char)flips[k];
            write_bytes(path, bytes, len);
            bytes[pos] = saved;
            br_st_archive *a = NULL;
            if (br_st_open_file(path, &a, &err) != BR_OK) continue;
            for (size_t i = 0; i < br_st_count(a); i++) {
                const br_st_tensor *t = br_st_at(a, i);
                br_dtype bd;
                assert_true(t->nbytes <= len);
                if (br_st_to_br_dtype(t->dtype, &bd) && br_st_numel(t) <= 64)
                    assert_int_equal(br_st_read_f32(t, out, &err), BR_OK);
            }
            br_st_close(a);
        }
    free(bytes);
}

static void test_null_arguments(void **state) {
    (void)state;
    br_st_close(NULL);
    assert_int_equal(br_st_count(NULL), 0);
    assert_null(br_st_at(NULL, 0));
    assert_null(br_st_find(NULL, "x"));
    assert_null(br_st_metadata(NULL, "x"));
    br_st_archive *a = NULL;
    br_error err = {0};
    assert_int_equal(br_st_open_file(NULL, &a, &err), BR_ERR_INVALID_ARG);
    assert_int_equal(br_st_open_dir(NULL, &a, &err), BR_ERR_INVALID_ARG);
    assert_int_equal(br_st_open_index("x", NULL, &err), BR_ERR_INVALID_ARG);
    assert_int_equal(br_st_read_f32(NULL, NULL, &err), BR_ERR_INVALID_ARG);
    /* err may be NULL */
    assert_int_equal(br_st_open_file("/nonexistent/x.safetensors", &a, NULL), BR_ERR_IO);
}

/* ---- directories and sharded checkpoints ---- */

static void write_two_shards(const char *dir, const test_tensor *x, const test_tensor *y,
                             const test_tensor *z) {
    char path[4096];
    const br_test_st_entry s1[] = {
        {"layers.0.w", "F32", 2, {2, 2}, x->raw, x->nbytes},
        {"layers.0.b", "BF16", 1, {4}, y->raw, y->nbytes},
    };
    const br_test_st_entry s2[] = {
        {"layers.1.w", "F16", 1, {4}, z->raw, z->nbytes},
        {"unlisted", "F32", 1, {1}, NULL, 4},
    };
    snprintf(path, sizeof path, "%s", br_test_join(dir, "model-00001-of-00002.safetensors"));
    assert_int_equal(br_test_st_write(path, s1, 2, "{\"format\":\"pt\"}", 8), 0);
    snprintf(path, sizeof path, "%s", br_test_join(dir, "model-00002-of-00002.safetensors"));
    assert_int_equal(br_test_st_write(path, s2, 2, NULL, 8), 0);
}

static const char *two_shard_index =
    "{\r\n  \"metadata\": {\"total_size\": 32},\r\n  \"weight_map\": {\r\n"
    "    \"layers.1.w\": \"model-00002-of-00002.safetensors\",\r\n"
    "    \"layers.0.w\": \"model-00001-of-00002.safetensors\",\r\n"
    "    \"layers.0.b\": \"model-00001-of-00002.safetensors\"\r\n  }\r\n}\r\n";

static void test_sharded_dir(void **state) {
    const char *dir = *state;
    uint64_t rng = br_test_seed("test_sharded_dir");
    test_tensor x, y, z;
    make_tensor(&x, BR_F32, 4, &rng);
    make_tensor(&y, BR_BF16, 4, &rng);
    make_tensor(&z, BR_F16, 4, &rng);
    write_two_shards(dir, &x, &y, &z);
    assert_int_equal(br_test_write_text(br_test_join(dir, "model.safetensors.index.json"), two_shard_index), 0);

    br_st_archive *a = open_dir_ok(dir);
    assert_int_equal(br_st_count(a), 3);
    assert_string_equal(br_st_at(a, 0)->name, "layers.0.b");
    assert_string_equal(br_st_at(a, 1)->name, "layers.0.w");
    assert_string_equal(br_st_at(a, 2)->name, "layers.1.w");
    assert_reads(br_st_find(a, "layers.0.w"), x.want, 4);
    assert_reads(br_st_find(a, "layers.0.b"), y.want, 4);
    assert_reads(br_st_find(a, "layers.1.w"), z.want, 4);
    assert_true(ends_with(br_st_find(a, "layers.0.w")->file, "/model-00001-of-00002.safetensors"));
    assert_true(ends_with(br_st_find(a, "layers.1.w")->file, "/model-00002-of-00002.safetensors"));
    /* One mapping per shard: tensors of a shard share its path string. */
    assert_ptr_equal(br_st_find(a, "layers.0.w")->file, br_st_find(a, "layers.0.b")->file);
    /* The index is authoritative: a shard tensor it does not list is not found. */
    assert_null(br_st_find(a, "unlisted"));
    assert_string_equal(br_st_metadata(a, "format"), "pt");
    br_st_close(a);

    /* The same through br_st_open_index. */
    br_error err = {0};
    assert_int_equal(br_st_open_index(br_test_join(dir, "model.safetensors.index.json"), &a, &err), BR_OK);
    assert_int_equal(br_st_count(a), 3);
    br_st_close(a);

    /* model.safetensors, when present, wins over the index (as in transformers). */
    const br_test_st_entry one[] = {{"single", "F32", 1, {4}, x.raw, x.nbytes}};
    assert_int_equal(br_test_st_write(br_test_join(dir, "model.safetensors"), one, 1, NULL, 8), 0);
    a = open_dir_ok(dir);
    assert_int_equal(br_st_count(a), 1);
    assert_reads(br_st_find(a, "single"), x.want, 4);
    br_st_close(a);
}

static void test_dir_without_checkpoint(void **state) {
    const char *dir = *state;
    EXPECT_OPEN_FAIL(br_st_open_dir, dir, BR_ERR_IO, "no safetensors checkpoint",
                     "/model.safetensors and", "/model.safetensors.index.json");
    EXPECT_OPEN_FAIL(br_st_open_dir, br_test_join(dir, "nope"), BR_ERR_IO, "nope/model.safetensors",
                     "nope/model.safetensors.index.json");
}

static void test_empty_weight_map(void **state) {
    const char *dir = *state;
    assert_int_equal(br_test_write_text(br_test_join(dir, "model.safetensors.index.json"),
                                        "{\"weight_map\": {}}"),
                     0);
    br_st_archive *a = open_dir_ok(dir);
    assert_int_equal(br_st_count(a), 0);
    br_st_close(a);
}

typedef struct bad_index {
    const char *what;
    const char *index;
    br_status want;
    const char *needle1, *needle2, *needle3;
} bad_index;

#define S1 "model-00001-of-00002.safetensors"
#define S2 "model-00002-of-00002.safetensors"

static const bad_index bad_indexes[] = {
    {"index not JSON", "{\"weight_map\": {", BR_ERR_PARSE, "model.safetensors.index.json", "invalid JSON",
     NULL},
    {"index empty", "", BR_ERR_PARSE, "model.safetensors.index.json", NULL, NULL},
    {"index array", "[]", BR_ERR_PARSE, "model.safetensors.index.json", "weight_map", NULL},
    {"no weight_map", "{\"metadata\": {\"total_size\": 1}}", BR_ERR_PARSE, "model.safetensors.index.json",
     "no \"weight_map\"", NULL},
    {"weight_map array", "{\"weight_map\": [\"" S1 "\"]}", BR_ERR_PARSE, "weight_map", NULL, NULL},
    {"shard not string", "{\"weight_map\": {\"layers.0.w\": 1}}", BR_ERR_PARSE, "'layers.0.w'", "shard",
     NULL},
    {"shard empty", "{\"weight_map\": {\"layers.0.w\": \"\"}}", BR_ERR_PARSE, "'layers.0.w'", NULL, NULL},
    {"shard absolute", "{\"weight_map\": {\"layers.0.w\": \"/etc/passwd\"}}", BR_ERR_PARSE, "'layers.0.w'",
     "relative", NULL},
    {"shard escapes", "{\"weight_map\": {\"layers.0.w\": \"../x/" S1 "\"}}", BR_ERR_PARSE, "'layers.0.w'",
     NULL, NULL},
    {"shard missing", "{\"weight_map\": {\"layers.0.w\": \"" S1 "\", \"b.w\": \"gone.safetensors\", "
     "\"a.w\": \"gone.safetensors\"}}", BR_ERR_IO, "gone.safetensors does not exist", "'a.w'",
     "model.safetensors.index.json"},
    {"tensor absent from shard", "{\"weight_map\": {\"layers.0.w\": \"" S1 "\", \"layers.9.w\": \"" S1 "\"}}",
     BR_ERR_CHECKPOINT, "'layers.9.w'", S1, "does not hold it"},
    {"tensor in the other shard", "{\"weight_map\": {\"layers.1.w\": \"" S1 "\"}}", BR_ERR_CHECKPOINT,
     "'layers.1.w'", S1, NULL},
};

static void test_bad_indexes(void **state) {
    const char *dir = *state;
    uint64_t rng = 7;
    test_tensor x, y, z;
    make_tensor(&x, BR_F32, 4, &rng);
    make_tensor(&y, BR_BF16, 4, &rng);
    make_tensor(&z, BR_F16, 4, &rng);
    write_two_shards(dir, &x, &y, &z);
    char index[4096];
    snprintf(index, sizeof index, "%s", br_test_join(dir, "model.safetensors.index.json"));
    for (size_t i = 0; i < sizeof bad_indexes / sizeof bad_indexes[0]; i++) {
        const bad_index *b = &bad_indexes[i];
        assert_int_equal(br_test_write_text(index, b->index), 0);
        br_st_archive *a = (br_st_archive *)1;
        br_error err = {0};
        br_status st = br_st_open_dir(dir, &a, &err);
        const char *needles[] = {b->needle1 ? b->needle1 : "", b->needle2 ? b->needle2 : "",
                                 b->needle3 ? b->needle3 : "", NULL};
        check_error_list(b->what, st, &err, b->want, needles);
        assert_null(a);
    }
}

static void test_duplicate_across_shards(void **state) {
    const char *dir = *state;
    const br_test_st_entry s1[] = {{"a", "F32", 1, {1}, NULL, 4}, {"b", "F32", 1, {1}, NULL, 4}};
    const br_test_st_entry s2[] = {{"a", "F32", 1, {1}, NULL, 4}, {"c", "F32", 1, {1}, NULL, 4}};
    assert_int_equal(br_test_st_write(br_test_join(dir, S1), s1, 2, NULL, 8), 0);
    assert_int_equal(br_test_st_write(br_test_join(dir, S2), s2, 2, NULL, 8), 0);
    assert_int_equal(br_test_write_text(br_test_join(dir, "model.safetensors.index.json"),
                                        "{\"weight_map\": {\"a\": \"" S1 "\", \"b\": \"" S1 "\", \"c\": \"" S2 "\"}}"),
                     0);
    EXPECT_OPEN_FAIL(br_st_open_dir, dir, BR_ERR_CHECKPOINT, "model.safetensors.index.json: tensor 'a'",
                     "two shards", S1 " and ");
}

static void test_broken_shard(void **state) {
    const char *dir = *state;
    const br_test_st_entry s1[] = {{"a", "F32", 1, {1}, NULL, 4}};
    assert_int_equal(br_test_st_write(br_test_join(dir, S1), s1, 1, NULL, 8), 0);
    assert_int_equal(br_test_st_write_header(br_test_join(dir, S2),
                                             "{" ENTRY("c", "\"F32\"", "[2]", "[0,4]") "}", 4),
                     0);
    assert_int_equal(br_test_write_text(br_test_join(dir, "model.safetensors.index.json"),
                                        "{\"weight_map\": {\"a\": \"" S1 "\", \"c\": \"" S2 "\"}}"),
                     0);
    EXPECT_OPEN_FAIL(br_st_open_dir, dir, BR_ERR_PARSE, S2, "'c'", "needs 8 bytes");
}

/* ---- real published index files ---- */

static void test_real_index_missing_shards(void **state) {
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", br_test_path("tests/data/real/state-spaces__mamba-2.8b-hf"));
    EXPECT_OPEN_FAIL(br_st_open_dir, dir, BR_ERR_IO,
                     "model-00001-of-00003.safetensors does not exist",
                     "'backbone.embeddings.weight'", "state-spaces__mamba-2.8b-hf/model.safetensors.index.json");
    /* CRLF JSON; its first entry (lm_head.weight) is in shard 2, but shards are checked in order. */
    snprintf(dir, sizeof dir, "%s", br_test_path("tests/data/real/mistralai__Mistral-7B-v0.1"));
    EXPECT_OPEN_FAIL(br_st_open_dir, dir, BR_ERR_IO, "model-00001-of-00002.safetensors does not exist",
                     "'model.embed_tokens.weight'", "mistralai__Mistral-7B-v0.1/model.safetensors.index.json");
}

/* Copies a real index into dir and writes a stand-in shard for each of its
 * shard files (every tensor F32 [1] holding its position in sorted order);
 * the archive must then hold exactly the index's tensors. */
static void check_real_index_with_stand_in_shards(const char *dir, const char *real, size_t want_tensors,
                                                  size_t want_shards) {
    br_error err = {0};
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(br_read_file(br_test_path(real), &text, &len, &err), BR_OK);
    assert_int_equal(br_test_write_text(br_test_join(dir, "model.safetensors.index.json"), text), 0);
    json_t *root = NULL;
    assert_int_equal(br_json_load_text(text, len, real, &root, &err), BR_OK);
    free(text);
    json_t *map = json_object_get(root, "weight_map");
    size_t n = json_object_size(map);
    assert_int_equal(n, want_tensors);

    /* Shard names, distinct (a few shards only). */
    const char *shards[16];
    size_t n_shards = 0;
    const char *key;
    json_t *v;
    json_object_foreach(map, key, v) {
        size_t s = 0;
        while (s < n_shards && strcmp(shards[s], json_string_value(v)) != 0) s++;
        if (s == n_shards) shards[n_shards++] = json_string_value(v);
        assert_true(n_shards < 16);
    }
    assert_int_equal(n_shards, want_shards);
    br_test_st_entry *e = calloc(n, sizeof *e);
    float *vals = calloc(n, sizeof *vals);
    assert_true(e && vals);
    for (size_t s = 0; s < n_shards; s++) {
        size_t k = 0;
        json_object_foreach(map, key, v) {
            if (strcmp(json_string_value(v), shards[s]) != 0) continue;
            vals[k] = (float)k;
            e[k] = (br_test_st_entry){key, "F32", 1, {1}, &vals[k], 4};
            k++;
        }
        assert_int_equal(br_test_st_write(br_test_join(dir, shards[s]), e, k, NULL, 8), 0);
    }
    free(vals);
    free(e);

    clock_t t0 = clock();
    br_st_archive *a = open_dir_ok(dir);
    double ms = 1e3 * (double)(clock() - t0) / CLOCKS_PER_SEC;
    print_message("[ info ] %s: %zu tensors in %zu shards opened in %.1f ms\n", real, n, n_shards, ms);
    assert_int_equal(br_st_count(a), n);
    json_object_foreach(map, key, v) {
        const br_st_tensor *t = br_st_find(a, key);
        if (!t) fail_msg("%s: tensor %s not found", real, key);
        char tail[512];
        snprintf(tail, sizeof tail, "/%s", json_string_value(v));
        assert_true(ends_with(t->file, tail));
        assert_int_equal(t->dtype, BR_ST_F32);
    }
    for (size_t i = 1; i < n; i++) assert_true(strcmp(br_st_at(a, i - 1)->name, br_st_at(a, i)->name) < 0);
    br_st_close(a);
    json_decref(root);
}

static void test_real_mamba_index_with_stand_in_shards(void **state) {
    check_real_index_with_stand_in_shards(*state, "tests/data/real/state-spaces__mamba-2.8b-hf/model.safetensors.index.json",
                                          642, 3);
}

static void test_real_mistral_index_with_stand_in_shards(void **state) {
    check_real_index_with_stand_in_shards(*state, "tests/data/real/mistralai__Mistral-7B-v0.1/model.safetensors.index.json",
                                          291, 2);
}

/* 5000 tensors in one file: every name found by binary search. */
static void test_many_tensors(void **state) {
    const char *dir = *state;
    enum { N = 5000 };
    br_test_st_entry *e = calloc(N, sizeof *e);
    char (*names)[32] = calloc(N, sizeof *names);
    assert_true(e && names);
    for (size_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "blk.%zu.w", (i * 7919) % N);
        e[i] = (br_test_st_entry){names[i], "BF16", 2, {2, 3}, NULL, 12};
    }
    const char *path = br_test_join(dir, "many.safetensors");
    assert_int_equal(br_test_st_write(path, e, N, NULL, 8), 0);
    clock_t t0 = clock();
    br_st_archive *a = open_ok(path);
    double ms = 1e3 * (double)(clock() - t0) / CLOCKS_PER_SEC;
    print_message("[ info ] %d tensors opened in %.1f ms\n", N, ms);
    assert_int_equal(br_st_count(a), N);
    for (size_t i = 0; i < N; i++) {
        const br_st_tensor *t = br_st_find(a, names[i]);
        assert_non_null(t);
        assert_string_equal(t->name, names[i]);
    }
    br_st_close(a);
    free(names);
    free(e);
}

/* ---- the file written by the Python safetensors library ---- */

static void test_python_fixture(void **state) {
    (void)state;
    br_error err = {0};
    json_t *root = NULL;
    assert_int_equal(br_json_load_file(br_test_path("tests/data/safetensors/tiny.expected.json"), &root, &err),
                     BR_OK);
    br_st_archive *a = open_ok(br_test_path("tests/data/safetensors/tiny.safetensors"));
    json_t *meta = json_object_get(root, "metadata");
    const char *key;
    json_t *v;
    json_object_foreach(meta, key, v) assert_string_equal(br_st_metadata(a, key), json_string_value(v));

    json_t *tensors = json_object_get(root, "tensors");
    assert_int_equal(br_st_count(a), json_object_size(tensors));
    json_object_foreach(tensors, key, v) {
        const br_st_tensor *t = br_st_find(a, key);
        if (!t) fail_msg("fixture tensor %s not found", key);
        assert_string_equal(br_st_dtype_name(t->dtype), json_string_value(json_object_get(v, "dtype")));
        json_t *shape = json_object_get(v, "shape");
        assert_int_equal(t->ndim, json_array_size(shape));
        for (int i = 0; i < t->ndim; i++) assert_int_equal(t->shape[i], json_integer_value(json_array_get(shape, i)));
        json_t *values = json_object_get(v, "values");
        size_t n = json_array_size(values);
        assert_int_equal(br_st_numel(t), n);
        br_dtype bd;
        float got[64];
        assert_true(n <= 64);
        if (!br_st_to_br_dtype(t->dtype, &bd)) {
            CHECK_ERROR(key, br_st_read_f32(t, got, &err), &err, BR_ERR_UNSUPPORTED, key, "I32");
            continue;
        }
        assert_int_equal(br_st_read_f32(t, got, &err), BR_OK);
        for (size_t i = 0; i < n; i++) {
            double want;
            assert_true(br_json_number(json_array_get(values, i), &want));
            float w = (float)want;
            if (isnan(w) ? !isnan(got[i]) : memcmp(&w, &got[i], 4) != 0)
                fail_msg("%s[%zu]: got %.9g, torch says %.9g", key, i, got[i], w);
        }
    }
    br_st_close(a);
    json_decref(root);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown_dir)
    const struct CMUnitTest tests[] = {
        T(test_round_trip),
        T(test_metadata),
        T(test_padding_and_unaligned_data),
        T(test_every_dtype),
        T(test_empty_header_and_zero_size_tensors),
        T(test_bad_headers),
        T(test_bad_lengths),
        T(test_truncation_and_byte_flips),
        cmocka_unit_test(test_null_arguments),
        T(test_sharded_dir),
        T(test_dir_without_checkpoint),
        T(test_empty_weight_map),
        T(test_bad_indexes),
        T(test_duplicate_across_shards),
        T(test_broken_shard),
        cmocka_unit_test(test_real_index_missing_shards),
        T(test_real_mamba_index_with_stand_in_shards),
        T(test_real_mistral_index_with_stand_in_shards),
        T(test_many_tensors),
        cmocka_unit_test(test_python_fixture),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
