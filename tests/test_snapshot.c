/*
 * test_snapshot.c - a sequence saved (br_state_save) and restored
 * (br_state_load) into another state goes on with bit-identical logits to
 * one that never stopped, for Mamba-2 + attention (Bamba), Mamba-1 + MoE
 * (Jamba) and a sliding-window ring that has wrapped (Llama); damaged,
 * truncated and foreign snapshots get named errors and leave the slot as
 * it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "braid.h"
#include "st_writer.h"
#include "test_util.h"
#include "tmpdir.h"

static void steps(br_model *m, br_state *s, int slot, int n, float *lg) {
    br_error err = {0};
    const int V = br_model_vocab_size(m);
    for (int t = 0; t < n; t++) {
        int32_t id = (int32_t)((t * 7 + 3) % V);
        assert_int_equal(br_model_step(m, s, 1, &slot, &id, lg + (long)t * V, &err), BR_OK);
    }
}

static void test_restored_sequence_goes_on_identically(void **state) {
    (void)state;
    const char *specs[] = {"bamba", "jamba", "llama"};
    char *dir = br_test_mkdtemp("braid-snap");
    char path[4200];
    snprintf(path, sizeof path, "%s/seq.snap", dir);
    for (size_t k = 0; k < 3; k++) {
        br_model *m = br_test_random_model(specs[k], 5 + k);
        const int V = br_model_vocab_size(m), P = 40, N = 6;
        int32_t prompt[40], hist[3] = {4, 5, 6};
        for (int i = 0; i < P; i++) prompt[i] = (int32_t)((i * 13 + 1) % V);
        br_state *a = NULL, *b = NULL;
        br_error err = {0};
        br_sampler_params sp = br_sampler_defaults();
        sp.temperature = 0.7, sp.seed = 11;
        br_sampler *sa = NULL, *sb = NULL;
        assert_int_equal(br_sampler_new(&sp, V, &sa, &err), BR_OK);
        sp.seed = 99;
        assert_int_equal(br_sampler_new(&sp, V, &sb, &err), BR_OK);
        float *lg = malloc((size_t)N * V * 4), *la = malloc((size_t)N * V * 4), *lb = malloc((size_t)N * V * 4);
        int slot = 1;
        assert_int_equal(br_state_create(m, 2, 128, &a, &err), BR_OK);
        assert_int_equal(br_model_prefill(m, a, 1, &slot, prompt, P, BR_LOGITS_LAST, lg, &err), BR_OK);
        steps(m, a, slot, 3, lg);
        br_sampler_pick(sa, lg, NULL, 0); /* move the stream */
        assert_int_equal(br_state_save(m, a, slot, path, sa, hist, 3, &err), BR_OK);
        steps(m, a, slot, N, la);
        assert_int_equal(br_state_create(m, 3, 64, &b, &err), BR_OK);
        int32_t *got_hist = NULL;
        size_t n_hist = 0;
        assert_int_equal(br_state_load(m, b, 2, path, sb, &got_hist, &n_hist, &err), BR_OK);
        assert_int_equal(br_state_position(b, 2), P + 3);
        assert_int_equal(n_hist, 3);
        assert_memory_equal(got_hist, hist, sizeof hist);
        assert_true(br_sampler_rng(sb) == br_sampler_rng(sa));
        steps(m, b, 2, N, lb);
        assert_memory_equal(la, lb, (size_t)N * V * 4); /* bit for bit */
        fprintf(stderr, "  %-6s restored at position %d: %d steps identical\n", specs[k], P + 3, N);
        free(got_hist), free(lg), free(la), free(lb);
        br_sampler_free(sa), br_sampler_free(sb);
        br_state_free(a), br_state_free(b);
        br_model_free(m);
    }
    br_test_rmtree(dir);
}

static void expect_load_error(br_model *m, br_state *s, const char *path, br_status want, const char *needle) {
    br_error err = {0};
    const int64_t before = br_state_position(s, 0);
    br_status st = br_state_load(m, s, 0, path, NULL, NULL, NULL, &err);
    if (st != want || !strstr(err.message, needle)) fprintf(stderr, "got %d: %s\n", st, err.message);
    assert_int_equal(st, want);
    assert_non_null(strstr(err.message, needle));
    assert_int_equal(br_state_position(s, 0), before); /* the slot is as it was, and still runs */
    int32_t id = 1;
    int slot = 0;
    assert_int_equal(br_model_step(m, s, 1, &slot, &id, NULL, &err), BR_OK);
}

static void test_bad_snapshots_named(void **state) {
    (void)state;
    char *dir = br_test_mkdtemp("braid-snap");
    char path[4200], bad[4200];
    snprintf(path, sizeof path, "%s/seq.snap", dir);
    snprintf(bad, sizeof bad, "%s/bad.snap", dir);
    br_model *m = br_test_random_model("bamba", 1), *other_weights = br_test_random_model("bamba", 2);
    br_model *other_model = br_test_random_model("mamba", 1);
    br_state *s = NULL, *t = NULL;
    br_error err = {0};
    int slot = 0;
    int32_t ids[5] = {1, 2, 3, 4, 5};
    assert_int_equal(br_state_create(m, 1, 32, &s, &err), BR_OK);
    assert_int_equal(br_model_prefill(m, s, 1, &slot, ids, 5, BR_LOGITS_NONE, NULL, &err), BR_OK);
    assert_int_equal(br_state_save(m, s, 0, path, NULL, NULL, 0, &err), BR_OK);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(br_read_file(path, &data, &len, &err), BR_OK);
    br_test_write_bytes(bad, data, len - 9); /* truncated */
    expect_load_error(m, s, bad, BR_ERR_PARSE, "not the size of a snapshot");
    data[len / 2] ^= 0x40; /* one bit flipped */
    br_test_write_bytes(bad, data, len);
    expect_load_error(m, s, bad, BR_ERR_PARSE, "checksum");
    br_test_write_bytes(bad, "hello", 5);
    expect_load_error(m, s, bad, BR_ERR_PARSE, "not a braid state snapshot");
    expect_load_error(m, s, "/nonexistent/seq.snap", BR_ERR_IO, "/nonexistent/seq.snap");
    free(data);
    assert_int_equal(br_state_create(other_weights, 1, 32, &t, &err), BR_OK);
    assert_int_equal(br_state_load(other_weights, t, 0, path, NULL, NULL, NULL, &err), BR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "other weights"));
    br_state_free(t);
    assert_int_equal(br_state_create(other_model, 1, 32, &t, &err), BR_OK);
    assert_int_equal(br_state_load(other_model, t, 0, path, NULL, NULL, NULL, &err), BR_ERR_PARSE); /* sizes differ */
    br_state_free(t);
    assert_int_equal(br_state_create(m, 1, 4, &t, &err), BR_OK); /* a context shorter than the snapshot */
    assert_int_equal(br_state_load(m, t, 0, path, NULL, NULL, NULL, &err), BR_ERR_PARSE);
    br_state_free(t);
    br_state_free(s);
    br_model_free(m), br_model_free(other_weights), br_model_free(other_model);
    br_test_rmtree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restored_sequence_goes_on_identically),
        cmocka_unit_test(test_bad_snapshots_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
