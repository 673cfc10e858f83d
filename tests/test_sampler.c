/*
 * test_sampler.c - next-token choice: greedy is the argmax; a seed fixes a
 * sampled sequence; top-k 1, a tiny top-p and a min-p near 1 all collapse
 * to the argmax; sampled frequencies follow softmax(logits / T); the
 * repetition penalty pushes seen tokens down; bad settings are refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "braid.h"
#include "test_util.h"

#define V 50

static br_sampler *make(br_sampler_params p) {
    br_sampler *s = NULL;
    br_error err = {0};
    assert_int_equal(br_sampler_new(&p, V, &s, &err), BR_OK);
    return s;
}

static void random_logits(float *l, uint64_t *rng) { br_test_fill_uniform(l, V, -3, 3, rng); }

static int argmax(const float *l) {
    int b = 0;
    for (int i = 1; i < V; i++)
        if (l[i] > l[b]) b = i;
    return b;
}

static void test_greedy_and_collapsing_filters(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("sampler_greedy");
    float l[V];
    br_sampler_params p = br_sampler_defaults();
    br_sampler *greedy = make(p);
    p.temperature = 1.0;
    p.top_k = 1;
    br_sampler *k1 = make(p);
    p.top_k = 0;
    p.top_p = 1e-6;
    br_sampler *tiny_p = make(p);
    p.top_p = 1.0;
    p.min_p = 0.999;
    br_sampler *high_min_p = make(p);
    for (int trial = 0; trial < 100; trial++) {
        random_logits(l, &rng);
        int want = argmax(l);
        l[want] += 0.5f; /* a clear winner: min_p 0.999 must then keep it alone */
        assert_int_equal(br_sampler_pick(greedy, l, NULL, 0), want);
        assert_int_equal(br_sampler_pick(k1, l, NULL, 0), want);
        assert_int_equal(br_sampler_pick(tiny_p, l, NULL, 0), want);
        assert_int_equal(br_sampler_pick(high_min_p, l, NULL, 0), want);
    }
    br_sampler_free(greedy), br_sampler_free(k1), br_sampler_free(tiny_p), br_sampler_free(high_min_p);
}

static void test_seed_reproduces_and_frequencies_follow_softmax(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("sampler_freq");
    float l[V];
    random_logits(l, &rng);
    br_sampler_params p = br_sampler_defaults();
    p.temperature = 0.7;
    p.seed = 42;
    br_sampler *a = make(p), *b = make(p);
    int count[V] = {0}, N = 20000;
    for (int i = 0; i < N; i++) {
        int x = br_sampler_pick(a, l, NULL, 0);
        assert_int_equal(x, br_sampler_pick(b, l, NULL, 0)); /* same seed, same stream */
        count[x]++;
    }
    double mx = -INFINITY, z = 0;
    for (int i = 0; i < V; i++) mx = l[i] / 0.7 > mx ? l[i] / 0.7 : mx;
    for (int i = 0; i < V; i++) z += exp(l[i] / 0.7 - mx);
    for (int i = 0; i < V; i++) {
        double pr = exp(l[i] / 0.7 - mx) / z, sd = sqrt(N * pr * (1 - pr)) + 1;
        assert_true(fabs(count[i] - N * pr) < 5 * sd);
    }
    br_sampler_free(a), br_sampler_free(b);
}

static void test_top_k_restricts(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("sampler_topk");
    float l[V];
    random_logits(l, &rng);
    br_sampler_params p = br_sampler_defaults();
    p.temperature = 5.0; /* nearly uniform, so anything outside the top 3 would show up */
    p.top_k = 3;
    br_sampler *s = make(p);
    int order[V];
    for (int i = 0; i < V; i++) order[i] = i;
    for (int i = 0; i < 3; i++) /* partial selection sort: the 3 largest first */
        for (int j = i + 1; j < V; j++)
            if (l[order[j]] > l[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    for (int i = 0; i < 2000; i++) {
        int x = br_sampler_pick(s, l, NULL, 0);
        assert_true(x == order[0] || x == order[1] || x == order[2]);
    }
    br_sampler_free(s);
}

static void test_repetition_penalty(void **state) {
    (void)state;
    float l[V];
    for (int i = 0; i < V; i++) l[i] = 0.0f;
    l[7] = 2.0f;
    l[9] = 1.5f;
    br_sampler_params p = br_sampler_defaults();
    p.repetition_penalty = 2.0; /* 2.0 / 2 = 1.0 < 1.5 */
    br_sampler *s = make(p);
    int32_t hist[3] = {7, 7, 3};
    assert_int_equal(br_sampler_pick(s, l, NULL, 0), 7);
    assert_int_equal(br_sampler_pick(s, l, hist, 3), 9); /* applied once, not per occurrence */
    br_sampler_free(s);
}

static void test_bad_settings(void **state) {
    (void)state;
    br_error err = {0};
    br_sampler *s = NULL;
    br_sampler_params p = br_sampler_defaults();
    p.top_p = 0.0;
    assert_int_equal(br_sampler_new(&p, V, &s, &err), BR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "top_p"));
    p = br_sampler_defaults();
    p.temperature = -1;
    assert_int_equal(br_sampler_new(&p, V, &s, &err), BR_ERR_INVALID_ARG);
    assert_null(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_and_collapsing_filters),
        cmocka_unit_test(test_seed_reproduces_and_frequencies_follow_softmax),
        cmocka_unit_test(test_top_k_restricts),
        cmocka_unit_test(test_repetition_penalty),
        cmocka_unit_test(test_bad_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
