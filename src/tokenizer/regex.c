/*
 * regex.c - Oniguruma-compatible matching on PCRE2 (see regex.h).
 *
 * The translation walks the pattern once, tracking whether it is inside a
 * character class, and replaces only the escapes listed in regex.h; every
 * other byte is copied, so PCRE2 reports syntax errors against a pattern
 * that still reads like the original.
 */
#include "tokenizer/regex.h"

#include <stdlib.h>
#include <string.h>

#include "tokenizer/buf.h"
#include "tokenizer/unicode.h"

struct tk_regex {
    pcre2_code *code; /* NULL for a literal */
    char *lit;        /* literal bytes */
    size_t lit_len;
};

/* Unicode White_Space, as Oniguruma's \s. */
#define WS_SET "\\t\\n\\v\\f\\r\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
/* Oniguruma's \w: Alphabetic, Mark, Decimal_Number, Connector_Punctuation; outside a
 * class it also takes the six Latin-1 digits-like No characters (a quirk kept). */
#define WORD_SET "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}"
#define WORD_LATIN1 "\\x{b2}\\x{b3}\\x{b9}\\x{bc}\\x{bd}\\x{be}"
#define HEX_SET "0-9a-fA-F"

static br_status translate(const char *p, size_t len, tk_buf *out, br_error *err) {
    int in_class = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < len) {
            char e = p[++i];
            const char *set = e == 's' || e == 'S' ? WS_SET : e == 'w' || e == 'W' ? WORD_SET
                            : e == 'h' || e == 'H' ? HEX_SET : NULL;
            int negated = e == 'S' || e == 'W' || e == 'H';
            if (set && !in_class) {
                BR_TRY(tk_buf_append(out, negated ? "[^" : "[", negated ? 2 : 1, err));
                BR_TRY(tk_buf_append(out, set, strlen(set), err));
                if (e == 'w' || e == 'W') BR_TRY(tk_buf_append(out, WORD_LATIN1, strlen(WORD_LATIN1), err));
                BR_TRY(tk_buf_append(out, "]", 1, err));
            } else if (set && !negated) {
                BR_TRY(tk_buf_append(out, set, strlen(set), err));
            } else { /* other escapes, and negated sets inside a class, pass through */
                BR_TRY(tk_buf_append(out, p + i - 1, 2, err));
            }
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = 1;
            BR_TRY(tk_buf_append(out, p + i, 1, err));
            /* a ']' right after '[' or '[^' is a literal */
            if (i + 1 < len && p[i + 1] == '^') BR_TRY(tk_buf_append(out, p + ++i, 1, err));
            if (i + 1 < len && p[i + 1] == ']') BR_TRY(tk_buf_append(out, p + ++i, 1, err));
            continue;
        }
        if (c == '[' && i + 1 < len && p[i + 1] == ':') { /* POSIX bracket [:name:] inside a class */
            const char *end = memmem(p + i + 2, len - i - 2, ":]", 2);
            if (end) {
                size_t n = (size_t)(end - (p + i)) + 2;
                BR_TRY(tk_buf_append(out, p + i, n, err));
                i += n - 1;
                continue;
            }
        }
        if (c == '[') in_class++; /* Oniguruma nests classes */
        else if (c == ']' && in_class) in_class--;
        BR_TRY(tk_buf_append(out, &c, 1, err));
    }
    return BR_OK;
}

