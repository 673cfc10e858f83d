/*
 * cmd_ppl.c - `braid ppl MODEL_DIR FILE.txt [--window W] [--bos] [--max-bytes N]`:
 * perplexity.
 *
 * The text is encoded once (no special tokens) and cut into consecutive
 * windows of W tokens, each scored from an empty state (cli_ppl.h has the
 * method, shared with `braid ablate`).  This is the computation of
 * tools/train/eval_ppl.py for transformers, so the two figures can be
 * compared directly.  A progress bar goes to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_ppl.h"

static void usage(FILE *out) {
    fprintf(out, "usage: braid ppl MODEL_DIR FILE.txt [--window W] [--bos] [--max-bytes N]\n"
                 "  --window W     tokens per independently scored window (default 1024)\n"
                 "  --bos          prefix each window with the tokenizer's BOS token\n"
                 "  --max-bytes N  score only the first N bytes of the text (whole UTF-8 characters)\n"
                 CLI_MODEL_OPTS_HELP);
}

static void progress(size_t done, size_t total, double t0) {
    if (!isatty(2) && done != total) return;
    int width = 30, fill = total ? (int)((double)done / total * width) : width;
    double dt = cli_now() - t0;
    fprintf(stderr, "\r[%.*s%*s] %3d%%  %zu/%zu tokens  %.0f tok/s", fill, "==============================",
            width - fill, "", total ? (int)(100.0 * done / total) : 100, done, total, dt > 0 ? done / dt : 0.0);
    if (done == total) fputc('\n', stderr);
}

int cmd_ppl(int argc, char **argv) {
    const char *dir = NULL, *file = NULL;
    long long W = 1024, max_bytes = 0;
    int bos = 0, bad = 0;
    cli_model_opts mo = CLI_MODEL_OPTS_INIT;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout), 0;
        if (cli_opt_long(argc, argv, &i, "--window", 2, 1 << 24, &W, &bad) ||
            cli_opt_long(argc, argv, &i, "--max-bytes", 1, 1LL << 40, &max_bytes, &bad) ||
            cli_model_opt(argc, argv, &i, &mo, &bad))
            continue;
        if (strcmp(argv[i], "--bos") == 0) bos = 1;
        else if (argv[i][0] == '-') return cli_usage_error("ppl", "unknown option '%s'", argv[i]);
        else if (!dir) dir = argv[i];
        else if (!file) file = argv[i];
        else return cli_usage_error("ppl", "unexpected argument '%s'", argv[i]);
    }
    if (bad) return 2;
    if (!dir || !file) return cli_usage_error("ppl", "need MODEL_DIR and FILE.txt");
    if (cli_check_model_dir(dir) != 0) return 1;
    br_error err = {0};
    size_t n = 0, bytes = 0;
    int32_t *ids = NULL;
    br_tokenizer *tok = NULL;
    br_model *m = NULL;
    int rc = 0;
    if (cli_ppl_encode(dir, file, (size_t)max_bytes, &tok, &ids, &n, &bytes, &err) != BR_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    int32_t bos_id = -1;
    if (bos) {
        const char *names[] = {"<s>", "<|begin_of_text|>", "<|endoftext|>", "<bos>"};
        for (size_t i = 0; i < 4 && bos_id < 0; i++) bos_id = br_tokenizer_token_to_id(tok, names[i]);
        if (bos_id < 0) {
            fprintf(stderr, "braid ppl: --bos: the tokenizer has no BOS token\n");
            rc = 2;
            goto done;
        }
    }
    if ((rc = cli_load_model(dir, &mo, &m)) != 0) goto done;
    cli_ppl r;
    if (cli_ppl_eval(m, ids, n, (int)W, bos_id, progress, &r, &err) != BR_OK) rc = cli_fail(&err);
    else
        printf("perplexity %.4f over %zu tokens (%zu windows of %d, %s BOS; mean NLL %.6f nats/token)\n", r.ppl,
               r.scored, r.windows, r.window, bos ? "with" : "without", r.nll / (double)r.scored);
done:
    free(ids);
    br_model_free(m);
    br_tokenizer_free(tok);
    return rc;
}
