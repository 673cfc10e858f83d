/*
 * test_base.c - dtype conversion, Python-flavoured JSON, and error records.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h"
#include "base/error.h"
#include "base/json.h"
#include "test_util.h"

static void test_bf16_round_trip(void **state) {
    (void)state;
    assert_true(br_bf16_to_f32(br_f32_to_bf16(1.0f)) == 1.0f);
    /* 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1+2^-7: ties to even. */
    assert_true(br_bf16_to_f32(br_f32_to_bf16(1.0f + 1.0f / 256)) == 1.0f);
    assert_true(br_bf16_to_f32(br_f32_to_bf16(1.0f + 3.0f / 256)) == 1.0f + 4.0f / 256);
    assert_true(isnan(br_bf16_to_f32(br_f32_to_bf16(NAN))));
}

static void test_f16_round_trip(void **state) {
    (void)state;
    const float vals[] = {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333251953125f};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        assert_true(br_f16_to_f32(br_f32_to_f16(vals[i])) == vals[i]);
    assert_true(isinf(br_f16_to_f32(br_f32_to_f16(1e6f))));
    assert_true(br_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00); /* tie to even */
}

static void test_json_python_literals(void **state) {
    (void)state;
    const char *text = "{\"a\": [0.0, Infinity, -Infinity, NaN, {\"__float__\": \"Infinity\"}], \"s\": \"NaN Infinity\"}";
    json_t *root = NULL;
    br_error err = {0};
    assert_int_equal(br_json_load_text(text, strlen(text), "t.json", &root, &err), BR_OK);
    json_t *a = json_object_get(root, "a");
    double v;
    assert_true(br_json_number(json_array_get(a, 0), &v) && v == 0.0);
    assert_true(br_json_number(json_array_get(a, 1), &v) && isinf(v) && v > 0);
    assert_true(br_json_number(json_array_get(a, 2), &v) && isinf(v) && v < 0);
    assert_true(br_json_number(json_array_get(a, 3), &v) && isnan(v));
    assert_true(br_json_number(json_array_get(a, 4), &v) && isinf(v) && v > 0); /* transformers 5 */
    assert_string_equal(json_string_value(json_object_get(root, "s")), "NaN Infinity");
    json_decref(root);
}

static void test_json_error_names_position(void **state) {
    (void)state;
    const char *text = "{\n  \"a\": 1,\n  \"b\": }\n";
    json_t *root = NULL;
    br_error err = {0};
    assert_int_equal(br_json_load_text(text, strlen(text), "cfg.json", &root, &err), BR_ERR_PARSE);
    assert_non_null(strstr(err.message, "cfg.json:3:"));
}

static void test_nemotron_config_infinity(void **state) {
    (void)state;
    json_t *root = NULL;
    br_error err = {0};
    const char *path = br_test_path("tests/data/real/nvidia__Nemotron-H-56B-Base-8K/config.json");
    assert_int_equal(br_json_load_file(path, &root, &err), BR_OK);
    double v;
    json_t *lim = json_object_get(root, "time_step_limit");
    assert_true(br_json_number(json_array_get(lim, 1), &v) && isinf(v));
    json_decref(root);
}

static void test_status_names(void **state) {
    (void)state;
    for (int s = 0; s < BR_STATUS_COUNT; s++) assert_non_null(br_status_str((br_status)s));
    br_error err = {0};
    assert_int_equal(BR_FAIL(&err, BR_ERR_SPEC, "x %d", 3), BR_ERR_SPEC);
    br_error_prefix(&err, "layers.%d", 2);
    assert_string_equal(err.message, "layers.2: x 3");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bf16_round_trip),      cmocka_unit_test(test_f16_round_trip),
        cmocka_unit_test(test_json_python_literals), cmocka_unit_test(test_json_error_names_position),
        cmocka_unit_test(test_nemotron_config_infinity), cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
