/*
 * test_forward.c - the executor on tiny random-weight models of every
 * family shape (tests/data/specs/): decoding token by token gives the
 * logits of one prefill pass; a chat turn (prefill, steps, more prefill)
 * gives them too; a batch of sequences gives each sequence's own logits
 * (and a decode step in a batch the very bits of the step alone);
 * bad calls leave every slot untouched; a call that fails part-way (memory
 * running out inside a layer, logits that are not finite) marks its slots
 * broken until they are reset, and leaves the other slots as they were.
 * f32, relative error < 1e-5.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "braid.h"
#include "graph/arena.h"
#include "graph/model.h"
#include "graph/state.h"
#include "test_util.h"

#define TOL 1e-5

static const char *const specs[] = {"mamba", "jamba", "zamba", "zamba2", "bamba", "falcon_h1", "nemotron_h", "llama"};
#define N_SPECS (sizeof specs / sizeof specs[0])

typedef struct fixture {
    br_model *model;
    int V;
} fixture;

static br_model *load(const char *name, uint64_t seed, int *V) {
    br_model *m = br_test_random_model(name, seed);
    *V = br_model_vocab_size(m);
    return m;
}

static int32_t *tokens(int n, int V, uint64_t *rng) {
    int32_t *t = malloc((size_t)n * sizeof *t);
    float u[1];
    for (int i = 0; i < n; i++) {
        br_test_fill_uniform(u, 1, 0, (float)V, rng);
        t[i] = (int32_t)u[0] % V;
    }
    return t;
}

static void expect_close(const char *what, const char *spec, const float *got, const float *want, size_t n) {
    double e = br_test_rel_err(got, want, n);
    if (!(e < TOL)) fprintf(stderr, "%s (%s): relative error %.3g\n", what, spec, e);
    assert_true(e < TOL);
}

static void prefill(br_model *m, br_state *s, int batch, const int *slots, const int32_t *t, int T, br_logits_mode lm,
                    float *out) {
    br_error err = {0};
    br_status st = br_model_prefill(m, s, batch, slots, t, T, lm, out, &err);
    if (st != BR_OK) fprintf(stderr, "prefill: %s\n", err.message);
    assert_int_equal(st, BR_OK);
}

static void step(br_model *m, br_state *s, int batch, const int *slots, const int32_t *t, float *out) {
    br_error err = {0};
    br_status st = br_model_step(m, s, batch, slots, t, out, &err);
    if (st != BR_OK) fprintf(stderr, "step: %s\n", err.message);
    assert_int_equal(st, BR_OK);
}

static void test_step_matches_prefill(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("step_matches_prefill");
    for (size_t k = 0; k < N_SPECS; k++) {
        int V;
        br_model *m = load(specs[k], rng, &V);
        const int T = 19;
        int32_t *t = tokens(T, V, &rng);
        float *a = malloc((size_t)T * V * 4), *b = malloc((size_t)T * V * 4);
        br_state *s1, *s2;
        br_error err = {0};
        assert_int_equal(br_state_create(m, 1, T, &s1, &err), BR_OK);
        assert_int_equal(br_state_create(m, 1, T, &s2, &err), BR_OK);
        int slot = 0;
        prefill(m, s1, 1, &slot, t, T, BR_LOGITS_ALL, a);
        for (int i = 0; i < T; i++) step(m, s2, 1, &slot, t + i, b + (long)i * V);
        expect_close("step vs prefill", specs[k], b, a, (size_t)T * V);
        double sd = 0;
        for (int i = 0; i < T * V; i++) sd += (double)a[i] * a[i];
        assert_true(sd > 1e-12 && isfinite(sd)); /* logits are alive */
        assert_int_equal(br_state_position(s1, 0), T);
        free(t), free(a), free(b);
        br_state_free(s1), br_state_free(s2);
        br_model_free(m);
    }
}

