/*
 * test_cli.c - the braid command-line tool as a user runs it: exit codes,
 * what goes to stdout and stderr, and that the figures and ids it prints
 * are the library's.  The binary comes from BRAID_CLI (set by CMake).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/npy.h"
#include "cli_run.h"
#include "st_writer.h"
#include "test_util.h"
#include "tmpdir.h"

typedef br_cli_result result;

static char *tmp;

/* Runs `braid <args>` (args are shell words), capturing stdout and stderr. */
static result run(const char *args) { return br_test_cli(tmp, args); }

static void done(result *r) { br_cli_result_free(r); }

static void test_usage_and_exit_codes(void **state) {
    (void)state;
    result r = run("--help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "generate"));
    done(&r);
    r = run("");
    assert_int_equal(r.status, 2);
    done(&r);
    r = run("frobnicate");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown command 'frobnicate'"));
    done(&r);
    r = run("plan architectures/jamba-v0.1.yaml --batch 0");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--batch"));
    done(&r);
}

static void test_plan_json(void **state) {
    (void)state;
    result r = run("plan architectures/jamba-v0.1.yaml --context 262144 --json");
    assert_int_equal(r.status, 0);
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    assert_non_null(j);
    const char *keys[] = {"params_total", "params_active", "state_bytes_per_seq", "kv_bytes_per_token", "kv_bytes_total"};
    for (int i = 0; i < 5; i++) assert_true(json_is_integer(json_object_get(j, keys[i])));
    assert_int_equal(json_integer_value(json_object_get(j, "params_total")), 51570323328LL);
    assert_int_equal(json_integer_value(json_object_get(j, "kv_bytes_per_token")), 4 * 2 * 8 * 128 * 2);
    assert_int_equal(json_integer_value(json_object_get(j, "kv_bytes_total")), 4LL << 30); /* the Jamba paper's 4 GB */
    json_decref(j);
    done(&r);
    r = run("plan architectures/jamba-v0.1.yaml");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "attn:attention + mlp:mlp"));
    done(&r);
}

static void test_plan_bad_spec(void **state) {
    (void)state;
    char spec[4200];
    snprintf(spec, sizeof spec, "%s/bad.yaml", tmp);
    br_test_write_text(spec, "model: {d_model: 16, vocab_size: 8}\nblocks:\n  m: {type: mamba, d_state: -4}\nlayers: [m]\n");
    char args[4400];
    snprintf(args, sizeof args, "plan '%s'", spec);
    result r = run(args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "bad.yaml:3:"));
    assert_non_null(strstr(r.err, "found -4"));
    assert_string_equal(r.out, "");
    done(&r);
}

static json_t *fixture_ref(const char *name) {
    char path[4200];
    snprintf(path, sizeof path, "%s/tests/data/fixtures/%s/reference.json", getenv("BRAID_SOURCE_DIR"), name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    assert_non_null(j);
    return j;
}

static void ids_arg(json_t *arr, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(arr) && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)json_integer_value(json_array_get(arr, i)));
}

static void test_generate_print_ids(void **state) {
    (void)state;
    json_t *ref = fixture_ref("zamba2");
    json_t *g = json_object_get(ref, "greedy");
    char ids[1024], args[2048], want[1024] = "";
    ids_arg(json_object_get(g, "prompt_ids"), ids, sizeof ids);
    json_t *w = json_object_get(g, "ids");
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(w); i++)
        n += (size_t)snprintf(want + n, sizeof want - n, "%s%lld", i ? " " : "", (long long)json_integer_value(json_array_get(w, i)));
    snprintf(args, sizeof args, "generate tests/data/fixtures/zamba2 --ids %s -n %lld --greedy --print-ids", ids,
             (long long)json_integer_value(json_object_get(g, "max_new_tokens")));
    result r = run(args);
    assert_int_equal(r.status, 0);
    strcat(want, "\n");
    assert_string_equal(r.out, want);
    done(&r);
    json_decref(ref);
    /* no tokenizer.json in a fixture: a prompt is refused with a hint */
    r = run("generate tests/data/fixtures/zamba2 --prompt hello");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "tokenizer.json"));
    done(&r);
}

