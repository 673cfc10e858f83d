/*
 * cmd_bench.c - `braid bench SPEC.yaml|MODEL_DIR [--gpu N] ...`: throughput.
 *
 * Prefill: one sequence of L tokens per listed length, timed after a
 * warm-up pass (best of --repeat).  Decode: B sequences each prefilled with
 * 16 tokens, then --decode steps of all B at once; tokens/s counts every
 * sequence.  Each pass ends with the device synchronised, so wall time is
 * the GPU's time.  A spec runs with random weights; a folder with its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static void usage(FILE *out) {
    fprintf(out, "usage: braid bench SPEC.yaml|MODEL_DIR [--gpu N] [--weights bf16|f32] [--prefill L1,L2,..]\n"
                 "                   [--decode STEPS] [--batches B1,B2,..] [--repeat R]\n"
                 "  --prefill   prompt lengths to time (default 512,2048)\n"
                 "  --decode    decode steps per batch size (default 64)\n"
                 "  --batches   decode batch sizes (default 1,16,64)\n"
                 "  --repeat    timed repetitions; the best is reported (default 3)\n" CLI_MODEL_OPTS_HELP);
}

static int parse_list(const char *s, int32_t **out, int *n) { return cli_parse_ids(s, out, n); }

static int32_t *random_tokens(int n, int V, uint64_t *r) {
    int32_t *t = malloc((size_t)n * sizeof *t);
    for (int i = 0; t && i < n; i++) {
        *r ^= *r << 13, *r ^= *r >> 7, *r ^= *r << 17;
        t[i] = (int32_t)(*r % (uint64_t)V);
    }
    return t;
}

static int bench_prefill(br_model *m, int L, int repeat, double *best) {
    br_error err = {0};
    br_state *s = NULL;
    uint64_t r = 7;
    const int V = br_model_vocab_size(m);
    int32_t *toks = random_tokens(L, V, &r);
    float *lg = malloc((size_t)V * sizeof(float));
    int slot = 0, rc = 0;
    *best = 1e30;
    if (!toks || !lg || br_state_create(m, 1, L, &s, &err) != BR_OK) rc = cli_fail(&err);
    for (int k = -1; k < repeat && !rc; k++) { /* k = -1: warm-up */
        double t0 = cli_now();
        if (br_state_reset(s, 0, &err) != BR_OK ||
            br_model_prefill(m, s, 1, &slot, toks, L, BR_LOGITS_LAST, lg, &err) != BR_OK) {
            rc = cli_fail(&err);
            break;
        }
        double dt = cli_now() - t0;
        if (k >= 0 && dt < *best) *best = dt;
    }
    br_state_free(s);
    free(toks);
    free(lg);
    return rc;
}

static int bench_decode(br_model *m, int B, int steps, int repeat, double *best) {
    br_error err = {0};
    br_state *s = NULL;
    uint64_t r = 11;
    const int V = br_model_vocab_size(m), P = 16;
    int32_t *prompt = random_tokens(B * P, V, &r), *next = random_tokens(B, V, &r);
    int *slots = malloc((size_t)B * sizeof *slots);
    float *lg = malloc((size_t)B * V * sizeof(float));
    int rc = 0;
    *best = 1e30;
    if (!prompt || !next || !slots || !lg || br_state_create(m, B, P + (steps + 1) * (repeat + 1), &s, &err) != BR_OK)
        rc = cli_fail(&err);
    for (int b = 0; b < B; b++) slots[b] = b;
    if (!rc && br_model_prefill(m, s, B, slots, prompt, P, BR_LOGITS_LAST, lg, &err) != BR_OK) rc = cli_fail(&err);
    for (int k = -1; k < repeat && !rc; k++) {
        double t0 = cli_now();
        for (int i = 0; i < steps && !rc; i++)
            if (br_model_step(m, s, B, slots, next, lg, &err) != BR_OK) rc = cli_fail(&err);
        double dt = cli_now() - t0;
        if (k >= 0 && dt < *best) *best = dt;
    }
    br_state_free(s);
    free(prompt), free(next), free(slots), free(lg);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    const char *target = NULL, *prefill_s = "512,2048", *batches_s = "1,16,64";
    long long steps = 64, repeat = 3;
    cli_model_opts mo = CLI_MODEL_OPTS_INIT;
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout), 0;
        if (cli_opt_str(argc, argv, &i, "--prefill", &prefill_s, &bad) ||
            cli_opt_str(argc, argv, &i, "--batches", &batches_s, &bad) ||
            cli_opt_long(argc, argv, &i, "--decode", 1, 1 << 20, &steps, &bad) ||
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
    if (parse_list(prefill_s, &lens, &n_lens) != 0 || parse_list(batches_s, &batches, &n_batches) != 0) {
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
        if (!rc) rc = cli_use_gpu(m, mo.gpu, mo.weights);
    }
    if (!rc) {
        printf("%s on %s%s (set up in %.1f s)\n", target, mo.gpu >= 0 ? "GPU, matrix weights " : "the CPU",
               mo.gpu >= 0 ? mo.weights : "", cli_now() - t0);
        for (int i = 0; i < n_lens && !rc; i++) {
            double t;
            rc = bench_prefill(m, lens[i], (int)repeat, &t);
            if (!rc) printf("  prefill %6d tokens   %9.2f ms   %10.1f tok/s\n", lens[i], 1e3 * t, lens[i] / t);
        }
        for (int i = 0; i < n_batches && !rc; i++) {
            double t;
            rc = bench_decode(m, batches[i], (int)steps, (int)repeat, &t);
            if (!rc)
                printf("  decode  batch %4d    %9.3f ms/step %8.1f tok/s\n", batches[i], 1e3 * t / steps,
                       batches[i] * steps / t);
        }
    }
    br_model_free(m);
    free(lens);
    free(batches);
    return rc;
}