static void test_chat_turns(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("chat_turns");
    for (size_t k = 0; k < N_SPECS; k++) {
        int V;
        br_model *m = load(specs[k], rng, &V);
        const int T = 23, p1 = 7, steps = 4;
        int32_t *t = tokens(T, V, &rng);
        float *a = malloc((size_t)T * V * 4), *b = malloc((size_t)T * V * 4);
        br_state *s1, *s2;
        br_error err = {0};
        assert_int_equal(br_state_create(m, 2, 64, &s1, &err), BR_OK);
        assert_int_equal(br_state_create(m, 3, 64, &s2, &err), BR_OK);
        int slot = 1; /* not slot 0: slots are independent */
        prefill(m, s1, 1, &slot, t, T, BR_LOGITS_ALL, a);
        prefill(m, s2, 1, &slot, t, p1, BR_LOGITS_ALL, b);
        for (int i = p1; i < p1 + steps; i++) step(m, s2, 1, &slot, t + i, b + (long)i * V);
        prefill(m, s2, 1, &slot, t + p1 + steps, T - p1 - steps, BR_LOGITS_ALL, b + (long)(p1 + steps) * V);
        expect_close("prefill+steps+prefill vs prefill", specs[k], b, a, (size_t)T * V);
        /* a reset slot starts over */
        assert_int_equal(br_state_reset(s2, slot, &err), BR_OK);
        prefill(m, s2, 1, &slot, t, T, BR_LOGITS_ALL, b);
        expect_close("after reset", specs[k], b, a, (size_t)T * V);
        free(t), free(a), free(b);
        br_state_free(s1), br_state_free(s2);
        br_model_free(m);
    }
}

static void test_batch_matches_single(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("batch");
    for (size_t k = 0; k < N_SPECS; k++) {
        int V;
        br_model *m = load(specs[k], rng, &V);
        const int T = 9, B = 3;
        int32_t *t = tokens(B * T, V, &rng), next[3];
        float *a = malloc((size_t)B * T * V * 4), *b = malloc((size_t)T * V * 4);
        float *sa = malloc((size_t)B * V * 4), *sb = malloc((size_t)V * 4);
        br_state *s1;
        br_error err = {0};
        assert_int_equal(br_state_create(m, 4, 32, &s1, &err), BR_OK);
        int slots[3] = {3, 0, 2};
        /* sequence 0 already has history: its positions differ from the others' */
        prefill(m, s1, 1, &slots[0], t, 2, BR_LOGITS_NONE, NULL);
        prefill(m, s1, B, slots, t, T, BR_LOGITS_ALL, a);
        for (int b0 = 0; b0 < B; b0++) next[b0] = t[b0 * T + 1];
        step(m, s1, B, slots, next, sa);
        for (int b0 = 0; b0 < B; b0++) {
            br_state *s2;
            assert_int_equal(br_state_create(m, 1, 32, &s2, &err), BR_OK);
            int z = 0;
            if (b0 == 0) prefill(m, s2, 1, &z, t, 2, BR_LOGITS_NONE, NULL);
            prefill(m, s2, 1, &z, t + b0 * T, T, BR_LOGITS_ALL, b);
            expect_close("batched vs single", specs[k], a + (long)b0 * T * V, b, (size_t)T * V);
            step(m, s2, 1, &z, &next[b0], sb);
            expect_close("batched step vs single", specs[k], sa + (long)b0 * V, sb, (size_t)V);
            br_state_free(s2);
        }
        free(t), free(a), free(b), free(sa), free(sb);
        br_state_free(s1);
        br_model_free(m);
    }
}

/* A sequence decoded in a batch with others of different lengths gives, on the CPU, the logits it
 * gives alone, bit for bit, with f32 and with bf16 matrix weights. */
