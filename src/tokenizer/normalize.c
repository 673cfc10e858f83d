/*
 * normalize.c - the normalizers: NFC/NFD/NFKC/NFKD (utf8proc), Lowercase,
 * Strip, StripAccents, Replace, Prepend, BertNormalizer and Sequence.
 *
 * Each step maps one buffer to another; Sequence ping-pongs between two
 * scratch buffers.  Character semantics are Rust's (see unicode.h):
 * Lowercase maps char by char (no final-sigma rule), Strip trims
 * White_Space, StripAccents drops every mark (Mn, Mc, Me).
 */
#include "tokenizer/normalize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/tkjson.h"
#include "tokenizer/unicode.h"

typedef enum {
    NORM_NFC, NORM_NFD, NORM_NFKC, NORM_NFKD, NORM_LOWERCASE, NORM_STRIP, NORM_STRIP_ACCENTS,
    NORM_REPLACE, NORM_PREPEND, NORM_BERT, NORM_SEQUENCE,
} norm_kind;

struct tk_normalizer {
    norm_kind kind;
    int left, right;            /* Strip */
    tk_regex *pattern;          /* Replace */
    char *text;                 /* Replace content / Prepend prefix */
    size_t text_len;
    int clean_text, chinese, strip_accents, lowercase; /* BertNormalizer */
    tk_normalizer **items;      /* Sequence: n_items children */
    size_t n_items;
};

void tk_normalizer_free(tk_normalizer *n) {
    if (!n) return;
    for (size_t i = 0; i < n->n_items; i++) tk_normalizer_free(n->items[i]);
    free(n->items);
    tk_regex_free(n->pattern);
    free(n->text);
    free(n);
}

static br_status dup_text(tk_normalizer *n, const char *s, size_t len, br_error *err) {
    n->text = br_malloc(len + 1, err);
    if (!n->text) return BR_ERR_NOMEM;
    memcpy(n->text, s, len);
    n->text[len] = '\0';
    n->text_len = len;
    return BR_OK;
}

static br_status parse_into(tk_normalizer *n, const json_t *j, const char *where, br_error *err) {
    const char *type;
    BR_TRY(tk_json_type(j, where, &type, err));
    static const struct { const char *name; norm_kind kind; } simple[] = {
        {"NFC", NORM_NFC}, {"NFD", NORM_NFD}, {"NFKC", NORM_NFKC}, {"NFKD", NORM_NFKD},
        {"Lowercase", NORM_LOWERCASE}, {"StripAccents", NORM_STRIP_ACCENTS},
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        if (strcmp(type, simple[i].name) == 0) {
            n->kind = simple[i].kind;
            return BR_OK;
        }
    }
    const char *s;
    size_t len;
    if (strcmp(type, "Strip") == 0) {
        n->kind = NORM_STRIP;
        BR_TRY(tk_json_bool(j, "strip_left", 1, where, &n->left, err));
        return tk_json_bool(j, "strip_right", 1, where, &n->right, err);
    }
    if (strcmp(type, "Replace") == 0) {
        n->kind = NORM_REPLACE;
        BR_TRY(tk_json_pattern(j, "pattern", where, &n->pattern, err));
        BR_TRY(tk_json_string(j, "content", where, &s, &len, err));
        return dup_text(n, s, len, err);
    }
    if (strcmp(type, "Prepend") == 0) {
        n->kind = NORM_PREPEND;
        BR_TRY(tk_json_string(j, "prepend", where, &s, &len, err));
        return dup_text(n, s, len, err);
    }
    if (strcmp(type, "BertNormalizer") == 0) {
        n->kind = NORM_BERT;
        BR_TRY(tk_json_bool(j, "clean_text", 1, where, &n->clean_text, err));
        BR_TRY(tk_json_bool(j, "handle_chinese_chars", 1, where, &n->chinese, err));
        BR_TRY(tk_json_bool(j, "lowercase", 1, where, &n->lowercase, err));
        /* strip_accents: null means "same as lowercase" */
        return tk_json_bool(j, "strip_accents", n->lowercase, where, &n->strip_accents, err);
    }
    if (strcmp(type, "Sequence") == 0) {
        n->kind = NORM_SEQUENCE;
        const json_t *arr;
        BR_TRY(tk_json_array(j, "normalizers", where, &arr, err));
        n->items = br_calloc(json_array_size(arr), sizeof *n->items, err);
        if (!n->items) return BR_ERR_NOMEM;
        for (size_t i = 0; i < json_array_size(arr); i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.normalizers[%zu]", where, i);
            BR_TRY(tk_normalizer_parse(json_array_get(arr, i), sub, &n->items[i], err));
            n->n_items = i + 1;
            if (!n->items[i])
                return BR_FAIL(err, BR_ERR_TOKENIZER, "%s: expected a normalizer object, found null", sub);
        }
        return BR_OK;
    }
    return BR_FAIL(err, BR_ERR_TOKENIZER,
                   "%s.type: unknown normalizer type \"%s\" (braid handles NFC, NFD, NFKC, NFKD, Lowercase, "
                   "Strip, StripAccents, Replace, Prepend, BertNormalizer, Sequence)", where, type);
}