static void test_logits_npy(void **state) {
    (void)state;
    json_t *ref = fixture_ref("nemotron_h");
    char ids[1024], args[8192], out[4200], want_path[4200];
    ids_arg(json_object_get(ref, "prompt_ids"), ids, sizeof ids);
    snprintf(out, sizeof out, "%s/l.npy", tmp);
    snprintf(args, sizeof args, "logits tests/data/fixtures/nemotron_h --ids %s --mode step --out '%s'", ids, out);
    result r = run(args);
    assert_int_equal(r.status, 0);
    done(&r);
    snprintf(want_path, sizeof want_path, "%s/tests/data/fixtures/nemotron_h/logits_step.npy", getenv("BRAID_SOURCE_DIR"));
    float *a = NULL, *b = NULL;
    int nd;
    int64_t sa[8], sb[8];
    br_error err = {0};
    assert_int_equal(br_npy_read_f32(out, &a, &nd, sa, &err), BR_OK);
    assert_int_equal(br_npy_read_f32(want_path, &b, &nd, sb, &err), BR_OK);
    assert_int_equal(sa[0], sb[0]);
    assert_int_equal(sa[1], sb[1]);
    assert_true(br_test_max_err_scaled(a, b, (size_t)(sa[0] * sa[1])) < 1e-4);
    free(a), free(b);
    json_decref(ref);
    r = run("logits tests/data/fixtures/nemotron_h --ids 1,2,99999 --out /dev/null");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "token id 99999"));
    done(&r);
}

static void test_spec_and_errors(void **state) {
    (void)state;
    result r = run("spec tests/data/fixtures/jamba");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "bcdt_norm: rms_weighted"));
    assert_non_null(strstr(r.out, "layers: '"));
    done(&r);
    r = run("spec /nonexistent/model");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "config.json"));
    done(&r);
    r = run("run architectures/examples/tiny-hybrid.yaml --check --prompt 8 --gen 2");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "(ok)"));
    done(&r);
}

/* Inputs a user gets wrong, each refused with a message that says what is wrong (and no crash). */
static void test_bad_requests_named(void **state) {
    (void)state;
    struct {
        const char *args, *needle;
        int status;
    } cases[] = {
        {"plan architectures/jamba-v0.1.yaml --context 1099511627776 --batch 1500", "more than 8 EiB", 2},
        {"generate /nonexistent/model --prompt hi", "is not a folder", 1},
        {"ppl /nonexistent/model README.md", "is not a folder", 1},
        {"generate models/kjv-bamba-11m --prompt hi --top-k 5", "give --temp", 2},
        {"generate models/kjv-bamba-11m --prompt hi --weights foo", "--weights expects bf16 or f32", 2},
        {"run architectures/examples/tiny-hybrid.yaml --weights foo", "--weights expects bf16 or f32", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        result r = run(cases[i].args);
        if (r.status != cases[i].status || !strstr(r.err, cases[i].needle))
            fprintf(stderr, "braid %s: status %d, stderr: %s\n", cases[i].args, r.status, r.err);
        assert_int_equal(r.status, cases[i].status);
        assert_non_null(strstr(r.err, cases[i].needle));
        done(&r);
    }
    /* a spec name that needs escaping stays valid JSON */
    char spec[4200], args[4400];
    snprintf(spec, sizeof spec, "%s/quoted.yaml", tmp);
    FILE *f = fopen(spec, "w");
    assert_non_null(f);
    fprintf(f, "extends: %s/architectures/examples/tiny-hybrid.yaml\nname: 'a \"quoted\" \\ name'\n",
            getenv("BRAID_SOURCE_DIR"));
    fclose(f);
    snprintf(args, sizeof args, "plan '%s' --json", spec);
    result r = run(args);
    assert_int_equal(r.status, 0);
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "a \"quoted\" \\ name");
    json_decref(j);
    done(&r);
    /* a window longer than the text is the text; --check covers sequence 0 of a batch */
    char text[4200];
    snprintf(text, sizeof text, "%s/short.txt", tmp);
    br_test_write_text(text, "In the beginning God created the heaven and the earth.\n");
    snprintf(args, sizeof args, "ppl models/kjv-bamba-11m '%s' --window 8000000", text);
    r = run(args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "perplexity"));
    done(&r);
    r = run("run architectures/examples/tiny-hybrid.yaml --check --batch 3 --prompt 8 --gen 2");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "sequence 0 of the batch"));
    assert_non_null(strstr(r.out, "(ok)"));
    done(&r);
}

