/*
 * cli_ppl.c - held-out perplexity shared by `braid ppl` and `braid ablate`
 * (the method is in cli_ppl.h).
 */
#include "cli_ppl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "cli.h"

br_status cli_ppl_encode(const char *dir, const char *path, size_t max_bytes, br_tokenizer **tok, int32_t **ids,
                         size_t *n, size_t *bytes, br_error *err) {
    char *text = NULL, *tok_path = br_path_join(dir, "tokenizer.json", err);
    size_t len = 0;
    *tok = NULL;
    *ids = NULL;
    br_status st = tok_path ? br_read_file(path, &text, &len, err) : BR_ERR_NOMEM;
    if (st == BR_OK && max_bytes > 0 && len > max_bytes) {
        len = max_bytes;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80) len--; /* not inside a UTF-8 character */
    }
    if (st == BR_OK) st = br_tokenizer_load(tok_path, tok, err);
    if (st == BR_OK) st = br_tokenizer_encode(*tok, text, len, 0, ids, n, err);
    if (st == BR_OK && *n < 2)
        st = BR_FAIL(err, BR_ERR_INVALID_ARG, "%s%s encodes to %zu tokens; perplexity needs at least 2", path,
                     max_bytes ? " (its first bytes)" : "", *n);
    if (st != BR_OK) {
        br_tokenizer_free(*tok);
        free(*ids);
        *tok = NULL;
        *ids = NULL;
    }
    *bytes = len;
    free(tok_path);
    free(text);
    return st;
}

/* log p(target | logits) in double */
static double log_prob(const float *lg, int V, int target) {
    double mx = lg[0], sum = 0;
    for (int v = 1; v < V; v++) mx = lg[v] > mx ? lg[v] : mx;
    for (int v = 0; v < V; v++) sum += exp((double)lg[v] - mx);
    return (double)lg[target] - mx - log(sum);
}

br_status cli_ppl_eval(const br_model *model, const int32_t *ids, size_t n, int W, int32_t bos_id,
                       cli_ppl_progress progress, cli_ppl *out, br_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 2 || W < 2) return BR_FAIL(err, BR_ERR_INVALID_ARG, "perplexity needs 2 tokens and windows of 2, got "
                                       "%zu tokens and windows of %d", n, W);
    const int V = br_model_vocab_size(model), bos = bos_id >= 0;
    const int win = (int)((size_t)W < n ? (size_t)W : n); /* a window past the text is the text */
    int32_t *buf = malloc(((size_t)win + 1) * sizeof *buf);
    float *logits = malloc(((size_t)win + 1) * V * sizeof(float));
    if (!buf || !logits) {
        char need[32];
        cli_bytes((int64_t)((size_t)win + 1) * V * (int64_t)sizeof(float), need, sizeof need);
        free(buf);
        free(logits);
        return BR_FAIL(err, BR_ERR_NOMEM, "a window of %d tokens needs %s for its logits, which cannot be "
                       "allocated; use a smaller --window", win, need);
    }
    br_state *s = NULL;
    br_status st = br_state_create(model, 1, win + 1, &s, err);
    const double t0 = cli_now();
    for (size_t start = 0; start < n && st == BR_OK; start += (size_t)win) {
        const int T = (int)(n - start < (size_t)win ? n - start : (size_t)win), slot = 0;
        if (T + bos < 2) break;
        if (bos) buf[0] = bos_id;
        memcpy(buf + bos, ids + start, (size_t)T * sizeof *buf);
        st = br_state_reset(s, 0, err);
        if (st == BR_OK) st = br_model_prefill(model, s, 1, &slot, buf, T + bos, BR_LOGITS_ALL, logits, err);
        for (int t = 1; t < T + bos && st == BR_OK; t++) {
            out->nll -= log_prob(logits + (size_t)(t - 1) * V, V, buf[t]);
            out->scored++;
        }
        out->windows++;
        if (st == BR_OK && progress) progress(start + (size_t)T, n, t0);
    }
    out->window = win;
    out->ppl = out->scored ? exp(out->nll / (double)out->scored) : NAN;
    br_state_free(s);
    free(buf);
    free(logits);
    return st;
}