br_status tk_normalizer_parse(const json_t *j, const char *where, tk_normalizer **out, br_error *err) {
    *out = NULL;
    if (!j || json_is_null(j)) return BR_OK;
    tk_normalizer *n = br_calloc(1, sizeof *n, err);
    if (!n) return BR_ERR_NOMEM;
    br_status st = parse_into(n, j, where, err);
    if (st != BR_OK) {
        tk_normalizer_free(n);
        return st;
    }
    *out = n;
    return BR_OK;
}

static br_status unicode_form(norm_kind kind, const char *s, size_t len, tk_buf *out, br_error *err) {
    if (len == 0) return BR_OK;
    int opts = UTF8PROC_STABLE;
    opts |= (kind == NORM_NFC || kind == NORM_NFKC) ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE;
    if (kind == NORM_NFKC || kind == NORM_NFKD) opts |= UTF8PROC_COMPAT;
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &dst,
                                      (utf8proc_option_t)opts);
    if (n < 0) {
        free(dst);
        return BR_FAIL(err, BR_ERR_TOKENIZER, "unicode normalization failed: %s", utf8proc_errmsg(n));
    }
    br_status st = tk_buf_append(out, dst, (size_t)n, err);
    free(dst);
    return st;
}

static int is_bert_control(uint32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return 0;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CN ||
           c == UTF8PROC_CATEGORY_CO;
}

