/*
 * test_costs.c - the roofline figures of graph/costs.h against sums taken
 * straight from the declared tensors, on a spec with every case the model
 * distinguishes: an untied embedding (one row a step), a block shared at two
 * depths (read at each), routed experts (read by share), windowed attention
 * (KV read and attention FLOPs capped by the window).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "braid.h"
#include "graph/costs.h"
#include "graph/plan.h"
#include "graph/spec.h"
#include "test_util.h"

static const char *yaml = "name: costs\n"
                          "model: {d_model: 16, vocab_size: 32, tie_embeddings: false}\n"
                          "blocks:\n"
                          "  attn: {type: attention, heads: 2, window: 8}\n"
                          "  mlp: {type: mlp, hidden: 32, shared: true}\n"
                          "  moe: {type: moe, experts: 4, top_k: 1, hidden: 8}\n"
                          "symbols: {a: [attn, mlp], e: [attn, moe]}\n"
                          "layers: 'aae'\n";

static int has(const char *name, const char *part) { return strstr(name, part) != NULL; }

static void test_costs_follow_the_tensors(void **state) {
    (void)state;
    br_spec *spec = NULL;
    br_error err = {0};
    assert_int_equal(br_spec_parse(yaml, strlen(yaml), "costs.yaml", &spec, &err), BR_OK);
    br_plan plan;
    assert_int_equal(br_plan_build(spec, &plan, &err), BR_OK);
    double all = 0, embed = 0, shared = 0, experts = 0, blocks = 0, shared_params = 0;
    for (size_t i = 0; i < plan.weights.n; i++) {
        const br_param *p = &plan.weights.items[i];
        const double bytes = 4.0 * (double)p->numel; /* f32 on the host */
        all += bytes;
        if (!strcmp(p->name, "embed.weight")) embed = bytes;
        if (has(p->name, "shared.mlp.")) shared += bytes;
        if (has(p->name, "experts.")) experts += bytes;
        if (has(p->name, "pre_norm")) continue; /* a shared block's pre-norm belongs to its units, not to the block */
        if (has(p->name, "shared.mlp.")) shared_params += (double)p->numel;
        if (has(p->name, ".attn.") || has(p->name, ".moe.") || has(p->name, "shared.mlp.")) blocks += (double)p->numel;
    }
    br_plan_costs c;
    br_plan_costs_compute(&plan, BR_F32, &c);
    /* one row of the untied embedding a step; the shared MLP read at both depths; experts apart */
    assert_true(fabs(c.dense_bytes - (all - embed + shared - experts)) < 1);
    assert_true(fabs(c.expert_bytes - experts) < 1);
    assert_true(fabs(c.row_bytes - 16 * 4) < 1e-9);
    assert_true(fabs(c.routed_share - 0.25) < 1e-12);
    assert_int_equal(c.n_attention, 3);
    assert_true(fabs(c.attn_flops[0] - 4.0 * 2 * 8) < 1e-9); /* 2 heads of 8 */
    assert_true(fabs(c.kv_bytes_per_token[0] - 2 * 2 * 8 * 4) < 1e-9);
    /* a step at context 100 reads the 8-token windows only; batch 3 hits 1 - (3/4)^3 of the experts */
    const double kv = 3 * 128.0 * 8;
    assert_true(fabs(br_costs_decode_bytes(&c, 1, 100) - (c.dense_bytes + 0.25 * experts + 64 + kv)) < 1e-6);
    assert_true(fabs(br_costs_decode_bytes(&c, 3, 100) -
                     (c.dense_bytes + (1 - pow(0.75, 3)) * experts + 3 * (64 + kv))) < 1e-6);
    /* prefill: 2 FLOPs per active block parameter (the MLP twice, a quarter of the experts) plus attention */
    const double active = blocks + shared_params - 0.75 * experts / 4;
    assert_true(fabs(c.matrix_flops - 2 * active) < 1e-6);
    assert_true(fabs(br_costs_prefill_flops(&c, 4) - (2 * active + 3 * 64 * 2.5)) < 1e-6); /* inside the window */
    const double seen = 8 - 8.0 * 7 / (2 * 1000);                                            /* past it */
    assert_true(fabs(br_costs_prefill_flops(&c, 1000) - (2 * active + 3 * 64 * seen)) < 1e-6);
    br_plan_free(&plan);
    br_spec_free(spec);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_costs_follow_the_tensors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
