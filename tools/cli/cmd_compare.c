/*
 * cmd_compare.c - `braid compare MODEL_DIR --ids 5,17,42 --ref HIDDEN.npy`:
 * where braid and another implementation part ways, layer by layer.
 *
 * The reference is the residual stream after every layer for the same ids,
 * [n_layers + 1, T, d_model] float32 (tools/compare/hidden_states.py writes
 * transformers' output_hidden_states so).  braid runs the same prompt
 * (br_model_prefill_hidden) and prints, per layer, the relative L2 error and
 * the largest error relative to the layer's scale, with the layer's blocks;
 * it names the first layer past --tol and exits 1 if there is one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/npy.h"
#include "cli.h"
#include "graph/model.h"
#include "graph/spec.h"

static void usage(FILE *out) {
    fprintf(out, "usage: braid compare MODEL_DIR --ids 5,17,42 --ref HIDDEN.npy [--tol T]\n"
                 "  --ref   [n_layers + 1, T, d_model] float32: the stream after every layer for these ids\n"
                 "          (tools/compare/hidden_states.py MODEL_DIR --ids ... --out HIDDEN.npy)\n"
                 "  --tol   largest relative L2 error a layer may have (default 1e-4; bf16 weights: 3e-2)\n" CLI_MODEL_OPTS_HELP);
}

/* "mamba + mlp" for layer l. */
static void layer_blocks(const struct br_spec *spec, int l, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    const br_layer_def *L = &spec->layers[l];
    for (int u = 0; u < L->n_units && n < cap; u++)
        for (int b = 0; b < L->units[u].n_blocks && n < cap; b++)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? (b ? " | " : " + ") : "",
                                  spec->blocks[L->units[u].blocks[b]].name);
}

int cmd_compare(int argc, char **argv) {
    const char *dir = NULL, *ids_s = NULL, *ref_path = NULL;
    double tol = -1;
    cli_model_opts mo = CLI_MODEL_OPTS_INIT;
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout), 0;
        if (cli_opt_str(argc, argv, &i, "--ids", &ids_s, &bad) || cli_opt_str(argc, argv, &i, "--ref", &ref_path, &bad) ||
            cli_opt_double(argc, argv, &i, "--tol", &tol, &bad) || cli_model_opt(argc, argv, &i, &mo, &bad))
            continue;
        if (argv[i][0] == '-') return cli_usage_error("compare", "unknown option '%s'", argv[i]);
        if (dir) return cli_usage_error("compare", "more than one folder given");
        dir = argv[i];
    }
    if (bad) return 2;
    if (!dir || !ids_s || !ref_path) return cli_usage_error("compare", "need MODEL_DIR, --ids and --ref");
    if (tol < 0) tol = (mo.weights ? strcmp(mo.weights, "bf16") == 0 : mo.gpu >= 0) ? 3e-2 : 1e-4;
    int32_t *ids = NULL;
    int T = 0;
    if (cli_parse_ids(ids_s, &ids, &T) != 0) return 2;
    br_error err = {0};
    float *ref = NULL, *got = NULL;
    int nd = 0, rc = 0;
    int64_t sh[BR_NPY_MAX_DIMS] = {0};
    br_model *m = NULL;
    br_state *s = NULL;
    if (br_npy_read_f32(ref_path, &ref, &nd, sh, &err) != BR_OK) {
        free(ids);
        return cli_fail(&err);
    }
    if ((rc = cli_load_model(dir, &mo, &m)) != 0) goto done;
    const int L = br_model_n_layers(m), D = br_model_spec(m)->d_model;
    if (nd != 3 || sh[0] != L + 1 || sh[1] != T || sh[2] != D) {
        fprintf(stderr, "braid compare: %s is [%lld, %lld, %lld]; this model and these ids need [%d, %d, %d] "
                        "(layers + 1, tokens, d_model)\n", ref_path, (long long)sh[0], (long long)sh[1],
                (long long)sh[2], L + 1, T, D);
        rc = 1;
        goto done;
    }
    got = malloc((size_t)(L + 1) * T * D * sizeof *got);
    int slot = 0;
    if (!got || br_state_create(m, 1, T, &s, &err) != BR_OK ||
        br_model_prefill_hidden(m, s, slot, ids, T, got, &err) != BR_OK) {
        rc = got ? cli_fail(&err) : 1;
        goto done;
    }
    printf("%-6s %-12s %-12s %s\n", "layer", "rel L2", "max/scale", "blocks");
    int first_bad = -1;
    char first_blocks[256] = "";
    for (int l = 0; l <= L; l++) {
        const float *a = got + (size_t)l * T * D, *b = ref + (size_t)l * T * D;
        double num = 0, den = 0, worst = 0, scale = 0;
        for (size_t i = 0; i < (size_t)T * D; i++) {
            const double d = (double)a[i] - b[i];
            num += d * d, den += (double)b[i] * b[i];
            worst = fabs(d) > worst ? fabs(d) : worst;
            scale = fabs(b[i]) > scale ? fabs(b[i]) : scale;
        }
        const double rel = sqrt(num) / (den > 0 ? sqrt(den) : 1), mx = worst / (scale > 0 ? scale : 1);
        char blocks[256] = "embeddings";
        if (l > 0) layer_blocks(br_model_spec(m), l - 1, blocks, sizeof blocks);
        const int past = !(rel <= tol);
        if (past && first_bad < 0) first_bad = l, snprintf(first_blocks, sizeof first_blocks, "%s", blocks);
        printf("%-6d %-12.3e %-12.3e %s%s%s\n", l - 1, rel, mx, blocks, l == L ? " (+ final norm)" : "",
               past ? "   <-- past the tolerance" : "");
    }
    if (first_bad >= 0) {
        printf("first layer past %.1e: %d (%s)\n", tol, first_bad - 1, first_blocks);
        rc = 1;
    } else {
        printf("every layer within %.1e\n", tol);
    }
done:
    free(ids), free(ref), free(got);
    br_state_free(s);
    br_model_free(m);
    return rc;
}