static int is_chinese(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) ||
           (cp >= 0x2B920 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* Char-by-char steps: Lowercase, StripAccents, and BERT's text cleaning. */
static br_status map_chars(norm_kind kind, const tk_normalizer *n, const char *s, size_t len, tk_buf *out,
                           br_error *err) {
    BR_TRY(tk_buf_reserve(out, len, err));
    for (size_t i = 0; i < len;) {
        size_t start = i;
        uint32_t cp = tk_utf8_next(s, &i);
        if (kind == NORM_LOWERCASE) {
            uint32_t lo[2];
            size_t k = tk_to_lowercase(cp, lo);
            for (size_t q = 0; q < k; q++) BR_TRY(tk_buf_append_cp(out, lo[q], err));
        } else if (kind == NORM_STRIP_ACCENTS) {
            if (!tk_is_mark(cp)) BR_TRY(tk_buf_append(out, s + start, i - start, err));
        } else if (n && n->clean_text && (cp == 0 || cp == 0xFFFD || is_bert_control(cp))) {
            continue;
        } else if (n && n->clean_text && (tk_is_whitespace(cp))) {
            BR_TRY(tk_buf_append(out, " ", 1, err));
        } else if (n && n->chinese && is_chinese(cp)) {
            BR_TRY(tk_buf_append(out, " ", 1, err));
            BR_TRY(tk_buf_append(out, s + start, i - start, err));
            BR_TRY(tk_buf_append(out, " ", 1, err));
        } else {
            BR_TRY(tk_buf_append(out, s + start, i - start, err));
        }
    }
    return BR_OK;
}

static br_status replace(const tk_normalizer *n, tk_rx_ctx *rx, const char *s, size_t len, tk_buf *out,
                         br_error *err) {
    tk_spans m = {0};
    br_status st = tk_regex_find_all(n->pattern, rx, s, len, &m, err);
    size_t at = 0;
    for (size_t k = 0; st == BR_OK && k < m.n; k++) {
        st = tk_buf_append(out, s + at, m.v[k].start - at, err);
        if (st == BR_OK) st = tk_buf_append(out, n->text, n->text_len, err);
        at = m.v[k].end;
    }
    if (st == BR_OK) st = tk_buf_append(out, s + at, len - at, err);
    tk_spans_free(&m);
    return st;
}

static br_status apply(const tk_normalizer *n, tk_rx_ctx *rx, const char *s, size_t len, tk_buf *out,
                       br_error *err);

static br_status sequence(const tk_normalizer *n, tk_rx_ctx *rx, const char *s, size_t len, tk_buf *out,
                          br_error *err) {
    tk_buf a = {0}, b = {0};
    br_status st = tk_buf_append(&a, s, len, err);
    for (size_t i = 0; st == BR_OK && i < n->n_items; i++) {
        b.len = 0;
        st = apply(n->items[i], rx, a.data, a.len, &b, err);
        tk_buf t = a;
        a = b;
        b = t;
    }
    if (st == BR_OK) st = tk_buf_append(out, a.data, a.len, err);
    tk_buf_free(&a);
    tk_buf_free(&b);
    return st;
}

static br_status strip(const tk_normalizer *n, const char *s, size_t len, tk_buf *out, br_error *err) {
    size_t lo = 0, hi = len;
    if (n->left) {
        while (lo < hi) {
            size_t i = lo;
            if (!tk_is_whitespace(tk_utf8_next(s, &i))) break;
            lo = i;
        }
    }
    if (n->right) {
        while (hi > lo) {
            size_t i = hi - 1;
            while (i > lo && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
            size_t j = i;
            if (!tk_is_whitespace(tk_utf8_next(s, &j))) break;
            hi = i;
        }
    }
    return tk_buf_append(out, s + lo, hi - lo, err);
}

static br_status apply(const tk_normalizer *n, tk_rx_ctx *rx, const char *s, size_t len, tk_buf *out,
                       br_error *err) {
    switch (n->kind) {
    case NORM_NFC: case NORM_NFD: case NORM_NFKC: case NORM_NFKD:
        return unicode_form(n->kind, s, len, out, err);
    case NORM_LOWERCASE: case NORM_STRIP_ACCENTS:
        return map_chars(n->kind, NULL, s, len, out, err);
    case NORM_STRIP:
        return strip(n, s, len, out, err);
    case NORM_REPLACE:
        return replace(n, rx, s, len, out, err);
    case NORM_PREPEND:
        if (len) BR_TRY(tk_buf_append(out, n->text, n->text_len, err));
        return tk_buf_append(out, s, len, err);
    case NORM_SEQUENCE:
        return sequence(n, rx, s, len, out, err);
    case NORM_BERT: {
        /* clean text + chinese padding, then NFD + drop marks, then lowercase */
        tk_buf a = {0}, b = {0};
        br_status st = map_chars(NORM_BERT, n, s, len, &a, err);
        if (st == BR_OK && n->strip_accents) {
            st = unicode_form(NORM_NFD, a.data, a.len, &b, err);
            a.len = 0;
            if (st == BR_OK) st = map_chars(NORM_STRIP_ACCENTS, NULL, b.data, b.len, &a, err);
        }
        if (st == BR_OK && n->lowercase) {
            b.len = 0;
            st = map_chars(NORM_LOWERCASE, NULL, a.data, a.len, &b, err);
            if (st == BR_OK) st = tk_buf_append(out, b.data, b.len, err);
        } else if (st == BR_OK) {
            st = tk_buf_append(out, a.data, a.len, err);
        }
        tk_buf_free(&a);
        tk_buf_free(&b);
        return st;
    }
    }
    return BR_OK;
}

br_status tk_normalize(const tk_normalizer *n, tk_rx_ctx *rx, const char *s, size_t len, tk_buf *out,
                       br_error *err) {
    out->len = 0;
    if (!n) return tk_buf_append(out, s, len, err);
    BR_TRY(tk_buf_reserve(out, 0, err));
    out->data[0] = '\0';
    return apply(n, rx, s, len, out, err);
}