/* A sequence saved at the end of one run and loaded by the next goes on as one run would have. */
static void test_generate_save_and_load_state(void **state) {
    (void)state;
    char snap[4200], args[8600];
    snprintf(snap, sizeof snap, "%s/seq.snap", tmp);
    result whole = run("generate models/kjv-bamba-11m --prompt 'And God said' -n 30 --greedy --no-echo --print-ids");
    assert_int_equal(whole.status, 0);
    snprintf(args, sizeof args, "generate models/kjv-bamba-11m --prompt 'And God said' -n 12 --greedy --no-echo "
                                "--print-ids --save-state '%s'", snap);
    result first = run(args);
    assert_int_equal(first.status, 0);
    snprintf(args, sizeof args, "generate models/kjv-bamba-11m --load-state '%s' -n 18 --greedy --print-ids", snap);
    result second = run(args);
    assert_int_equal(second.status, 0);
    char joined[8192];
    snprintf(joined, sizeof joined, "%.*s %s", (int)strcspn(first.out, "\n"), first.out, second.out);
    assert_string_equal(joined, whole.out); /* 12 + 18 ids: the 30 of one run */
    done(&whole), done(&first), done(&second);
    snprintf(args, sizeof args, "generate models/kjv-bamba-11m --load-state '%s/missing.snap' -n 2", tmp);
    result r = run(args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "missing.snap"));
    done(&r);
}

/* braid compare: within tolerance against transformers' layers (exit 0); a reference that departs at
 * one layer is named (exit 1). */
static void test_compare(void **state) {
    (void)state;
    json_t *ref = fixture_ref("jamba");
    char ids[1024], args[8192], bad[4200];
    ids_arg(json_object_get(ref, "prompt_ids"), ids, sizeof ids);
    snprintf(args, sizeof args, "compare tests/data/fixtures/jamba --ids %s --ref tests/data/fixtures/jamba/hidden_states.npy",
             ids);
    result r = run(args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "every layer within"));
    done(&r);
    float *h = NULL;
    int nd;
    int64_t sh[8];
    br_error err = {0};
    char src[4200];
    snprintf(src, sizeof src, "%s/tests/data/fixtures/jamba/hidden_states.npy", getenv("BRAID_SOURCE_DIR"));
    assert_int_equal(br_npy_read_f32(src, &h, &nd, sh, &err), BR_OK);
    const size_t row = (size_t)sh[1] * sh[2];
    for (size_t i = 3 * row; i < (size_t)sh[0] * row; i++) h[i] *= 1.01f; /* from layer 2 on */
    snprintf(bad, sizeof bad, "%s/bad_hidden.npy", tmp);
    assert_int_equal(br_npy_write_f32(bad, h, 3, sh, &err), BR_OK);
    snprintf(args, sizeof args, "compare tests/data/fixtures/jamba --ids %s --ref '%s'", ids, bad);
    r = run(args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "first layer past 1.0e-04: 2 ("));
    done(&r);
    free(h);
    json_decref(ref);
}

static int setup(void **state) {
    (void)state;
    tmp = br_test_mkdtemp("braid-cli");
    return tmp ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    br_test_rmtree(tmp);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_and_exit_codes), cmocka_unit_test(test_plan_json),
        cmocka_unit_test(test_plan_bad_spec),        cmocka_unit_test(test_generate_print_ids),
        cmocka_unit_test(test_logits_npy),           cmocka_unit_test(test_spec_and_errors),
        cmocka_unit_test(test_bad_requests_named),   cmocka_unit_test(test_generate_save_and_load_state),
        cmocka_unit_test(test_compare),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
