/*
 * cmd_bench.c - `braid bench SPEC.yaml|MODEL_DIR [--gpu N] ...`: throughput
 * beside the machine's own limits.
 *
 * First the device's ceilings are measured in the same run (br_dev_measure:
 * copy bandwidth, matrix-product rate).  Prefill: one sequence of L tokens
 * per listed length, timed after a warm-up pass (best of --repeat); its time
 * is also the time to the first token.  Achieved FLOP/s count 2 per active
 * matrix parameter and attention's per attended token (graph/costs.h), and
 * are given as a share of the matrix-product ceiling.  Decode: B sequences
 * each prefilled with --context tokens, then --decode steps of all B at
 * once; tokens/s counts every sequence, and the bytes a step must move
 * (weights it touches, recurrent states read and written, KV read) over
 * its time are given as a share of the copy ceiling.  Memory: weights,
 * recurrent state and KV cache of each configuration, and the most device
 * memory in use after any pass.  --json FILE writes the same figures.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "graph/costs.h"
#include "graph/model.h"
#include "graph/state.h"

static void usage(FILE *out) {
    fprintf(out, "usage: braid bench SPEC.yaml|MODEL_DIR [--gpu N] [--weights bf16|f32] [--prefill L1,L2,..]\n"
                 "                   [--decode STEPS] [--batches B1,B2,..] [--context N] [--repeat R] [--json FILE]\n"
                 "  --prefill   prompt lengths to time (default 512,2048)\n"
                 "  --decode    decode steps per batch size (default 64)\n"
                 "  --batches   decode batch sizes (default 1,16,64)\n"
                 "  --context   tokens each sequence holds before decoding (default 16)\n"
                 "  --repeat    timed repetitions; the best is reported (default 3)\n"
                 "  --json      also write the figures as JSON to FILE\n"
                 "  --no-ceilings  skip measuring the device's ceilings (no roofline shares; for profiling)\n"
                 CLI_MODEL_OPTS_HELP);
}

static int32_t *random_tokens(long n, int V, uint64_t *r) {
    int32_t *t = malloc((size_t)n * sizeof *t);
    for (long i = 0; t && i < n; i++) {
        *r ^= *r << 13, *r ^= *r >> 7, *r ^= *r << 17;
        t[i] = (int32_t)(*r % (uint64_t)V);
    }
    return t;
}

typedef struct bench_run {
    const br_model *m;
    br_plan_costs costs;
    br_dev_ceilings ceil;
    size_t peak_used;
    json_t *prefill, *decode;
} bench_run;

static void note_memory(bench_run *b) {
    size_t used, total;
    br_dev_memory(b->m->dev, &used, &total);
    if (used > b->peak_used) b->peak_used = used;
}

static int bench_prefill(bench_run *b, br_model *m, int L, int repeat) {
    br_error err = {0};
    br_state *s = NULL;
    uint64_t r = 7;
    const int V = br_model_vocab_size(m);
    int32_t *toks = random_tokens(L, V, &r);
    float *lg = malloc((size_t)V * sizeof(float));
    int slot = 0, rc = 0;
    double best = 1e30;
    if (!toks || !lg || br_state_create(m, 1, L, &s, &err) != BR_OK) rc = cli_fail(&err);
    for (int k = -1; k < repeat && !rc; k++) { /* k = -1: warm-up */
        double t0 = cli_now();
        if (br_state_reset(s, 0, &err) != BR_OK ||
            br_model_prefill(m, s, 1, &slot, toks, L, BR_LOGITS_LAST, lg, &err) != BR_OK) {
            rc = cli_fail(&err);
            break;
        }
        double dt = cli_now() - t0;
        if (k >= 0 && dt < best) best = dt;
    }
    if (!rc) {
        note_memory(b);
        const double flops = br_costs_prefill_flops(&b->costs, L) * L / best;
        const double share = b->ceil.matmul_flops_per_s > 0 ? flops / b->ceil.matmul_flops_per_s : 0;
        printf("  prefill %6d tokens   ttft %9.2f ms   %10.1f tok/s   %7.1f TFLOP/s", L, 1e3 * best, L / best, flops / 1e12);
        if (share > 0) printf(" = %5.1f%% of the matrix ceiling", 100 * share);
        printf("\n");
        json_array_append_new(b->prefill, json_pack("{s:i, s:f, s:f, s:f, s:f}", "tokens", L, "ttft_ms", 1e3 * best,
                                                    "tokens_per_s", L / best, "tflops", flops / 1e12,
                                                    "roofline_fraction", share));
    }
    br_state_free(s);
    free(toks);
    free(lg);
    return rc;
}

