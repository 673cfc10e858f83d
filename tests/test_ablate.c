/*
 * test_ablate.c - `braid ablate layers` on the bundled model, as a user runs
 * it, on a short text so that it takes seconds: the files it writes, a
 * baseline equal to `braid ppl` on the same bytes, a finite perplexity that
 * moves for every dropped layer, the attention surgery rows, a spec of its
 * own that reproduces its row, and a bad --variant or a missing model
 * reported by name.  The ablation runs once (setup); the tests read it.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "cli_run.h"
#include "test_util.h"
#include "tmpdir.h"

#define MODEL "models/kjv-bamba-11m"
#define TEXT "models/kjv-bamba-11m/val.txt"
#define MAX_BYTES "200"

static char *tmp;
static br_cli_result ablation; /* the run every test reads */
static json_t *results;        /* its results.json */

static void write_text(const char *name, const char *text) {
    FILE *f = fopen(br_test_join(tmp, name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The row of results.json named `name` (asserts it is there). */
static json_t *row(const char *name) {
    const json_t *rows = json_object_get(results, "variants");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *v = json_array_get(rows, i);
        if (!strcmp(json_string_value(json_object_get(v, "name")), name)) return v;
    }
    fail_msg("results.json has no row '%s'", name);
    return NULL;
}

/* The perplexity `braid ppl` prints for these arguments. */
static double ppl_of(const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "ppl " MODEL " " TEXT " --max-bytes " MAX_BYTES " %s", args);
    br_cli_result r = br_test_cli(tmp, cmd);
    assert_int_equal(r.status, 0);
    double ppl = 0;
    assert_int_equal(sscanf(r.out, "perplexity %lf", &ppl), 1);
    br_cli_result_free(&r);
    return ppl;
}

static int setup(void **state) {
    (void)state;
    if (!(tmp = br_test_mkdtemp("braid-ablate"))) return -1;
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "spec " MODEL " -o '%s'", br_test_join(tmp, "model.yaml"));
    br_cli_result r = br_test_cli(tmp, cmd);
    br_cli_result_free(&r);
    if (r.status != 0) return -1;
    write_text("typo.yaml", "extends: model.yaml\nname: typo\nlayerz: 'mmm'\n");
    write_text("attn-first.yaml", "extends: model.yaml\nname: attn-first\noverrides: {0: a}\n");
    char out[4200], typo[4200], attn[4200];
    snprintf(out, sizeof out, "%s", br_test_join(tmp, "out"));
    snprintf(typo, sizeof typo, "%s", br_test_join(tmp, "typo.yaml"));
    snprintf(attn, sizeof attn, "%s", br_test_join(tmp, "attn-first.yaml"));
    snprintf(cmd, sizeof cmd,
             "ablate layers " MODEL " --text " TEXT " --out '%s' --max-bytes " MAX_BYTES " --variant '%s' --variant '%s'",
             out, typo, attn);
    ablation = br_test_cli(tmp, cmd);
    json_error_t je;
    results = json_load_file(br_test_join(out, "results.json"), 0, &je);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    json_decref(results);
    br_cli_result_free(&ablation);
    br_test_rmtree(tmp);
    return 0;
}

static void test_files_and_progress(void **state) {
    (void)state;
    if (ablation.status != 0) fprintf(stderr, "stderr: %s\n", ablation.err);
    assert_int_equal(ablation.status, 0);
    assert_non_null(results);
    const char *files[] = {"results.csv", "results.md", "results.gp", "specs/base.yaml", "specs/drop-3.yaml"};
    char path[4200];
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/out/%s", tmp, files[i]);
        assert_true(br_file_exists(path));
    }
    snprintf(path, sizeof path, "%s/out/results.svg", tmp);
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) assert_true(br_file_exists(path));
    else assert_non_null(strstr(ablation.err, "gnuplot results.gp"));
    const int n = (int)json_array_size(json_object_get(results, "variants"));
    assert_int_equal(n, 1 + 12 + 1 + 3 + 3 + 2); /* baseline, drops, all attention, identity and copy of 3, user */
    char line[64];
    snprintf(line, sizeof line, "[1/%d] baseline", n);
    assert_non_null(strstr(ablation.err, line));
    assert_non_null(strstr(ablation.err, "[4/22] drop-2 (drop: 2); 18 left"));
    char *md = NULL;
    size_t len;
    br_error err = {0};
    snprintf(path, sizeof path, "%s/out/results.md", tmp);
    assert_int_equal(br_read_file(path, &md, &len, &err), BR_OK);
    assert_non_null(strstr(md, "| drop-2 | 2 | attention+mlp | "));
    assert_non_null(strstr(md, "| drop | attention+mlp | 3 | "));
    free(md);
}

