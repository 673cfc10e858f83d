/*
 * test_spec.c - spec reading: the grammar (patterns, repeats, symbols,
 * overrides, drop, extends, units taken `from:` another layer) and the errors
 * users see, each checked for the file:line:col and the words that say what
 * was expected and found.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "braid.h"
#include "graph/plan.h"
#include "graph/spec.h"
#include "test_util.h"

static const char *BASE =
    "name: t\n"
    "model: {d_model: 32, vocab_size: 50}\n"
    "blocks:\n"
    "  m: {type: mamba2, heads: 4, head_dim: 16, d_state: 8}\n"
    "  a: {type: attention, heads: 4, kv_heads: 2}\n"
    "  f: {type: mlp, hidden: 64}\n";

static br_spec *parse_ok(const char *text) {
    br_spec *spec = NULL;
    br_error err = {0};
    br_status st = br_spec_parse(text, strlen(text), "t.yaml", &spec, &err);
    if (st != BR_OK) fprintf(stderr, "unexpected error: %s\n", err.message);
    assert_int_equal(st, BR_OK);
    return spec;
}

/* Parses text that must fail; checks the status and that each needle occurs in the message. */
static void parse_fails(const char *text, br_status want, const char *needle1, const char *needle2) {
    br_spec *spec = NULL;
    br_error err = {0};
    br_status st = br_spec_parse(text, strlen(text), "t.yaml", &spec, &err);
    if (st == BR_OK || !strstr(err.message, needle1) || (needle2 && !strstr(err.message, needle2)))
        fprintf(stderr, "message was: %s\n", err.message);
    assert_int_equal(st, want);
    assert_null(spec);
    assert_non_null(strstr(err.message, needle1));
    if (needle2) assert_non_null(strstr(err.message, needle2));
}

static char *with_base(const char *rest) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", BASE, rest);
    return buf;
}

static void test_repeat_and_symbols(void **state) {
    (void)state;
    br_spec *s = parse_ok(with_base("symbols: {M: [m, f], A: [a, f]}\n"
                                    "layers:\n"
                                    "  - {repeat: 3, pattern: 'MMA'}\n"
                                    "  - {repeat: 2, layers: [m, [a, f]]}\n"));
    assert_int_equal(s->n_layers, 13);
    assert_int_equal(s->layers[2].n_units, 2);
    assert_string_equal(s->blocks[s->layers[2].units[0].blocks[0]].name, "a");
    assert_string_equal(s->blocks[s->layers[9].units[0].blocks[0]].name, "m");
    assert_int_equal(s->layers[9].n_units, 1);
    assert_int_equal(s->layers[10].n_units, 2);
    br_spec_free(s);
}

static void test_pattern_string_overrides_drop(void **state) {
    (void)state;
    br_spec *s = parse_ok(with_base("symbols: {M: m, '*': a, '-': f}\n"
                                    "layers: 'M-M*M-'\n"
                                    "overrides: {0: '*', 5: [m, f]}\n"
                                    "drop: [1]\n"));
    assert_int_equal(s->n_layers, 5);
    assert_string_equal(s->blocks[s->layers[0].units[0].blocks[0]].name, "a");
    assert_string_equal(s->blocks[s->layers[1].units[0].blocks[0]].name, "m"); /* old layer 2 */
    assert_int_equal(s->layers[4].n_units, 2);
    br_spec_free(s);
}

static void test_units_parallel_and_flow(void **state) {
    (void)state;
    br_spec *s = parse_ok(
        "model: {d_model: 16, vocab_size: 20}\n"
        "blocks:\n"
        "  sa: {type: attention, heads: 2, shared: true}\n"
        "  sf: {type: mlp, hidden: 32, shared: true}\n"
        "  p: {type: linear}\n"
        "  m: {type: mamba, d_state: 4}\n"
        "  a: {type: attention, heads: 2, in_scale: 0.5, out_scale: 2}\n"
        "symbols:\n"
        "  h: [{block: sa, input: concat_embedding, combine: pass},\n"
        "      {block: sf, input: previous, combine: pass, adapters: {rank: 4, targets: [gate_up_proj]}},\n"
        "      {block: p, input: previous, norm: none, combine: inject}, m]\n"
        "layers: [m, h, {parallel: [a, m]}, h]\n");
    assert_int_equal(s->n_layers, 4);
    const br_block_def *sa = &s->blocks[br_spec_block_index(s, "sa")];
    assert_int_equal(sa->in_dim, 32); /* fed [x, e] */
    assert_int_equal(sa->uses, 2);
    assert_int_equal(s->layers[2].units[0].n_blocks, 2);
    assert_int_equal(s->layers[1].units[1].adapters.rank, 4);
    br_spec_free(s);
}