static void test_step_batch_invariant(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("batch invariance");
    const br_dtype types[2] = {BR_F32, BR_BF16};
    for (size_t k = 0; k < N_SPECS; k++)
        for (int d = 0; d < 2; d++) {
            int V;
            br_model *m = load(specs[k], rng, &V);
            br_error err = {0};
            assert_int_equal(br_model_convert_weights(m, types[d], &err), BR_OK);
            enum { B = 3, STEPS = 3 };
            const int len[B] = {5, 9, 2}, slots[B] = {1, 2, 0};
            int32_t *t = tokens(9 * B + STEPS * B, V, &rng), *next = t + 9 * B;
            float *batched = malloc((size_t)STEPS * B * V * 4), *alone = malloc((size_t)V * 4);
            br_state *s;
            assert_int_equal(br_state_create(m, B, 32, &s, &err), BR_OK);
            for (int b = 0; b < B; b++) prefill(m, s, 1, &slots[b], t + 9 * b, len[b], BR_LOGITS_NONE, NULL);
            for (int i = 0; i < STEPS; i++) step(m, s, B, slots, next + i * B, batched + (long)i * B * V);
            br_state_free(s);
            for (int b = 0; b < B; b++) {
                assert_int_equal(br_state_create(m, 1, 32, &s, &err), BR_OK);
                int z = 0;
                prefill(m, s, 1, &z, t + 9 * b, len[b], BR_LOGITS_NONE, NULL);
                for (int i = 0; i < STEPS; i++) {
                    step(m, s, 1, &z, next + i * B + b, alone);
                    if (memcmp(alone, batched + ((long)i * B + b) * V, (size_t)V * 4))
                        fprintf(stderr, "%s, %s weights: sequence %d, step %d differs in a batch (rel err %.3g)\n",
                                specs[k], br_dtype_name(types[d]), b, i,
                                br_test_rel_err(alone, batched + ((long)i * B + b) * V, (size_t)V));
                    assert_memory_equal(alone, batched + ((long)i * B + b) * V, (size_t)V * 4);
                }
                br_state_free(s);
            }
            free(t), free(batched), free(alone);
            br_model_free(m);
        }
}

static void test_bad_calls_leave_state_untouched(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("bad_calls");
    int V;
    br_model *m = load("zamba2", rng, &V);
    br_state *s;
    br_error err = {0};
    assert_int_equal(br_state_create(m, 2, 8, &s, &err), BR_OK);
    int slot = 0, slots2[2] = {1, 1}, bad_slot = 5;
    int32_t t[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float *a = malloc((size_t)V * 4), *b = malloc((size_t)V * 4);
    prefill(m, s, 1, &slot, t, 3, BR_LOGITS_LAST, a);
    int32_t badtok[2] = {1, V};
    assert_int_equal(br_model_prefill(m, s, 1, &slot, badtok, 2, BR_LOGITS_LAST, b, &err), BR_ERR_RANGE);
    assert_non_null(strstr(err.message, "token id"));
    assert_int_equal(br_model_prefill(m, s, 1, &slot, t, 6, BR_LOGITS_LAST, b, &err), BR_ERR_RANGE);
    assert_non_null(strstr(err.message, "context"));
    assert_int_equal(br_model_prefill(m, s, 1, &bad_slot, t, 1, BR_LOGITS_LAST, b, &err), BR_ERR_RANGE);
    assert_int_equal(br_model_prefill(m, s, 2, slots2, t, 1, BR_LOGITS_LAST, b, &err), BR_ERR_INVALID_ARG);
    assert_int_equal(br_state_position(s, 0), 3);
    /* the slot continues exactly as if the bad calls never happened */
    br_state *s2;
    assert_int_equal(br_state_create(m, 1, 8, &s2, &err), BR_OK);
    prefill(m, s2, 1, &slot, t, 4, BR_LOGITS_LAST, b);
    step(m, s, 1, &slot, t + 3, a);
    expect_close("after refused calls", "zamba2", a, b, (size_t)V);
    free(a), free(b);
    br_state_free(s), br_state_free(s2);
    br_model_free(m);
}

/* Memory running out inside the pass of slot 0: the call fails, slot 0 is refused until reset, slot 1 is
 * untouched, and after a reset slot 0 gives a fresh sequence's logits exactly. */
static void test_failure_mid_pass_breaks_the_slot(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("failure_mid_pass");
    int V;
    br_model *m = load("bamba", rng, &V);
    const int T = 9;
    int32_t *t = tokens(T, V, &rng);
    float *want = malloc((size_t)V * 4), *got = malloc((size_t)V * 4), *other = malloc((size_t)V * 4);
    br_state *s = NULL, *fresh = NULL;
    br_error err = {0};
    int slot0 = 0, slot1 = 1;
    assert_int_equal(br_state_create(m, 2, 64, &s, &err), BR_OK);
    assert_int_equal(br_state_create(m, 1, 64, &fresh, &err), BR_OK);
    prefill(m, fresh, 1, &slot0, t, T, BR_LOGITS_LAST, want);
    float *want2 = malloc((size_t)V * 4); /* a sequence fed in two calls, as slot 1 is */
    assert_int_equal(br_state_reset(fresh, 0, &err), BR_OK);
    prefill(m, fresh, 1, &slot0, t, 4, BR_LOGITS_LAST, want2);
    prefill(m, fresh, 1, &slot0, t + 4, T - 4, BR_LOGITS_LAST, want2);
    prefill(m, s, 1, &slot1, t, 4, BR_LOGITS_LAST, other);
    prefill(m, s, 1, &slot0, t, 4, BR_LOGITS_LAST, got);
    br_arena_inject_failure(12); /* a dozen scratch allocations into the pass: some layers have run */
    assert_int_equal(br_model_prefill(m, s, 1, &slot0, t + 4, T - 4, BR_LOGITS_LAST, got, &err), BR_ERR_NOMEM);
    assert_int_equal(br_model_step(m, s, 1, &slot0, t, got, &err), BR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "br_state_reset"));
    int both[2] = {1, 0};
    assert_int_equal(br_model_step(m, s, 2, both, t, got, &err), BR_ERR_INVALID_ARG); /* in a batch too */
    assert_int_equal(br_state_position(s, 1), 4);
    prefill(m, s, 1, &slot1, t + 4, T - 4, BR_LOGITS_LAST, other); /* slot 1 goes on as if nothing happened */
    assert_memory_equal(other, want2, (size_t)V * 4);
    assert_int_equal(br_state_reset(s, 0, &err), BR_OK);
    prefill(m, s, 1, &slot0, t, T, BR_LOGITS_LAST, got);
    assert_memory_equal(got, want, (size_t)V * 4);
    free(t), free(want), free(want2), free(got), free(other);
    br_state_free(s);
    br_state_free(fresh);
    br_model_free(m);
}

