/*
 * cmd_plan.c - `braid plan SPEC.yaml [--context N] [--batch B] [--dtype T] [--json]`
 *
 * Unrolls a spec (no weights are allocated, so published sizes plan
 * instantly) and prints its layer table, parameter counts (total and
 * active per token for MoE), recurrent state per sequence (conv and SSM
 * separately), KV cache per token and at the context, and the total at the
 * batch size.  States and caches are costed in --dtype (default bf16).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "graph/plan.h"
#include "graph/spec.h"

static void usage(FILE *out) {
    fprintf(out, "usage: braid plan SPEC.yaml [--context N] [--batch B] [--dtype f32|bf16|f16] [--json]\n"
                 "  --context N   tokens per sequence for the KV-cache figures (default: the spec's context)\n"
                 "  --batch B     sequences held at once (default 1)\n"
                 "  --dtype T     element type of states and caches (default bf16)\n"
                 "  --json        print the figures as one JSON object\n");
}

static void print_table(const br_plan *plan) {
    const struct br_spec *spec = plan->spec;
    printf("%-5s  %-48s %s\n", "layer", "units (block:type)", "notes");
    int k = 0;
    for (int l = 0; l < spec->n_layers; l++) {
        char units[256] = "", notes[128] = "";
        size_t len = 0, nl = 0;
        for (int u = 0; u < spec->layers[l].n_units; u++, k++) {
            const br_plan_unit *pu = &plan->units[k];
            len += (size_t)snprintf(units + len, sizeof units - len, "%s", u ? " + " : "");
            if (pu->def->n_blocks > 1) len += (size_t)snprintf(units + len, sizeof units - len, "(");
            for (int b = 0; b < pu->def->n_blocks && len < sizeof units; b++) {
                const br_block_def *d = pu->blocks[b]->def;
                len += (size_t)snprintf(units + len, sizeof units - len, "%s%s:%s", b ? " || " : "", d->name, d->type->name);
                if (d->shared && nl < sizeof notes)
                    nl += (size_t)snprintf(notes + nl, sizeof notes - nl, "%sshared %s", nl ? ", " : "", d->name);
            }
            if (pu->def->n_blocks > 1 && len < sizeof units) len += (size_t)snprintf(units + len, sizeof units - len, ")");
            if ((pu->def->origin != spec->layers[l].origin || pu->def->origin_unit != u) && nl < sizeof notes)
                nl += (size_t)snprintf(notes + nl, sizeof notes - nl, "%sunit %d from layer %d unit %d", nl ? ", " : "",
                                       u, pu->def->origin, pu->def->origin_unit);
            if (pu->def->input == BR_INPUT_CONCAT_EMBEDDING && nl < sizeof notes)
                nl += (size_t)snprintf(notes + nl, sizeof notes - nl, "%sreads [x, emb]", nl ? ", " : "");
            if (len >= sizeof units) len = sizeof units - 1;
            if (nl >= sizeof notes) nl = sizeof notes - 1;
        }
        printf("%5d  %-48s %s\n", l, units, notes);
    }
}

int cmd_plan(int argc, char **argv) {
    const char *path = NULL, *dtype_name = "bf16";
    long long context = 0, batch = 1;
    int json = 0, bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout), 0;
        if (cli_opt_long(argc, argv, &i, "--context", 1, 1LL << 40, &context, &bad)) continue;
        if (cli_opt_long(argc, argv, &i, "--batch", 1, 1 << 24, &batch, &bad)) continue;
        if (cli_opt_str(argc, argv, &i, "--dtype", &dtype_name, &bad)) continue;
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (argv[i][0] == '-') return cli_usage_error("plan", "unknown option '%s'", argv[i]);
        else if (!path) path = argv[i];
        else return cli_usage_error("plan", "more than one spec given ('%s')", argv[i]);
    }
    if (bad) return 2;
    if (!path) return cli_usage_error("plan", "no spec given");
    int dtype = br_dtype_parse(dtype_name);
    if (dtype < 0) return cli_usage_error("plan", "unknown dtype '%s' (f32, bf16, f16)", dtype_name);

    br_error err = {0};
    br_spec *spec = NULL;
    if (br_spec_load(path, &spec, &err) != BR_OK) return cli_fail(&err);
    br_plan plan;
    if (br_plan_build(spec, &plan, &err) != BR_OK) {
        br_spec_free(spec);
        return cli_fail(&err);
    }
    if (!context) context = spec->context;
    br_plan_figures f;
    br_plan_figures_compute(&plan, (br_dtype)dtype, &f);
    const int64_t state = f.conv_state_bytes + f.ssm_state_bytes;
    const int64_t kv_seq = br_plan_kv_bytes(&plan, (br_dtype)dtype, context);
    int64_t total, kv_total, state_total;
    if (kv_seq < 0 || __builtin_mul_overflow(batch, kv_seq, &kv_total) ||
        __builtin_mul_overflow(batch, state, &state_total) || __builtin_add_overflow(kv_total, state_total, &total)) {
        fprintf(stderr, "braid plan: %lld sequences of %lld tokens need more than 8 EiB of state and KV cache; "
                        "nothing can hold that\n", batch, context);
        br_plan_free(&plan);
        br_spec_free(spec);
        return 2;
    }
    if (json) {
        json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, "
                              "s:I, s:I}",
                              "name", spec->name, "n_layers", spec->n_layers, "d_model", spec->d_model, "vocab_size",
                              spec->vocab_size, "dtype", br_dtype_name((br_dtype)dtype), "context", (json_int_t)context,
                              "batch", (json_int_t)batch, "params_total", (json_int_t)f.params_total, "params_active",
                              (json_int_t)f.params_active, "params_embedding", (json_int_t)f.params_embedding,
                              "n_attention", f.n_attention, "n_recurrent", f.n_recurrent, "conv_state_bytes_per_seq",
                              (json_int_t)f.conv_state_bytes, "ssm_state_bytes_per_seq", (json_int_t)f.ssm_state_bytes,
                              "state_bytes_per_seq", (json_int_t)state, "kv_bytes_per_token",
                              (json_int_t)f.kv_bytes_per_token, "kv_bytes_per_seq", (json_int_t)kv_seq, "kv_bytes_total",
                              (json_int_t)kv_total, "state_bytes_total", (json_int_t)state_total, "cache_bytes_total",
                              (json_int_t)total);
        json_dumpf(o, stdout, JSON_PRESERVE_ORDER);
        printf("\n");
        json_decref(o);
    } else {
        char a[32], b[32], c[32], d[32], e[32];
        printf("%s: %d layers, d_model %d, vocab %d\n\n", spec->name, spec->n_layers, spec->d_model, spec->vocab_size);
        print_table(&plan);
        cli_count(f.params_total, a, sizeof a);
        cli_count(f.params_active, b, sizeof b);
        cli_count(f.params_embedding, c, sizeof c);
        printf("\nparameters       %s total (%lld), %s active per token, %s in embeddings\n", a,
               (long long)f.params_total, b, c);
        cli_bytes(f.conv_state_bytes, a, sizeof a);
        cli_bytes(f.ssm_state_bytes, b, sizeof b);
        cli_bytes(state, c, sizeof c);
        printf("recurrent state  %s per sequence (conv %s + ssm %s) over %d Mamba invocations [%s]\n", c, a, b,
               f.n_recurrent, br_dtype_name((br_dtype)dtype));
        cli_bytes(f.kv_bytes_per_token, a, sizeof a);
        cli_bytes(kv_seq, b, sizeof b);
        printf("KV cache         %s per token over %d attention invocations; %s at context %lld\n", a, f.n_attention,
               b, context);
        cli_bytes(state_total, c, sizeof c);
        cli_bytes(kv_total, d, sizeof d);
        cli_bytes(total, e, sizeof e);
        printf("total at batch %lld: %s (state %s + KV %s)\n", batch, e, c, d);
    }
    br_plan_free(&plan);
    br_spec_free(spec);
    return 0;
}
