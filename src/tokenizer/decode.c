/*
 * decode.c - the decoders: ByteLevel, Metaspace, Replace, ByteFallback, Fuse,
 * Strip, BPEDecoder and Sequence (see decode.h).
 *
 * Each maps one string list (a tk_pieces) to another; Sequence runs its
 * children in order on the same pair of lists.
 */
#include "tokenizer/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tokenizer/bytelevel.h"
#include "tokenizer/tkjson.h"
#include "tokenizer/unicode.h"

typedef enum {
    DEC_BYTELEVEL, DEC_METASPACE, DEC_REPLACE, DEC_BYTE_FALLBACK, DEC_FUSE, DEC_STRIP, DEC_BPE, DEC_SEQUENCE,
} dec_kind;

struct tk_decoder {
    dec_kind kind;
    uint32_t cp;       /* Metaspace replacement, Strip content */
    int drop_first;    /* Metaspace: prepend_scheme is not "never" */
    size_t start, stop; /* Strip */
    tk_regex *pattern; /* Replace */
    char *text;        /* Replace content, BPEDecoder suffix */
    size_t text_len;
    tk_decoder **items; /* Sequence: n_items children */
    size_t n_items;
};

void tk_decoder_free(tk_decoder *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n_items; i++) tk_decoder_free(d->items[i]);
    free(d->items);
    tk_regex_free(d->pattern);
    free(d->text);
    free(d);
}

static br_status one_char(const json_t *j, const char *key, const char *dflt, const char *where, uint32_t *cp,
                          br_error *err) {
    const char *s;
    size_t len;
    BR_TRY(tk_json_opt_string(j, key, where, &s, &len, err));
    if (!s) {
        s = dflt;
        len = strlen(dflt);
    }
    size_t i = 0;
    if (len == 0 || len > 4 || tk_utf8_valid_prefix(s, len) != len || (*cp = tk_utf8_next(s, &i), i != len))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.%s: expected exactly one character, found \"%s\"", where, key, s);
    return BR_OK;
}

static br_status dup_text(tk_decoder *d, const char *s, size_t len, br_error *err) {
    d->text = br_malloc(len + 1, err);
    if (!d->text) return BR_ERR_NOMEM;
    memcpy(d->text, s, len);
    d->text[len] = '\0';
    d->text_len = len;
    return BR_OK;
}

static br_status parse_into(tk_decoder *d, const json_t *j, const char *where, br_error *err) {
    const char *type, *s;
    size_t len;
    BR_TRY(tk_json_type(j, where, &type, err));
    if (strcmp(type, "ByteLevel") == 0) {
        d->kind = DEC_BYTELEVEL;
        return BR_OK;
    }
    if (strcmp(type, "Metaspace") == 0) {
        d->kind = DEC_METASPACE;
        BR_TRY(one_char(j, "replacement", "\xE2\x96\x81", where, &d->cp, err));
        BR_TRY(tk_json_opt_string(j, "prepend_scheme", where, &s, NULL, err));
        if (s) {
            d->drop_first = strcasecmp(s, "never") != 0;
        } else {
            BR_TRY(tk_json_bool(j, "add_prefix_space", 1, where, &d->drop_first, err));
        }
        return BR_OK;
    }
    if (strcmp(type, "Replace") == 0) {
        d->kind = DEC_REPLACE;
        BR_TRY(tk_json_pattern(j, "pattern", where, &d->pattern, err));
        BR_TRY(tk_json_string(j, "content", where, &s, &len, err));
        return dup_text(d, s, len, err);
    }
    if (strcmp(type, "ByteFallback") == 0) {
        d->kind = DEC_BYTE_FALLBACK;
        return BR_OK;
    }
    if (strcmp(type, "Fuse") == 0) {
        d->kind = DEC_FUSE;
        return BR_OK;
    }
    if (strcmp(type, "Strip") == 0) {
        long long a, b;
        d->kind = DEC_STRIP;
        BR_TRY(one_char(j, "content", " ", where, &d->cp, err));
        BR_TRY(tk_json_int(j, "start", 0, 0, 1 << 30, where, &a, err));
        BR_TRY(tk_json_int(j, "stop", 0, 0, 1 << 30, where, &b, err));
        d->start = (size_t)a;
        d->stop = (size_t)b;
        return BR_OK;
    }
    if (strcmp(type, "BPEDecoder") == 0) {
        d->kind = DEC_BPE;
        BR_TRY(tk_json_opt_string(j, "suffix", where, &s, &len, err));
        if (!s) {
            s = "</w>";
            len = 4;
        }
        return dup_text(d, s, len, err);
    }
    if (strcmp(type, "Sequence") == 0) {
        d->kind = DEC_SEQUENCE;
        const json_t *arr;
        BR_TRY(tk_json_array(j, "decoders", where, &arr, err));
        d->items = br_calloc(json_array_size(arr), sizeof *d->items, err);
        if (!d->items) return BR_ERR_NOMEM;
        for (size_t i = 0; i < json_array_size(arr); i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.decoders[%zu]", where, i);
            BR_TRY(tk_decoder_parse(json_array_get(arr, i), sub, &d->items[i], err));
            d->n_items = i + 1;
            if (!d->items[i]) return BR_FAIL(err, BR_ERR_TOKENIZER, "%s: expected a decoder object, found null", sub);
        }
        return BR_OK;
    }
    return BR_FAIL(err, BR_ERR_TOKENIZER,
                   "%s.type: unknown decoder type \"%s\" (braid handles ByteLevel, Metaspace, Replace, ByteFallback, "
                   "Fuse, Strip, BPEDecoder, Sequence)", where, type);
}

