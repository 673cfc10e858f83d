/*
 * regex.h - the patterns of Split, Replace and ByteLevel, matched the way the
 * tokenizers library matches them.
 *
 * tokenizers compiles patterns with Oniguruma (Ruby syntax); braid uses PCRE2
 * in UTF + UCP mode with MULTILINE (Ruby's ^ and $ are line anchors) and
 * rewrites the few escapes whose meaning differs: \s and \S (Oniguruma's \s is
 * White_Space: it has U+0085 and lacks U+180E), \w and \W (Oniguruma's word is
 * Alphabetic + marks + Nd + Pc, plus six Latin-1 No characters outside
 * brackets), \h and \H (hex digits in Ruby).  These were checked against the
 * library over all code points up to U+2FFFF; what still differs is the
 * Unicode version (PCRE2 10.42 has Unicode 14, the library's Oniguruma 16), so
 * letters and digits added since are not \p{L} / \p{N} here.  A "String"
 * pattern is matched literally, without PCRE2.
 *
 * Iteration follows the Rust onig crate's find_iter: after a match ending at
 * e the next search starts at e; an empty match right where the previous
 * match ended is skipped by moving on one character.
 */
#ifndef BR_TOKENIZER_REGEX_H
#define BR_TOKENIZER_REGEX_H

#include <stddef.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/error.h"

typedef struct tk_regex tk_regex;

/* Per-call match state (regexes themselves are shared and read-only). */
typedef struct tk_rx_ctx {
    pcre2_match_data *md;
    pcre2_match_context *mc;
    pcre2_jit_stack *jit;
} tk_rx_ctx;

br_status tk_rx_ctx_init(tk_rx_ctx *c, br_error *err);
void tk_rx_ctx_free(tk_rx_ctx *c);

/* literal != 0: pattern is a plain string; else an Oniguruma-syntax regex. */
br_status tk_regex_new(const char *pattern, size_t len, int literal, tk_regex **out, br_error *err);
void tk_regex_free(tk_regex *re);

typedef struct tk_span {
    size_t start, end; /* byte offsets */
} tk_span;

typedef struct tk_spans {
    tk_span *v;
    size_t n, cap;
} tk_spans;

br_status tk_spans_push(tk_spans *s, size_t start, size_t end, br_error *err);
void tk_spans_free(tk_spans *s);

/* Clears *out and fills it with every match in s[0..len) (valid UTF-8); an
 * empty string has no matches, not even an empty one. */
br_status tk_regex_find_all(const tk_regex *re, tk_rx_ctx *c, const char *s, size_t len, tk_spans *out,
                            br_error *err);

#endif /* BR_TOKENIZER_REGEX_H */