static void test_baseline_is_braid_ppl(void **state) {
    (void)state;
    const double base = json_real_value(json_object_get(row("baseline"), "perplexity"));
    assert_true(fabs(json_real_value(json_object_get(results, "baseline_perplexity")) - base) == 0);
    assert_true(fabs(ppl_of("") - base) <= 5e-5 + 1e-6 * base); /* ppl prints 4 decimals */
}

static void test_every_dropped_layer_moves_perplexity(void **state) {
    (void)state;
    const double base = json_real_value(json_object_get(row("baseline"), "perplexity"));
    for (int l = 0; l < 12; l++) {
        char name[32];
        snprintf(name, sizeof name, "drop-%d", l);
        const json_t *v = row(name);
        const double ppl = json_real_value(json_object_get(v, "perplexity"));
        assert_true(isfinite(ppl) && ppl > 1);
        assert_true(ppl != base);
        assert_int_equal(json_integer_value(json_object_get(v, "layer")), l);
        assert_true(json_is_null(json_object_get(v, "error")));
        assert_string_equal(json_string_value(json_object_get(v, "type")),
                            l == 2 || l == 6 || l == 10 ? "attention+mlp" : "mamba2+mlp");
    }
    assert_string_equal(json_string_value(json_object_get(row("drop-attention"), "changes")), "2, 6, 10");
}

/* The attention units of layers 2, 6, 10 removed, or replaced by the Mamba-2 unit of the layer before each;
 * the spec a row ran gives the same perplexity through `braid ppl --spec`. */
static void test_attention_surgery(void **state) {
    (void)state;
    const char *names[] = {"attn-2-identity", "attn-2-from-1", "attn-6-identity", "attn-6-from-5",
                           "attn-10-identity", "attn-10-from-9"};
    for (int i = 0; i < 6; i++) {
        const json_t *v = row(names[i]);
        assert_true(isfinite(json_real_value(json_object_get(v, "perplexity"))));
        assert_string_equal(json_string_value(json_object_get(v, "type")), i % 2 ? "attention -> mamba2" : "attention");
    }
    const json_t *copy = row("attn-2-from-1");
    char args[4300];
    snprintf(args, sizeof args, "--spec '%s'", json_string_value(json_object_get(copy, "spec")));
    assert_true(fabs(ppl_of(args) - json_real_value(json_object_get(copy, "perplexity"))) <= 1e-4);
}

static void test_bad_variants_named_in_their_rows(void **state) {
    (void)state;
    const char *typo = json_string_value(json_object_get(row("typo"), "error"));
    assert_non_null(typo);
    assert_non_null(strstr(typo, "typo.yaml:3:1"));
    assert_non_null(strstr(typo, "unknown key 'layerz' (did you mean 'layers'?)"));
    assert_true(json_is_null(json_object_get(row("typo"), "perplexity")));
    const char *attn = json_string_value(json_object_get(row("attn-first"), "error"));
    assert_non_null(attn);
    assert_non_null(strstr(attn, "checkpoint has no tensor 'model.layers.0.self_attn.q_proj.weight'"));
    assert_non_null(strstr(attn, "--init-missing"));
}

static void test_usage_errors(void **state) {
    (void)state;
    static const struct {
        const char *args;
        int status;
        const char *says;
    } cases[] = {
        {"ablate layers models/no-such-model --text " TEXT " --out /tmp/unused", 1, "'models/no-such-model' is not a folder"},
        {"ablate layers " MODEL " --out /tmp/unused", 2, "need MODEL_DIR, --text FILE and --out DIR"},
        {"ablate frobnicate", 2, "unknown experiment 'frobnicate'"},
        {"ablate layers " MODEL " --text no-such.txt --out /tmp/unused", 1, "no-such.txt"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        br_cli_result r = br_test_cli(tmp, cases[i].args);
        assert_int_equal(r.status, cases[i].status);
        assert_non_null(strstr(r.err, cases[i].says));
        br_cli_result_free(&r);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_and_progress),           cmocka_unit_test(test_baseline_is_braid_ppl),
        cmocka_unit_test(test_every_dropped_layer_moves_perplexity), cmocka_unit_test(test_attention_surgery),
        cmocka_unit_test(test_bad_variants_named_in_their_rows), cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
