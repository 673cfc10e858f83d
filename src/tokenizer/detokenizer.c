/*
 * detokenizer.c - streaming decode for generation.
 *
 * The detokenizer keeps a short window of ids: `ids[0..read)` were already
 * emitted and serve as context, `ids[read..n)` are pending, and `prefix` is
 * the decoded text of the context alone.  After each push the whole window
 * is decoded; if that text is longer than `prefix`, does not end in U+FFFD
 * (an incomplete UTF-8 sequence) and the last id that decodes to a token is
 * not a byte-fallback token (a later byte can still turn the whole run into
 * replacement characters: ByteFallback repairs a run all or nothing),
 * the part past `prefix` is final and is emitted.  The window then restarts
 * at the pending ids just emitted.  Decoding with one token of context keeps
 * decoder effects that depend on position (Strip of the first space,
 * Metaspace's first token) consistent with a full decode.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

struct br_detokenizer {
    const br_tokenizer *tok;
    int skip_special;
    tk_ids ids;        /* the window: context ids, then pending ids */
    size_t read;       /* ids[0..read) are context */
    int in_byte_run;   /* the last id that decodes to a token was a byte-fallback token */
    tk_buf prefix;     /* decoded context */
    tk_buf cur;        /* decoded window */
    tk_buf delta;      /* the text handed out by the last call */
    tk_rx_ctx rx;
    tk_pieces a, b;    /* decode scratch */
};

br_status br_detokenizer_new(const br_tokenizer *tok, int skip_special, br_detokenizer **out, br_error *err) {
    if (!tok || !out) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_detokenizer_new: tok and out must not be NULL");
    br_detokenizer *d = br_calloc(1, sizeof *d, err);
    if (!d) return BR_ERR_NOMEM;
    d->tok = tok;
    d->skip_special = skip_special;
    br_status st = tk_rx_ctx_init(&d->rx, err);
    if (st == BR_OK) st = tk_buf_reserve(&d->delta, 0, err);
    if (st == BR_OK) st = tk_buf_reserve(&d->prefix, 0, err);
    if (st != BR_OK) {
        br_detokenizer_free(d);
        return st;
    }
    *out = d;
    return BR_OK;
}

void br_detokenizer_free(br_detokenizer *d) {
    if (!d) return;
    tk_ids_free(&d->ids);
    tk_buf_free(&d->prefix);
    tk_buf_free(&d->cur);
    tk_buf_free(&d->delta);
    tk_rx_ctx_free(&d->rx);
    tk_pieces_free(&d->a);
    tk_pieces_free(&d->b);
    free(d);
}

/* out = the decoded text of the whole window. */
static br_status decode_window(br_detokenizer *d, tk_buf *out, br_error *err) {
    out->len = 0;
    BR_TRY(tk_buf_reserve(out, 0, err));
    out->data[0] = '\0';
    return tk_decode_ids(d->tok, &d->rx, d->ids.v, d->ids.n, d->skip_special, &d->a, &d->b, out, err);
}

static int ends_with_replacement(const tk_buf *b) {
    return b->len >= 3 && memcmp(b->data + b->len - 3, "\xEF\xBF\xBD", 3) == 0;
}

/* Emits cur past prefix into delta (cur must extend prefix). */
static br_status take_delta(br_detokenizer *d, br_error *err) {
    if (memcmp(d->cur.data, d->prefix.data, d->prefix.len) != 0)
        return BR_FAIL(err, BR_ERR_TOKENIZER,
                       "streaming decode: the text of the last %zu ids no longer starts with the text already emitted",
                       d->ids.n);
    return tk_buf_append(&d->delta, d->cur.data + d->prefix.len, d->cur.len - d->prefix.len, err);
}

static void set_out(br_detokenizer *d, const char **delta, size_t *delta_len) {
    if (delta) *delta = d->delta.data;
    if (delta_len) *delta_len = d->delta.len;
}

br_status br_detokenizer_push(br_detokenizer *d, int32_t id, const char **delta, size_t *delta_len,
                              br_error *err) {
    if (!d) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_detokenizer_push: d must not be NULL");
    d->delta.len = 0;
    d->delta.data[0] = '\0';
    set_out(d, delta, delta_len);
    const br_tokenizer *tok = d->tok;
    if (id < 0 || id >= tok->vocab_size)
        return BR_FAIL(err, BR_ERR_RANGE, "detokenizer: token id %d is out of range (vocab size %d)", id, tok->vocab_size);
    BR_TRY(tk_ids_push(&d->ids, id, err));
    /* ids that decode to nothing (skipped specials, unassigned) do not end a byte run */
    if (tok->id_token[id] && !(d->skip_special && tok->id_special[id])) d->in_byte_run = tok->id_byte[id];
    if (tok->byte_fallback_decoder && d->in_byte_run) return BR_OK; /* the byte run may go on */
    BR_TRY(decode_window(d, &d->cur, err));
    if (d->cur.len <= d->prefix.len || ends_with_replacement(&d->cur)) return BR_OK;
    BR_TRY(take_delta(d, err));
    /* the ids just emitted become the context of the next window */
    size_t keep = d->ids.n - d->read;
    memmove(d->ids.v, d->ids.v + d->read, keep * sizeof *d->ids.v);
    d->ids.n = keep;
    d->read = keep;
    BR_TRY(decode_window(d, &d->prefix, err));
    set_out(d, delta, delta_len);
    return BR_OK;
}

br_status br_detokenizer_flush(br_detokenizer *d, const char **delta, size_t *delta_len, br_error *err) {
    if (!d) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_detokenizer_flush: d must not be NULL");
    d->delta.len = 0;
    d->delta.data[0] = '\0';
    set_out(d, delta, delta_len);
    if (d->read < d->ids.n) {
        BR_TRY(decode_window(d, &d->cur, err));
        if (d->cur.len > d->prefix.len) BR_TRY(take_delta(d, err));
    }
    d->ids.n = 0;
    d->read = 0;
    d->in_byte_run = 0;
    d->prefix.len = 0;
    d->prefix.data[0] = '\0';
    set_out(d, delta, delta_len);
    return BR_OK;
}
