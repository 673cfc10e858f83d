/*
 * test_bundled.c - the bundled default model (models/kjv-bamba-11m), as a
 * new user meets it:
 *   - `braid ppl --weights f32` on its held-out text agrees with
 *     transformers' float32 perplexity (ppl_reference.json, by
 *     tools/train/eval_ppl.py) within 0.1%, and `braid ppl` (its bf16
 *     matrices used in place) agrees with that within 0.5%;
 *   - braid's tokenizer encodes the prompts to transformers' ids, and
 *     greedy decoding gives transformers' 40 tokens
 *     (tests/data/bundled/greedy_reference.json, tools/train/greedy_reference.py);
 *   - `braid generate --prompt` prints the prompt and exactly that text.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <math.h>
#include <unistd.h>

#include "base/file.h"
#include "braid.h"
#include "test_util.h"

static char model_dir[4096];

static char *run_cli(const char *args, int *status) {
    char cmd[8192], out[] = "/tmp/braid-bundled-XXXXXX";
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2>/dev/null", getenv("BRAID_CLI"), args, out);
    int rc = system(cmd);
    *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    char *text = NULL;
    size_t len;
    br_error err = {0};
    assert_int_equal(br_read_file(out, &text, &len, &err), BR_OK);
    unlink(out);
    return text;
}

/* `braid ppl` of the model on val.txt as ppl_reference.json measured it, with more options; returns the perplexity. */
static double braid_ppl(const json_t *ref, const char *more) {
    char args[8400];
    snprintf(args, sizeof args, "ppl '%s' '%s/val.txt' --window %lld%s %s", model_dir, model_dir,
             (long long)json_integer_value(json_object_get(ref, "window")),
             json_is_true(json_object_get(ref, "bos")) ? " --bos" : "", more);
    int status;
    char *out = run_cli(args, &status);
    assert_int_equal(status, 0);
    double ppl = 0;
    long long tokens = 0;
    assert_int_equal(sscanf(out, "perplexity %lf over %lld tokens", &ppl, &tokens), 2);
    assert_int_equal(tokens, json_integer_value(json_object_get(ref, "tokens_scored")));
    assert_true(ppl > 0 && ppl < 1000);
    free(out);
    return ppl;
}

static void test_perplexity_matches_transformers(void **state) {
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/ppl_reference.json", model_dir);
    json_error_t je;
    json_t *ref = json_load_file(path, 0, &je);
    assert_non_null(ref);
    const double want = json_real_value(json_object_get(ref, "ppl"));
    const double f32 = braid_ppl(ref, "--weights f32"), bf16 = braid_ppl(ref, "");
    fprintf(stderr, "  braid ppl f32 %.4f, bf16 in place %.4f, transformers %.4f (relative differences %.2e, %.2e)\n",
            f32, bf16, want, (f32 - want) / want, (bf16 - want) / want);
    assert_true(fabs(f32 - want) / want < 1e-3);
    assert_true(fabs(bf16 - f32) / f32 < 5e-3);
    json_decref(ref);
}

static void test_greedy_matches_transformers(void **state) {
    (void)state;
    json_error_t je;
    json_t *ref = json_load_file(br_test_path("tests/data/bundled/greedy_reference.json"), 0, &je);
    assert_non_null(ref);
    br_error err = {0};
    br_model *m = NULL;
    br_tokenizer *tok = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/tokenizer.json", model_dir);
    assert_int_equal(br_tokenizer_load(path, &tok, &err), BR_OK);
    assert_int_equal(br_model_load(model_dir, NULL, &m, NULL, &err), BR_OK);
    const int V = br_model_vocab_size(m);
    float *lg = malloc((size_t)V * sizeof(float));
    json_t *cases = json_object_get(ref, "cases");
    for (size_t c = 0; c < json_array_size(cases); c++) {
        json_t *cs = json_array_get(cases, c);
        const char *prompt = json_string_value(json_object_get(cs, "prompt"));
        json_t *want_p = json_object_get(cs, "prompt_ids"), *want_g = json_object_get(cs, "greedy_ids");
        int32_t *ids = NULL;
        size_t n = 0;
        assert_int_equal(br_tokenizer_encode(tok, prompt, strlen(prompt), 1, &ids, &n, &err), BR_OK);
        assert_int_equal(n, json_array_size(want_p));
        for (size_t i = 0; i < n; i++) assert_int_equal(ids[i], json_integer_value(json_array_get(want_p, i)));
        br_state *s = NULL;
        int slot = 0, same = 1;
        const int G = (int)json_array_size(want_g);
        assert_int_equal(br_state_create(m, 1, (int64_t)n + G, &s, &err), BR_OK);
        assert_int_equal(br_model_prefill(m, s, 1, &slot, ids, (int)n, BR_LOGITS_LAST, lg, &err), BR_OK);
        for (int g = 0; g < G && same; g++) {
            int32_t best = 0;
            for (int v = 1; v < V; v++)
                if (lg[v] > lg[best]) best = v;
            same = best == json_integer_value(json_array_get(want_g, (size_t)g));
            if (g + 1 < G) assert_int_equal(br_model_step(m, s, 1, &slot, &best, lg, &err), BR_OK);
        }
        fprintf(stderr, "  %-22.22s greedy %s\n", prompt, same ? "same as transformers" : "DIFFERENT");
        assert_true(same);
        br_state_free(s);
        free(ids);
    }
    free(lg);
    br_model_free(m);
    br_tokenizer_free(tok);
    json_decref(ref);
}

static void test_generate_prints_the_text(void **state) {
    (void)state;
    json_error_t je;
    json_t *ref = json_load_file(br_test_path("tests/data/bundled/greedy_reference.json"), 0, &je);
    json_t *cs = json_array_get(json_object_get(ref, "cases"), 0);
    char args[8400];
    snprintf(args, sizeof args, "generate '%s' --prompt '%s' -n %lld --greedy", model_dir,
             json_string_value(json_object_get(cs, "prompt")),
             (long long)json_integer_value(json_object_get(ref, "max_new_tokens")));
    int status;
    char *out = run_cli(args, &status);
    assert_int_equal(status, 0);
    char want[4096];
    snprintf(want, sizeof want, "%s%s\n", json_string_value(json_object_get(cs, "prompt")),
             json_string_value(json_object_get(cs, "text")));
    assert_string_equal(out, want);
    free(out);
    json_decref(ref);
}

int main(void) {
    snprintf(model_dir, sizeof model_dir, "%s", br_test_path("models/kjv-bamba-11m"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_matches_transformers),
        cmocka_unit_test(test_generate_prints_the_text),
        cmocka_unit_test(test_perplexity_matches_transformers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
