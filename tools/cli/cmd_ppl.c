/*
 * cmd_ppl.c - `braid ppl MODEL_DIR FILE.txt [--window W] [--bos]`: perplexity.
 *
 * The text is encoded once (no special tokens) and cut into consecutive
 * windows of W tokens.  Each window starts from an empty state and scores
 * its tokens 1 .. W-1 given the ones before them (with --bos, the window is
 * prefixed by the tokenizer's BOS and scores all W).  PPL = exp(mean NLL)
 * over every scored token, with log-softmax in double.  This is the
 * computation of tools/train/eval_ppl.py for transformers, so the two
 * figures can be compared directly.  A progress bar goes to stderr.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "cli.h"

static void usage(FILE *out) {
    fprintf(out, "usage: braid ppl MODEL_DIR FILE.txt [--window W] [--bos]\n"
                 "  --window W  tokens per independently scored window (default 1024)\n"
                 "  --bos       prefix each window with the tokenizer's BOS token\n" CLI_MODEL_OPTS_HELP);
}

static void progress(size_t done, size_t total, double t0) {
    if (!isatty(2) && done != total) return;
    int width = 30, fill = total ? (int)((double)done / total * width) : width;
    double dt = cli_now() - t0;
    fprintf(stderr, "\r[%.*s%*s] %3d%%  %zu/%zu tokens  %.0f tok/s", fill, "==============================",
            width - fill, "", total ? (int)(100.0 * done / total) : 100, done, total, dt > 0 ? done / dt : 0.0);
    if (done == total) fputc('\n', stderr);
}

/* log p(target | logits) in double */
static double log_prob(const float *lg, int V, int target) {
    double mx = lg[0], sum = 0;
    for (int v = 1; v < V; v++) mx = lg[v] > mx ? lg[v] : mx;
    for (int v = 0; v < V; v++) sum += exp((double)lg[v] - mx);
    return (double)lg[target] - mx - log(sum);
}

int cmd_ppl(int argc, char **argv) {
    const char *dir = NULL, *file = NULL;
    long long W = 1024;
    int bos = 0, bad = 0;
    cli_model_opts mo = CLI_MODEL_OPTS_INIT;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout), 0;
        if (cli_opt_long(argc, argv, &i, "--window", 2, 1 << 24, &W, &bad) || cli_model_opt(argc, argv, &i, &mo, &bad))
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
    char *text = NULL, *tok_path = br_path_join(dir, "tokenizer.json", &err);
    size_t len = 0, n = 0;
    int32_t *ids = NULL;
    br_tokenizer *tok = NULL;
    br_model *m = NULL;
    br_state *s = NULL;
    float *logits = NULL;
    int rc = 0;
    if (!tok_path || br_read_file(file, &text, &len, &err) != BR_OK || br_tokenizer_load(tok_path, &tok, &err) != BR_OK ||
        br_tokenizer_encode(tok, text, len, 0, &ids, &n, &err) != BR_OK) {
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
    if (n < 2) {
        fprintf(stderr, "braid ppl: %s encodes to %zu tokens; need at least 2\n", file, n);
        rc = 1;
        goto done;
    }
    if ((rc = cli_load_model(dir, &mo, &m)) != 0) goto done;
    const int V = br_model_vocab_size(m);
    const int win = (int)(W < (long long)n ? W : (long long)n); /* a window past the text is the text */
    int32_t *buf = malloc(((size_t)win + 1) * sizeof *buf);
    logits = malloc(((size_t)win + 1) * V * sizeof(float));
    if (!buf || !logits) {
        char need[32];
        cli_bytes((int64_t)((size_t)win + 1) * V * (int64_t)sizeof(float), need, sizeof need);
        fprintf(stderr, "braid ppl: a window of %d tokens needs %s for its logits, which cannot be allocated; use a "
                        "smaller --window\n", win, need);
        free(buf);
        rc = 1;
        goto done;
    }
    if (br_state_create(m, 1, win + 1, &s, &err) != BR_OK) {
        free(buf);
        rc = cli_fail(&err);
        goto done;
    }
    double nll = 0, t0 = cli_now();
    size_t scored = 0;
    for (size_t start = 0; start < n && !rc; start += (size_t)win) {
        int T = (int)(n - start < (size_t)win ? n - start : (size_t)win), off = bos ? 1 : 0, slot = 0;
        if (T + off < 2) break;
        if (bos) buf[0] = bos_id;
        memcpy(buf + off, ids + start, (size_t)T * sizeof *buf);
        if (br_state_reset(s, 0, &err) != BR_OK ||
            br_model_prefill(m, s, 1, &slot, buf, T + off, BR_LOGITS_ALL, logits, &err) != BR_OK) {
            rc = cli_fail(&err);
            break;
        }
        for (int t = 1; t < T + off; t++) {
            nll -= log_prob(logits + (size_t)(t - 1) * V, V, buf[t]);
            scored++;
        }
        progress(start + (size_t)T, n, t0);
    }
    free(buf);
    if (!rc) {
        double ppl = exp(nll / (double)scored);
        printf("perplexity %.4f over %zu tokens (%zu windows of %d, %s BOS; mean NLL %.6f nats/token)\n",
               ppl, scored, (n + (size_t)win - 1) / (size_t)win, win, bos ? "with" : "without", nll / (double)scored);
    }
done:
    free(tok_path);
    free(text);
    free(ids);
    free(logits);
    br_state_free(s);
    br_model_free(m);
    br_tokenizer_free(tok);
    return rc;
}