static int bench_decode(bench_run *b, br_model *m, int B, int P, int steps, int repeat) {
    br_error err = {0};
    br_state *s = NULL;
    uint64_t r = 11;
    const int V = br_model_vocab_size(m);
    int32_t *prompt = random_tokens((long)B * P, V, &r), *next = random_tokens(B, V, &r);
    int *slots = malloc((size_t)B * sizeof *slots);
    float *lg = malloc((size_t)B * V * sizeof(float));
    int rc = 0;
    double best = 1e30;
    if (!prompt || !next || !slots || !lg || br_state_create(m, B, P + (int64_t)(steps + 1) * (repeat + 1), &s, &err) != BR_OK)
        rc = cli_fail(&err);
    for (int i = 0; i < B; i++) slots[i] = i;
    if (!rc && br_model_prefill(m, s, B, slots, prompt, P, BR_LOGITS_LAST, lg, &err) != BR_OK) rc = cli_fail(&err);
    for (int k = -1; k < repeat && !rc; k++) {
        double t0 = cli_now();
        for (int i = 0; i < steps && !rc; i++)
            if (br_model_step(m, s, B, slots, next, lg, &err) != BR_OK) rc = cli_fail(&err);
        double dt = cli_now() - t0;
        if (k >= 0 && dt < best) best = dt;
    }
    if (!rc) {
        note_memory(b);
        const double step = best / steps, context = P + steps * (repeat + 1) / 2.0;
        const double bytes = br_costs_decode_bytes(&b->costs, B, (int64_t)context), rate = bytes / step;
        const double share = b->ceil.copy_bytes_per_s > 0 ? rate / b->ceil.copy_bytes_per_s : 0;
        char st[32], kv[32];
        cli_bytes(br_state_recurrent_bytes(s), st, sizeof st);
        cli_bytes(br_state_kv_bytes(s), kv, sizeof kv);
        printf("  decode  batch %4d    %9.3f ms/step %8.1f tok/s   %7.1f GB/s", B, 1e3 * step, B / step, rate / 1e9);
        if (share > 0) printf(" = %5.1f%% of the copy ceiling", 100 * share);
        printf("   (state %s, KV %s)\n", st, kv);
        json_array_append_new(b->decode, json_pack("{s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:I, s:I}", "batch", B, "context",
                                                   P, "ms_per_step", 1e3 * step, "tokens_per_s", B / step,
                                                   "bytes_per_step", bytes, "gb_per_s", rate / 1e9,
                                                   "roofline_fraction", share, "state_bytes",
                                                   (json_int_t)br_state_recurrent_bytes(s), "kv_bytes",
                                                   (json_int_t)br_state_kv_bytes(s)));
    }
    br_state_free(s);
    free(prompt), free(next), free(slots), free(lg);
    return rc;
}