br_status tk_regex_new(const char *pattern, size_t len, int literal, tk_regex **out, br_error *err) {
    tk_regex *re = br_calloc(1, sizeof *re, err);
    if (!re) return BR_ERR_NOMEM;
    if (literal) {
        re->lit = br_malloc(len + 1, err);
        if (!re->lit) {
            free(re);
            return BR_ERR_NOMEM;
        }
        memcpy(re->lit, pattern, len);
        re->lit[len] = '\0';
        re->lit_len = len;
        *out = re;
        return BR_OK;
    }
    tk_buf pat = {0};
    br_status st = translate(pattern, len, &pat, err);
    if (st == BR_OK) {
        pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
        if (cc) pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
        int code;
        PCRE2_SIZE off;
        re->code = pcre2_compile((PCRE2_SPTR)(pat.data ? pat.data : ""), pat.len,
                                 PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &code, &off, cc);
        pcre2_compile_context_free(cc);
        if (!re->code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(code, msg, sizeof msg);
            st = BR_FAIL(err, BR_ERR_TOKENIZER, "regex /%.*s/ does not compile: %s (at offset %zu of the translated pattern)",
                         (int)(len > 200 ? 200 : len), pattern, (const char *)msg, (size_t)off);
        } else {
            pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE); /* falls back to the interpreter on failure */
        }
    }
    tk_buf_free(&pat);
    if (st != BR_OK) {
        tk_regex_free(re);
        return st;
    }
    *out = re;
    return BR_OK;
}

void tk_regex_free(tk_regex *re) {
    if (!re) return;
    pcre2_code_free(re->code);
    free(re->lit);
    free(re);
}

br_status tk_rx_ctx_init(tk_rx_ctx *c, br_error *err) {
    memset(c, 0, sizeof *c);
    c->md = pcre2_match_data_create(1, NULL);
    c->mc = pcre2_match_context_create(NULL);
    c->jit = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, NULL);
    if (!c->md || !c->mc || !c->jit) {
        tk_rx_ctx_free(c);
        return BR_FAIL(err, BR_ERR_NOMEM, "out of memory creating regex match state");
    }
    pcre2_jit_stack_assign(c->mc, NULL, c->jit);
    return BR_OK;
}

void tk_rx_ctx_free(tk_rx_ctx *c) {
    pcre2_match_data_free(c->md);
    pcre2_match_context_free(c->mc);
    pcre2_jit_stack_free(c->jit);
    memset(c, 0, sizeof *c);
}

br_status tk_spans_push(tk_spans *s, size_t start, size_t end, br_error *err) {
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        tk_span *v = realloc(s->v, ncap * sizeof *v);
        if (!v) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory growing a match list");
        s->v = v;
        s->cap = ncap;
    }
    s->v[s->n++] = (tk_span){start, end};
    return BR_OK;
}

void tk_spans_free(tk_spans *s) {
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Leftmost match at or after `from`: 1 and the span, 0 if none. */
static int search(const tk_regex *re, tk_rx_ctx *c, const char *s, size_t len, size_t from, size_t *ms,
                  size_t *me, br_status *st, br_error *err) {
    if (!re->code) {
        if (re->lit_len == 0) {
            *ms = *me = from;
            return 1;
        }
        if (len - from < re->lit_len) return 0;
        const char *hit = memmem(s + from, len - from, re->lit, re->lit_len);
        if (!hit) return 0;
        *ms = (size_t)(hit - s);
        *me = *ms + re->lit_len;
        return 1;
    }
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, from, PCRE2_NO_UTF_CHECK, c->md, c->mc);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        *st = BR_FAIL(err, BR_ERR_TOKENIZER, "regex match failed: %s", (const char *)msg);
        return 0;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
    *ms = ov[0];
    *me = ov[1];
    return 1;
}

br_status tk_regex_find_all(const tk_regex *re, tk_rx_ctx *c, const char *s, size_t len, tk_spans *out,
                            br_error *err) {
    out->n = 0;
    if (len == 0) return BR_OK; /* the library never matches inside an empty string */
    size_t from = 0, last_end = 0;
    int have_last = 0;
    while (from <= len) {
        size_t ms, me;
        br_status st = BR_OK;
        if (!search(re, c, s, len, from, &ms, &me, &st, err)) return st;
        if (ms == me && have_last && me == last_end) {
            if (from >= len) break;
            from += tk_utf8_seq_len((unsigned char)s[from]);
            continue;
        }
        BR_TRY(tk_spans_push(out, ms, me, err));
        from = me;
        last_end = me;
        have_last = 1;
    }
    return BR_OK;
}
