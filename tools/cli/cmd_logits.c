/*
 * cmd_logits.c - `braid logits MODEL_DIR --ids 5,17,42 [--mode prefill|step] --out FILE.npy`
 *
 * Writes the float32 logits of every position, shape [T, vocab], as a
 * NumPy .npy file.  prefill runs the ids in one pass; step feeds them one
 * at a time through the recurrent state and KV cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/npy.h"
#include "cli.h"

static void usage(FILE *out) {
    fprintf(out, "usage: braid logits MODEL_DIR --ids 5,17,42 [--mode prefill|step] --out FILE.npy\n" CLI_MODEL_OPTS_HELP);
}

int cmd_logits(int argc, char **argv) {
    const char *dir = NULL, *ids_s = NULL, *mode = "prefill", *out = NULL;
    cli_model_opts mo = CLI_MODEL_OPTS_INIT;
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout), 0;
        if (cli_opt_str(argc, argv, &i, "--ids", &ids_s, &bad) || cli_opt_str(argc, argv, &i, "--mode", &mode, &bad) ||
            cli_opt_str(argc, argv, &i, "--out", &out, &bad) || cli_model_opt(argc, argv, &i, &mo, &bad))
            continue;
        if (argv[i][0] == '-') return cli_usage_error("logits", "unknown option '%s'", argv[i]);
        if (dir) return cli_usage_error("logits", "more than one folder given");
        dir = argv[i];
    }
    if (bad) return 2;
    if (!dir || !ids_s || !out) return cli_usage_error("logits", "need MODEL_DIR, --ids and --out");
    int step = strcmp(mode, "step") == 0;
    if (!step && strcmp(mode, "prefill") != 0) return cli_usage_error("logits", "--mode is prefill or step, not '%s'", mode);
    int32_t *ids = NULL;
    int T = 0;
    if (cli_parse_ids(ids_s, &ids, &T) != 0) return 2;
    br_model *m = NULL;
    if (cli_load_model(dir, &mo, &m) != 0) {
        free(ids);
        return 1;
    }
    const int V = br_model_vocab_size(m);
    float *logits = malloc((size_t)T * V * sizeof(float));
    br_state *s = NULL;
    br_error err = {0};
    int rc = 0, slot = 0;
    if (!logits) {
        fprintf(stderr, "braid logits: out of memory\n");
        rc = 1;
    } else if (br_state_create(m, 1, T, &s, &err) != BR_OK) {
        rc = cli_fail(&err);
    } else if (!step) {
        if (br_model_prefill(m, s, 1, &slot, ids, T, BR_LOGITS_ALL, logits, &err) != BR_OK) rc = cli_fail(&err);
    } else {
        for (int t = 0; t < T && !rc; t++)
            if (br_model_step(m, s, 1, &slot, ids + t, logits + (long)t * V, &err) != BR_OK) rc = cli_fail(&err);
    }
    if (!rc && br_npy_write_f32(out, logits, 2, (int64_t[]){T, V}, &err) != BR_OK) rc = cli_fail(&err);
    free(logits);
    free(ids);
    br_state_free(s);
    br_model_free(m);
    return rc;
}