static void test_error_unknown_type(void **state) {
    (void)state;
    parse_fails("model: {d_model: 8, vocab_size: 4}\nblocks:\n  x: {type: mamba3}\nlayers: [x]\n", BR_ERR_SPEC,
                "t.yaml:3:", "unknown block type 'mamba3' (did you mean 'mamba'");
}

static void test_error_undefined_block(void **state) {
    (void)state;
    parse_fails(with_base("layers: [m, f, atn]\n"), BR_ERR_SPEC, "t.yaml:7:", "'atn' is not a defined block (did you mean 'a'");
    parse_fails(with_base("symbols: {M: m}\nlayers: 'MMX'\n"), BR_ERR_SPEC, "t.yaml:8:", "'X'");
}

static void test_error_heads_do_not_divide(void **state) {
    (void)state;
    parse_fails("model: {d_model: 32, vocab_size: 4}\nblocks:\n  a: {type: attention, heads: 6, kv_heads: 4}\nlayers: [a]\n",
                BR_ERR_SPEC, "t.yaml:3:3: block 'a' (attention)", "heads (6) must be a multiple of kv_heads (4)");
    parse_fails("model: {d_model: 30, vocab_size: 4}\nblocks:\n  a: {type: attention, heads: 4}\nlayers: [a]\n",
                BR_ERR_SPEC, "block 'a'", "not divisible by heads (4)");
    parse_fails("model: {d_model: 32, vocab_size: 4}\nblocks:\n  m: {type: mamba2, heads: 6, groups: 4}\nlayers: [m]\n",
                BR_ERR_SPEC, "block 'm' (mamba2)", "multiple of groups");
}

static void test_error_shared_width(void **state) {
    (void)state;
    parse_fails("model: {d_model: 16, vocab_size: 4}\nblocks:\n  s: {type: mlp, hidden: 8, shared: true}\n"
                "layers: [s, {block: s, input: concat_embedding}]\n",
                BR_ERR_SPEC, "t.yaml:3:3: block 's'", "shared block used with mismatched width");
}

static void test_error_negative_and_kinds(void **state) {
    (void)state;
    parse_fails(with_base("  g: {type: mlp, hidden: -5}\nlayers: [g]\n"), BR_ERR_SPEC, "t.yaml:7:", "non-negative size, found -5");
    parse_fails("model: {d_model: -3, vocab_size: 4}\nblocks: {}\nlayers: []\n", BR_ERR_SPEC, "t.yaml:1:", "found -3");
    parse_fails(with_base("  g: {type: mlp, hidden: lots}\nlayers: [g]\n"), BR_ERR_SPEC, "t.yaml:7:", "expected an integer, found 'lots'");
    parse_fails(with_base("  g: {type: mlp, hiden: 4}\nlayers: [g]\n"), BR_ERR_SPEC, "t.yaml:7:", "did you mean 'hidden'");
    parse_fails(with_base("  g: {type: mlp, hidden: 4, activation: swish}\nlayers: [g]\n"), BR_ERR_SPEC,
                "t.yaml:7:", "expected one of [silu, gelu");
    parse_fails(with_base("layers: [m]\nmodle: {}\n"), BR_ERR_SPEC, "t.yaml:8:1", "did you mean 'model'");
}

static void test_error_flow(void **state) {
    (void)state;
    parse_fails(with_base("layers: [[{block: f, combine: pass}, m]]\n"), BR_ERR_SPEC, "combine 'pass'", "'previous'");
    parse_fails(with_base("layers: [[{block: f, input: previous}]]\n"), BR_ERR_SPEC, "input 'previous'", NULL);
    parse_fails(with_base("layers: [m, {block: f, combine: inject}]\n"), BR_ERR_SPEC, "combine 'inject' needs a following unit", NULL);
    parse_fails(with_base("layers: [[{block: m, adapters: {rank: 2, targets: [q_proj]}}]]\n"), BR_ERR_SPEC,
                "adapter target 'q_proj'", "block 'm'");
}