/* A weight that is not finite: the logits are refused (BR_ERR_NUMERIC) and the slot broken;
 * BRAID_CHECK_FINITE=1 names the first unit that produced one. */
static void test_nonfinite_logits_refused(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("nonfinite_logits");
    int V;
    br_model *m = load("llama", rng, &V);
    br_param *embed = br_weights_find(&m->plan.weights, "embed.weight");
    assert_non_null(embed);
    const int D = (int)embed->shape[1];
    ((float *)embed->data)[(long)5 * D + 3] = NAN; /* token 5 */
    int32_t t[4] = {5, 2, 1, 7}; /* the bad row first: a causal mask multiplies later rows' NaN by 0, still NaN */
    float *lg = malloc((size_t)4 * V * 4);
    br_state *s = NULL;
    br_error err = {0};
    int slot = 0;
    assert_int_equal(br_state_create(m, 1, 16, &s, &err), BR_OK);
    assert_int_equal(br_model_prefill(m, s, 1, &slot, t, 4, BR_LOGITS_ALL, lg, &err), BR_ERR_NUMERIC);
    assert_non_null(strstr(err.message, "token 0 of this call"));
    assert_int_equal(br_model_step(m, s, 1, &slot, t, lg, &err), BR_ERR_INVALID_ARG);
    assert_int_equal(br_state_reset(s, 0, &err), BR_OK);
    setenv("BRAID_CHECK_FINITE", "1", 1);
    assert_int_equal(br_model_prefill(m, s, 1, &slot, t, 4, BR_LOGITS_ALL, lg, &err), BR_ERR_NUMERIC);
    unsetenv("BRAID_CHECK_FINITE");
    assert_non_null(strstr(err.message, "layer 0 unit 0"));
    assert_non_null(strstr(err.message, "at token 0"));
    free(lg);
    br_state_free(s);
    br_model_free(m);
}

/* KV caches grow with the sequence: a cache that doubles while a sequence is in it gives the logits of
 * one that was large from the start, bit for bit; a pool that cannot fit is refused before anything is taken. */
