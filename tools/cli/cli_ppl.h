/*
 * cli_ppl.h - held-out perplexity, shared by `braid ppl` and `braid ablate`
 * so that both score the same tokens the same way.
 *
 * The text (its first max_bytes, cut back to a whole UTF-8 character) is
 * encoded once without special tokens and cut into consecutive windows of W
 * tokens.  Each window starts from an empty state and scores its tokens
 * 1 .. W-1 given the ones before them (with a BOS id, the window is prefixed
 * by it and scores all W).  PPL = exp(mean NLL) over every scored token,
 * log-softmax in double: the computation of tools/train/eval_ppl.py.
 */
#ifndef BR_CLI_PPL_H
#define BR_CLI_PPL_H

#include <stddef.h>
#include <stdint.h>

#include "braid.h"

/* Reads `path` (at most max_bytes of it when max_bytes > 0), encodes it with
 * the tokenizer of checkpoint folder `dir`; *tok (br_tokenizer_free) and
 * *ids (free) are the caller's, *bytes the bytes encoded. */
br_status cli_ppl_encode(const char *dir, const char *path, size_t max_bytes, br_tokenizer **tok, int32_t **ids,
                         size_t *n, size_t *bytes, br_error *err);

typedef struct cli_ppl {
    double nll;     /* summed negative log-likelihood, nats */
    size_t scored;  /* tokens scored */
    size_t windows; /* windows run */
    int window;     /* tokens per window (W, or the text when shorter) */
    double ppl;     /* exp(nll / scored) */
} cli_ppl;

/* Called after each window with the tokens done, the total and the start time (cli_now). */
typedef void (*cli_ppl_progress)(size_t done, size_t total, double t0);

/* Perplexity of `model` over ids[n] in windows of W tokens; bos_id < 0: no
 * BOS.  Needs n >= 2.  The state and logits it needs are its own. */
br_status cli_ppl_eval(const br_model *model, const int32_t *ids, size_t n, int W, int32_t bos_id,
                       cli_ppl_progress progress, cli_ppl *out, br_error *err);

#endif /* BR_CLI_PPL_H */