static void test_error_yaml_syntax(void **state) {
    (void)state;
    parse_fails("model: {d_model: 8\nblocks: x\n", BR_ERR_PARSE, "t.yaml:", "YAML syntax error");
    parse_fails("model: {d_model: 8, d_model: 9}\n", BR_ERR_PARSE, "duplicate key 'd_model'", NULL);
    parse_fails("- just\n- a list\n", BR_ERR_SPEC, "mapping at the top level", NULL);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Parsers bound their work: aliases seven levels deep (10^7 nodes once expanded) are refused, and a
 * duplicate among 100,000 keys is found (in linear time). */
static void test_error_bounded_work(void **state) {
    (void)state;
    char laughs[4096] = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int l = 1; l <= 7; l++) {
        char line[256];
        snprintf(line, sizeof line, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", l, l,
                 l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1);
        strcat(laughs, line);
    }
    parse_fails(laughs, BR_ERR_PARSE, "more than 1000000 nodes", "aliases");
    const int n = 100000;
    char *keys = malloc((size_t)n * 16 + 64), *p = keys;
    p += sprintf(p, "extra:\n");
    for (int i = 0; i < n; i++) p += sprintf(p, "  k%d: 1\n", i);
    sprintf(p, "  k5: 2\n");
    parse_fails(keys, BR_ERR_PARSE, "duplicate key 'k5'", "first at line 7)");
    free(keys);
}

static void test_extends(void **state) {
    (void)state;
    char dir[] = "/tmp/braid-spec-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char base[256], child[256], loop[256];
    snprintf(base, sizeof base, "%s/base.yaml", dir);
    snprintf(child, sizeof child, "%s/child.yaml", dir);
    snprintf(loop, sizeof loop, "%s/loop.yaml", dir);
    char text[4096];
    snprintf(text, sizeof text, "%slayers: [m, f, a]\n", BASE);
    write_file(base, text);
    write_file(child, "extends: base.yaml\nname: child\nblocks:\n  f: {hidden: 96}\noverrides: {1: a}\n");
    write_file(loop, "extends: loop.yaml\n");
    br_spec *s = NULL;
    br_error err = {0};
    assert_int_equal(br_spec_load(child, &s, &err), BR_OK);
    assert_string_equal(s->name, "child");
    assert_int_equal(s->n_layers, 3);
    assert_string_equal(s->blocks[s->layers[1].units[0].blocks[0]].name, "a");
    assert_int_equal(s->blocks[br_spec_block_index(s, "f")].uses, 0);
    br_spec_free(s);
    s = NULL;
    assert_int_equal(br_spec_load(loop, &s, &err), BR_ERR_SPEC);
    assert_non_null(strstr(err.message, "deeper than 8"));
    write_file(child, "extends: missing.yaml\n");
    assert_int_equal(br_spec_load(child, &s, &err), BR_ERR_IO);
    assert_non_null(strstr(err.message, "missing.yaml"));
    assert_non_null(strstr(err.message, "child.yaml:1:10"));
    unlink(base);
    unlink(child);
    unlink(loop);
    rmdir(dir);
}

/* `from: [layer, unit]` takes a unit of the expanded list with its tensors: one instance (one set of weights)
 * runs at both depths, each invocation with its own state. */