static void test_kv_cache_grows(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("kv_grows");
    int V;
    br_model *m = load("llama", rng, &V);
    const int T = 3000;
    int32_t *t = tokens(T, V, &rng);
    float *a = malloc((size_t)V * 4), *b = malloc((size_t)V * 4);
    br_state *grown = NULL, *big = NULL;
    br_error err = {0};
    int slot = 0;
    assert_int_equal(br_state_create(m, 2, 100000, &grown, &err), BR_OK);
    assert_int_equal(br_state_create(m, 2, 100000, &big, &err), BR_OK);
    const int64_t first = br_state_kv_bytes(grown);
    assert_int_equal(br_state_reserve(big, 4096, &err), BR_OK);
    assert_true(br_state_kv_bytes(big) > first); /* 2048 -> 4096 tokens (a sliding-window layer keeps its ring) */
    prefill(m, grown, 1, &slot, t, 1000, BR_LOGITS_LAST, a);
    prefill(m, big, 1, &slot, t, 1000, BR_LOGITS_LAST, b);
    assert_memory_equal(a, b, (size_t)V * 4);
    prefill(m, grown, 1, &slot, t + 1000, T - 1000, BR_LOGITS_LAST, a); /* grows to 4096, rows moved */
    prefill(m, big, 1, &slot, t + 1000, T - 1000, BR_LOGITS_LAST, b);
    assert_int_equal(br_state_kv_bytes(grown), br_state_kv_bytes(big));
    assert_memory_equal(a, b, (size_t)V * 4);
    int32_t next = 3;
    assert_int_equal(br_model_step(m, grown, 1, &slot, &next, a, &err), BR_OK);
    assert_int_equal(br_model_step(m, big, 1, &slot, &next, b, &err), BR_OK);
    assert_memory_equal(a, b, (size_t)V * 4);
    br_state *huge = NULL;
    assert_int_equal(br_state_create(m, 1 << 30, 100000, &huge, &err), BR_ERR_NOMEM);
    assert_non_null(strstr(err.message, "nothing was allocated"));
    assert_null(huge);
    free(t), free(a), free(b);
    br_state_free(grown);
    br_state_free(big);
    br_model_free(m);
}

/* Weights that do not fit are refused before anything is allocated (Jamba-v0.1: 192 GiB in f32), and a
 * sequence that passes the spec's context is said once. */
static void test_memory_refused_and_context_noticed(void **state) {
    (void)state;
    br_spec *spec = NULL;
    br_model *m = NULL;
    br_error err = {0};
    assert_int_equal(br_spec_load(br_test_path("architectures/jamba-v0.1.yaml"), &spec, &err), BR_OK);
    assert_int_equal(br_model_create_random(spec, 1, &m, &err), BR_ERR_NOMEM);
    assert_non_null(strstr(err.message, "nothing was allocated"));
    assert_null(m);
    const char *yaml = "name: short\nmodel: {d_model: 16, vocab_size: 32, context: 8}\n"
                       "blocks: {a: {type: attention, heads: 2}}\nlayers: [a]\n";
    assert_int_equal(br_spec_parse(yaml, strlen(yaml), "short.yaml", &spec, &err), BR_OK);
    assert_int_equal(br_model_create_random(spec, 1, &m, &err), BR_OK);
    br_state *s = NULL;
    int slot = 0;
    int32_t ids[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    assert_int_equal(br_state_create(m, 1, 32, &s, &err), BR_OK);
    br_test_catch_notices(1);
    assert_int_equal(br_model_prefill(m, s, 1, &slot, ids, 6, BR_LOGITS_NONE, NULL, &err), BR_OK);
    assert_string_equal(br_test_last_notice(), ""); /* within the context */
    assert_int_equal(br_model_prefill(m, s, 1, &slot, ids + 6, 6, BR_LOGITS_NONE, NULL, &err), BR_OK);
    br_test_catch_notices(0);
    assert_non_null(strstr(br_test_last_notice(), "passed the 8 tokens"));
    br_state_free(s);
    br_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_matches_prefill),
        cmocka_unit_test(test_chat_turns),
        cmocka_unit_test(test_batch_matches_single),
        cmocka_unit_test(test_step_batch_invariant),
        cmocka_unit_test(test_bad_calls_leave_state_untouched),
        cmocka_unit_test(test_failure_mid_pass_breaks_the_slot),
        cmocka_unit_test(test_nonfinite_logits_refused),
        cmocka_unit_test(test_kv_cache_grows),
        cmocka_unit_test(test_memory_refused_and_context_noticed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