br_status tk_decoder_parse(const json_t *j, const char *where, tk_decoder **out, br_error *err) {
    *out = NULL;
    if (!j || json_is_null(j)) return BR_OK;
    tk_decoder *d = br_calloc(1, sizeof *d, err);
    if (!d) return BR_ERR_NOMEM;
    br_status st = parse_into(d, j, where, err);
    if (st != BR_OK) {
        tk_decoder_free(d);
        return st;
    }
    *out = d;
    return BR_OK;
}

/* ---- decode_chain of each decoder: in -> out (out starts empty) ---------- */

static br_status bytelevel(tk_pieces *in, tk_pieces *out, br_error *err) {
    tk_buf bytes = {0};
    br_status st = BR_OK;
    for (size_t t = 0; t < in->n && st == BR_OK; t++) {
        const char *s = tk_piece_text(in, t);
        size_t len = in->v[t].len, i = 0, mark = bytes.len;
        int in_alphabet = 1;
        while (i < len && st == BR_OK) {
            int b = tk_cp_to_byte(tk_utf8_next(s, &i));
            if (b < 0) {
                in_alphabet = 0;
                break;
            }
            unsigned char c = (unsigned char)b;
            st = tk_buf_append(&bytes, &c, 1, err);
        }
        if (st == BR_OK && !in_alphabet) { /* a char outside the alphabet: the token's own bytes */
            bytes.len = mark;
            st = tk_buf_append(&bytes, s, len, err);
        }
    }
    if (st == BR_OK) st = tk_pieces_open(out, -1, 0, err);
    if (st == BR_OK) st = tk_utf8_lossy(bytes.data ? bytes.data : "", bytes.len, &out->text, err);
    if (st == BR_OK) tk_pieces_close(out);
    tk_buf_free(&bytes);
    return st;
}

/* "<0xAB>" (Rust u8::from_str_radix(.., 16) also takes "+A"): 1 and *b, else 0. */
static int byte_token(const char *s, size_t len, unsigned char *b) {
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return 0;
    const char *h = s + 3;
    size_t n = 2;
    if (h[0] == '+') {
        h++;
        n = 1;
    }
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return 0;
        v = v * 16 + (unsigned)d;
    }
    *b = (unsigned char)v;
    return 1;
}

static br_status flush_bytes(tk_buf *bytes, tk_pieces *out, br_error *err) {
    if (!bytes->len) return BR_OK;
    if (tk_utf8_valid_prefix(bytes->data, bytes->len) == bytes->len) {
        BR_TRY(tk_pieces_add(out, bytes->data, bytes->len, -1, 0, err));
    } else {
        for (size_t i = 0; i < bytes->len; i++) BR_TRY(tk_pieces_add(out, "\xEF\xBF\xBD", 3, -1, 0, err));
    }
    bytes->len = 0;
    return BR_OK;
}

static br_status byte_fallback(tk_pieces *in, tk_pieces *out, br_error *err) {
    tk_buf bytes = {0};
    br_status st = BR_OK;
    for (size_t t = 0; t < in->n && st == BR_OK; t++) {
        unsigned char b;
        if (byte_token(tk_piece_text(in, t), in->v[t].len, &b)) {
            st = tk_buf_append(&bytes, &b, 1, err);
            continue;
        }
        st = flush_bytes(&bytes, out, err);
        if (st == BR_OK) st = tk_pieces_add(out, tk_piece_text(in, t), in->v[t].len, -1, 0, err);
    }
    if (st == BR_OK) st = flush_bytes(&bytes, out, err);
    tk_buf_free(&bytes);
    return st;
}

static br_status metaspace(const tk_decoder *d, tk_pieces *in, tk_pieces *out, br_error *err) {
    for (size_t t = 0; t < in->n; t++) {
        const char *s = tk_piece_text(in, t);
        size_t len = in->v[t].len;
        BR_TRY(tk_pieces_open(out, -1, 0, err));
        for (size_t i = 0; i < len;) {
            size_t start = i;
            if (tk_utf8_next(s, &i) != d->cp) BR_TRY(tk_buf_append(&out->text, s + start, i - start, err));
            else if (t != 0 || !d->drop_first) BR_TRY(tk_buf_append(&out->text, " ", 1, err));
        }
        tk_pieces_close(out);
    }
    return BR_OK;
}