static void test_unit_from_another_layer(void **state) {
    (void)state;
    br_spec *s = parse_ok(with_base("symbols: {M: [m, f], A: [a, f]}\n"
                                    "layers: 'MAMA'\n"
                                    "overrides: {1: [{from: [2, 0]}, {from: [1, 1]}], 3: [{from: [3, 1]}], 2: A}\n"));
    assert_int_equal(s->n_layers, 4);
    const br_unit_def *u = &s->layers[1].units[0];
    assert_string_equal(s->blocks[u->blocks[0]].name, "m"); /* layer 2 as `layers:` made it, before its override */
    assert_int_equal(u->origin, 2);
    assert_int_equal(u->origin_unit, 0);
    assert_int_equal(s->layers[1].units[1].origin, 1);
    assert_int_equal(s->layers[3].n_units, 1); /* the attention unit removed, the MLP kept */
    assert_string_equal(s->blocks[s->layers[3].units[0].blocks[0]].name, "f");
    assert_int_equal(s->layers[3].units[0].origin_unit, 1);
    assert_string_equal(s->blocks[s->layers[2].units[0].blocks[0]].name, "a");
    br_plan plan;
    br_error err = {0};
    assert_int_equal(br_plan_build(s, &plan, &err), BR_OK);
    assert_non_null(br_weights_find(&plan.weights, "layers.3.1.f.down_proj.weight"));
    assert_non_null(br_weights_find(&plan.weights, "layers.2.0.m.in_proj.weight"));
    assert_non_null(br_weights_find(&plan.weights, "layers.2.0.a.q_proj.weight"));
    assert_null(br_weights_find(&plan.weights, "layers.1.0.a.q_proj.weight"));
    const br_plan_unit *l1 = &plan.units[2], *l2 = &plan.units[4];
    assert_int_equal(l1->layer, 1);
    assert_true(l1->blocks[0] != plan.units[0].blocks[0]); /* layer 2's Mamba, not layer 0's */
    assert_string_equal(plan.inst_prefix[l1->blocks[0] - plan.insts], "layers.2.0.m.");
    assert_int_equal(l2->layer, 2);
    br_plan_figures f;
    br_plan_figures_compute(&plan, BR_F32, &f);
    assert_int_equal(f.n_recurrent, 2); /* layers 0 and 1 run Mamba, each with its own state */
    br_plan_free(&plan);
    br_model *m = NULL;
    assert_int_equal(br_model_create_random(s, 7, &m, &err), BR_OK); /* takes s */
    br_state *st = NULL;
    float logits[2 * 50];
    int slot = 0;
    const int32_t ids[2] = {3, 4};
    assert_int_equal(br_state_create(m, 1, 8, &st, &err), BR_OK);
    assert_int_equal(br_model_prefill(m, st, 1, &slot, ids, 2, BR_LOGITS_ALL, logits, &err), BR_OK);
    br_state_free(st);
    br_model_free(m);
    /* a unit taken twice binds one set of tensors */
    s = parse_ok(with_base("layers: [m, f, f]\noverrides: {2: {from: [0, 0]}, 1: {from: [0, 0]}}\n"));
    assert_int_equal(br_plan_build(s, &plan, &err), BR_OK);
    assert_ptr_equal(plan.units[1].blocks[0], plan.units[0].blocks[0]);
    assert_ptr_equal(plan.units[2].blocks[0], plan.units[0].blocks[0]);
    assert_int_equal(plan.n_insts, 1);
    br_plan_figures_compute(&plan, BR_F32, &f);
    assert_int_equal(f.n_recurrent, 3);
    br_plan_free(&plan);
    br_spec_free(s);
}

static void test_error_unit_from(void **state) {
    (void)state;
    parse_fails(with_base("layers: [m, {from: [0, 0]}]\n"), BR_ERR_SPEC, "t.yaml:", "allowed only in 'overrides'");
    parse_fails(with_base("layers: [m, f]\noverrides: {1: {from: [2, 0]}}\n"), BR_ERR_SPEC, "t.yaml:8:",
                "unit 'from': layer index");
    parse_fails(with_base("layers: [m, f]\noverrides: {1: {from: [0, 1]}}\n"), BR_ERR_SPEC,
                "layer 0 ('m') has 1 unit, so no unit 1", NULL);
    parse_fails(with_base("layers: [m, f]\noverrides: {1: {from: [0, 0], norm: none}}\n"), BR_ERR_SPEC,
                "unit 'from' stands alone", NULL);
    parse_fails(with_base("layers: [m, f]\noverrides: {1: {from: 0}}\n"), BR_ERR_SPEC,
                "expected [layer, unit], found a scalar", NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repeat_and_symbols),      cmocka_unit_test(test_pattern_string_overrides_drop),
        cmocka_unit_test(test_units_parallel_and_flow), cmocka_unit_test(test_error_unknown_type),
        cmocka_unit_test(test_error_undefined_block),   cmocka_unit_test(test_error_heads_do_not_divide),
        cmocka_unit_test(test_error_shared_width),      cmocka_unit_test(test_error_negative_and_kinds),
        cmocka_unit_test(test_error_flow),              cmocka_unit_test(test_error_yaml_syntax),
        cmocka_unit_test(test_extends),                 cmocka_unit_test(test_error_bounded_work),
        cmocka_unit_test(test_unit_from_another_layer), cmocka_unit_test(test_error_unit_from),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
