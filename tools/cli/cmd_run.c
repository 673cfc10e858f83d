/*
 * cmd_run.c - `braid run SPEC.yaml`: a forward pass with random weights.
 *
 * Builds the model with seeded random weights, prefills a random prompt,
 * decodes greedily through the recurrent step path, and reports timings.
 * With --check it also feeds the same tokens one by one through a second
 * state and prints the largest difference between the step and prefill
 * logits (they must agree to f32 rounding).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graph/spec.h"

static void usage(FILE *out) {
    fprintf(out, "usage: braid run SPEC.yaml [--prompt N] [--gen N] [--batch B] [--seed S] [--check] [--gpu N]\n"
                 "  --prompt N  random prompt tokens per sequence (default 32)\n"
                 "  --gen N     tokens to decode greedily (default 16)\n"
                 "  --batch B   sequences run together (default 1)\n"
                 "  --seed S    weight and prompt seed (default 1)\n"
                 "  --check     compare step-by-step logits with the prefill logits\n"
                 "  --gpu N     run on GPU N (CUDA builds)\n"
                 "  --weights T matrix weights: bf16 or f32 (default: f32 on the CPU, bf16 on a GPU)\n");
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static double check_step(const br_model *m, const int32_t *toks, int T, const float *ref, int V, br_error *err) {
    br_state *s = NULL;
    if (br_state_create(m, 1, T, &s, err) != BR_OK) return -1;
    float *lg = malloc((size_t)V * sizeof(float));
    double worst = 0, scale = 0;
    int slot = 0;
    for (int t = 0; t < T && lg; t++) {
        if (br_model_step(m, s, 1, &slot, toks + t, lg, err) != BR_OK) {
            worst = -1;
            break;
        }
        for (int v = 0; v < V; v++) {
            double d = fabs((double)lg[v] - ref[(long)t * V + v]);
            if (d > worst) worst = d;
            if (fabs(ref[(long)t * V + v]) > scale) scale = fabs(ref[(long)t * V + v]);
        }
    }
    free(lg);
    br_state_free(s);
    return worst < 0 ? -1 : worst / (scale > 0 ? scale : 1);
}

int cmd_run(int argc, char **argv) {
    const char *path = NULL, *weights = NULL;
    long long prompt = 32, gen = 16, batch = 1, seed = 1, gpu = -1;
    int check = 0, bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout), 0;
        if (cli_opt_long(argc, argv, &i, "--prompt", 1, 1 << 20, &prompt, &bad)) continue;
        if (cli_opt_long(argc, argv, &i, "--gen", 0, 1 << 20, &gen, &bad)) continue;
        if (cli_opt_long(argc, argv, &i, "--batch", 1, 4096, &batch, &bad)) continue;
        if (cli_opt_long(argc, argv, &i, "--seed", 0, 1LL << 62, &seed, &bad)) continue;
        if (cli_opt_long(argc, argv, &i, "--gpu", 0, 1024, &gpu, &bad)) continue;
        if (cli_opt_str(argc, argv, &i, "--weights", &weights, &bad)) continue;
        if (strcmp(argv[i], "--check") == 0) check = 1;
        else if (argv[i][0] == '-') return cli_usage_error("run", "unknown option '%s'", argv[i]);
        else if (!path) path = argv[i];
        else return cli_usage_error("run", "more than one spec given ('%s')", argv[i]);
    }
    if (bad) return 2;
    if (!path) return cli_usage_error("run", "no spec given");
    if (weights && br_dtype_parse(weights) != BR_F32 && br_dtype_parse(weights) != BR_BF16)
        return cli_usage_error("run", "--weights expects bf16 or f32, got '%s'", weights);

    br_error err = {0};
    br_spec *spec = NULL;
    if (br_spec_load(path, &spec, &err) != BR_OK) return cli_fail(&err);
    const int V = spec->vocab_size, B = (int)batch, T = (int)prompt, G = (int)gen;
    char name[BR_NAME_MAX];
    snprintf(name, sizeof name, "%s", spec->name);
    double t0 = cli_now();
    br_model *m = NULL;
    if (br_model_create_random(spec, (uint64_t)seed, &m, &err) != BR_OK) return cli_fail(&err);
    if (cli_place_model(m, gpu, weights) != 0) {
        br_model_free(m);
        return 1;
    }
    double t_init = cli_now() - t0;
    br_state *s = NULL;
    int rc = 0;
    int32_t *toks = malloc((size_t)B * T * sizeof *toks), *next = malloc((size_t)B * sizeof *next);
    int *slots = malloc((size_t)B * sizeof *slots);
    float *logits = malloc((size_t)B * (check ? T : 1) * V * sizeof(float));
    if (!toks || !next || !slots || !logits) {
        fprintf(stderr, "braid run: out of memory\n");
        rc = 1;
        goto done;
    }
    uint64_t r = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 1;
    for (long i = 0; i < (long)B * T; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        toks[i] = (int32_t)(r % (uint64_t)V);
    }
    for (int b = 0; b < B; b++) slots[b] = b;
    if (br_state_create(m, B, T + G, &s, &err) != BR_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    t0 = cli_now();
    if (br_model_prefill(m, s, B, slots, toks, T, check ? BR_LOGITS_ALL : BR_LOGITS_LAST, logits, &err) != BR_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    double t_prefill = cli_now() - t0;
    for (int b = 0; b < B; b++) /* each sequence's last logits: row b (or row b*T + T-1 with every row) */
        next[b] = argmax(logits + (check ? (long)b * T + T - 1 : (long)b) * V, V);
    printf("%s: random weights (seed %lld), batch %d, prompt %d, decode %d, on %s%s\n", name, seed, B, T, G,
           gpu >= 0 ? "the GPU, matrix weights " : "the CPU", gpu >= 0 ? weights : "");
    printf("  init     %8.3f s\n  prefill  %8.3f s  %10.1f tok/s\n", t_init, t_prefill, B * T / t_prefill);
    if (check) { /* sequence 0's steps against its rows of the batched prefill */
        double e = check_step(m, toks, T, logits, V, &err);
        if (e < 0) {
            rc = cli_fail(&err);
            goto done;
        }
        printf("  check    step vs prefill logits%s: max |diff| / max |logit| = %.3g %s\n",
               B > 1 ? " (sequence 0 of the batch)" : "", e, e < 1e-4 ? "(ok)" : "(MISMATCH)");
        if (e >= 1e-4) rc = 1;
    }
    printf("  greedy  ");
    t0 = cli_now();
    for (int g = 0; g < G; g++) {
        printf(" %d", next[0]);
        fflush(stdout);
        if (br_model_step(m, s, B, slots, next, logits, &err) != BR_OK) {
            printf("\n");
            rc = cli_fail(&err);
            goto done;
        }
        for (int b = 0; b < B; b++) next[b] = argmax(logits + (long)b * V, V);
    }
    double t_dec = cli_now() - t0;
    printf("\n  decode   %8.3f s  %10.1f tok/s (batch %d)\n", t_dec, G ? B * G / t_dec : 0.0, B);
done:
    free(toks);
    free(next);
    free(slots);
    free(logits);
    br_state_free(s);
    br_model_free(m);
    return rc;
}