static int write_json(const char *path, const char *target, const bench_run *b) {
    json_t *root = json_pack("{s:s, s:s, s:s, s:{s:f, s:f, s:s}, s:I, s:I, s:O, s:O}", "target", target, "device",
                             br_model_device_info(b->m), "kv_dtype", br_dtype_name(br_model_kv_dtype(b->m)), "ceilings",
                             "copy_gb_per_s", b->ceil.copy_bytes_per_s / 1e9, "matmul_tflops",
                             b->ceil.matmul_flops_per_s / 1e12, "matmul", b->ceil.matmul_what, "weight_bytes",
                             (json_int_t)br_weights_bytes(&b->m->plan.weights), "peak_device_bytes",
                             (json_int_t)b->peak_used, "prefill", b->prefill, "decode", b->decode);
    int rc = 0;
    if (!root || json_dump_file(root, path, JSON_INDENT(2)) != 0) {
        fprintf(stderr, "braid: cannot write %s\n", path);
        rc = 1;
    }
    json_decref(root);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    const char *target = NULL, *prefill_s = "512,2048", *batches_s = "1,16,64", *json_path = NULL;
    long long steps = 64, repeat = 3, context = 16;
    cli_model_opts mo = CLI_MODEL_OPTS_INIT;
    int bad = 0, ceilings = 1;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout), 0;
        if (strcmp(argv[i], "--no-ceilings") == 0) {
            ceilings = 0;
            continue;
        }
        if (cli_opt_str(argc, argv, &i, "--prefill", &prefill_s, &bad) ||
            cli_opt_str(argc, argv, &i, "--batches", &batches_s, &bad) ||
            cli_opt_str(argc, argv, &i, "--json", &json_path, &bad) ||
            cli_opt_long(argc, argv, &i, "--decode", 1, 1 << 20, &steps, &bad) ||
            cli_opt_long(argc, argv, &i, "--context", 1, 1 << 24, &context, &bad) ||
            cli_opt_long(argc, argv, &i, "--repeat", 1, 1000, &repeat, &bad) || cli_model_opt(argc, argv, &i, &mo, &bad))
            continue;
        if (argv[i][0] == '-') return cli_usage_error("bench", "unknown option '%s'", argv[i]);
        if (target) return cli_usage_error("bench", "more than one spec or folder given");
        target = argv[i];
    }
    if (bad) return 2;
    if (!target) return cli_usage_error("bench", "no spec or checkpoint folder given");
    int32_t *lens = NULL, *batches = NULL;
    int n_lens = 0, n_batches = 0;
    if (cli_parse_ids(prefill_s, &lens, &n_lens) != 0 || cli_parse_ids(batches_s, &batches, &n_batches) != 0) {
        free(lens);
        return 2;
    }
    struct stat sb;
    br_model *m = NULL;
    br_error err = {0};
    int rc = 0;
    double t0 = cli_now();
    if (stat(target, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        rc = cli_load_model(target, &mo, &m);
    } else {
        br_spec *spec = NULL;
        if (br_spec_load(target, &spec, &err) != BR_OK || br_model_create_random(spec, 1, &m, &err) != BR_OK)
            rc = cli_fail(&err);
        if (!rc) rc = cli_place_model(m, mo.gpu, mo.weights);
    }
    bench_run b = {.m = m, .prefill = json_array(), .decode = json_array()};
    if (!rc && ceilings && br_dev_measure(m->dev, &b.ceil, &err) != BR_OK) rc = cli_fail(&err);
    if (!rc) {
        br_plan_costs_compute(&m->plan, br_model_kv_dtype(m), &b.costs);
        char wb[32];
        cli_bytes(br_weights_bytes(&m->plan.weights), wb, sizeof wb);
        printf("%s on %s (set up in %.1f s)\n", target, br_model_device_info(m), cli_now() - t0);
        if (ceilings)
            printf("  ceilings, measured now: copy %.0f GB/s, %s %.1f TFLOP/s; weights %s\n", b.ceil.copy_bytes_per_s / 1e9,
                   b.ceil.matmul_what, b.ceil.matmul_flops_per_s / 1e12, wb);
        for (int i = 0; i < n_lens && !rc; i++) rc = bench_prefill(&b, m, lens[i], (int)repeat);
        for (int i = 0; i < n_batches && !rc; i++) rc = bench_decode(&b, m, batches[i], (int)context, (int)steps, (int)repeat);
        if (!rc && b.peak_used) {
            char pk[32];
            cli_bytes((int64_t)b.peak_used, pk, sizeof pk);
            printf("  device memory in use, most after any pass: %s\n", pk);
        }
    }
    if (!rc && json_path) rc = write_json(json_path, target, &b);
    json_decref(b.prefill);
    json_decref(b.decode);
    br_model_free(m);
    free(lens);
    free(batches);
    return rc;
}