static br_status replace(const tk_decoder *d, tk_rx_ctx *rx, tk_pieces *in, tk_pieces *out, br_error *err) {
    tk_spans m = {0};
    br_status st = BR_OK;
    for (size_t t = 0; t < in->n && st == BR_OK; t++) {
        const char *s = tk_piece_text(in, t);
        size_t len = in->v[t].len, at = 0;
        st = tk_regex_find_all(d->pattern, rx, s, len, &m, err);
        if (st == BR_OK) st = tk_pieces_open(out, -1, 0, err);
        for (size_t k = 0; k < m.n && st == BR_OK; k++) {
            st = tk_buf_append(&out->text, s + at, m.v[k].start - at, err);
            if (st == BR_OK) st = tk_buf_append(&out->text, d->text, d->text_len, err);
            at = m.v[k].end;
        }
        if (st == BR_OK) st = tk_buf_append(&out->text, s + at, len - at, err);
        if (st == BR_OK) tk_pieces_close(out);
    }
    tk_spans_free(&m);
    return st;
}

static br_status strip(const tk_decoder *d, tk_pieces *in, tk_pieces *out, br_error *err) {
    for (size_t t = 0; t < in->n; t++) {
        const char *s = tk_piece_text(in, t);
        size_t len = in->v[t].len, lo = 0, hi = len;
        for (size_t k = 0; k < d->start && lo < len; k++) {
            size_t i = lo;
            if (tk_utf8_next(s, &i) != d->cp) break;
            lo = i;
        }
        for (size_t k = 0; k < d->stop && hi > lo; k++) {
            size_t i = hi - 1;
            while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
            size_t j = i;
            if (tk_utf8_next(s, &j) != d->cp) break;
            hi = i;
        }
        BR_TRY(tk_pieces_add(out, s + lo, hi - lo, -1, 0, err));
    }
    return BR_OK;
}

static br_status bpe_suffix(const tk_decoder *d, tk_pieces *in, tk_pieces *out, br_error *err) {
    for (size_t t = 0; t < in->n; t++) {
        const char *s = tk_piece_text(in, t);
        size_t len = in->v[t].len, at = 0;
        const char *with = t + 1 == in->n ? "" : " ";
        BR_TRY(tk_pieces_open(out, -1, 0, err));
        while (d->text_len && at + d->text_len <= len) {
            const char *hit = memmem(s + at, len - at, d->text, d->text_len);
            if (!hit) break;
            BR_TRY(tk_buf_append(&out->text, s + at, (size_t)(hit - (s + at)), err));
            BR_TRY(tk_buf_append(&out->text, with, strlen(with), err));
            at = (size_t)(hit - s) + d->text_len;
        }
        BR_TRY(tk_buf_append(&out->text, s + at, len - at, err));
        tk_pieces_close(out);
    }
    return BR_OK;
}

static br_status fuse(tk_pieces *in, tk_pieces *out, br_error *err) {
    BR_TRY(tk_pieces_open(out, -1, 0, err));
    for (size_t t = 0; t < in->n; t++) BR_TRY(tk_buf_append(&out->text, tk_piece_text(in, t), in->v[t].len, err));
    tk_pieces_close(out);
    return BR_OK;
}

static br_status chain(const tk_decoder *d, tk_rx_ctx *rx, tk_pieces *io, tk_pieces *spare, br_error *err) {
    if (d->kind == DEC_SEQUENCE) {
        for (size_t i = 0; i < d->n_items; i++) BR_TRY(chain(d->items[i], rx, io, spare, err));
        return BR_OK;
    }
    tk_pieces_clear(spare);
    switch (d->kind) {
    case DEC_BYTELEVEL: BR_TRY(bytelevel(io, spare, err)); break;
    case DEC_METASPACE: BR_TRY(metaspace(d, io, spare, err)); break;
    case DEC_REPLACE: BR_TRY(replace(d, rx, io, spare, err)); break;
    case DEC_BYTE_FALLBACK: BR_TRY(byte_fallback(io, spare, err)); break;
    case DEC_FUSE: BR_TRY(fuse(io, spare, err)); break;
    case DEC_STRIP: BR_TRY(strip(d, io, spare, err)); break;
    case DEC_BPE: BR_TRY(bpe_suffix(d, io, spare, err)); break;
    case DEC_SEQUENCE: break;
    }
    tk_pieces_swap(io, spare);
    return BR_OK;
}

br_status tk_decode_tokens(const tk_decoder *d, tk_rx_ctx *rx, tk_pieces *toks, tk_pieces *spare, tk_buf *out,
                           br_error *err) {
    if (d) BR_TRY(chain(d, rx, toks, spare, err));
    for (size_t t = 0; t < toks->n; t++) {
        if (!d && t > 0) BR_TRY(tk_buf_append(out, " ", 1, err));
        BR_TRY(tk_buf_append(out, tk_piece_text(toks, t), toks->v[t].len, err));
    }
    return BR_OK;
}

int tk_decoder_has_byte_fallback(const tk_decoder *d) {
    if (!d) return 0;
    if (d->kind == DEC_BYTE_FALLBACK) return 1;
    for (size_t i = 0; i < d->n_items; i++)
        if (tk_decoder_has_byte_fallback(d->items[i])) return 1;
    return 0;
}
