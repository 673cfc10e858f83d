/*
 * unicode.h - UTF-8 and the character classes the tokenizers library uses.
 *
 * The reference library is written in Rust, so "whitespace", "word
 * character", "numeric" and "lowercase" here mean what Rust's char methods
 * and its regex crate mean by them; each function names its Rust twin.
 * Categories come from utf8proc (its Unicode version may trail Rust's for
 * the newest code points).
 */
#ifndef BR_TOKENIZER_UNICODE_H
#define BR_TOKENIZER_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer/buf.h"

/* Decodes the code point at s[*i] of text known to be valid UTF-8; advances *i. */
static inline uint32_t tk_utf8_next(const char *s, size_t *i) {
    const unsigned char *u = (const unsigned char *)s + *i;
    if (u[0] < 0x80) {
        *i += 1;
        return u[0];
    }
    if (u[0] < 0xE0) {
        *i += 2;
        return ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
    }
    if (u[0] < 0xF0) {
        *i += 3;
        return ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
    }
    *i += 4;
    return ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
           ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
}

/* Byte length of the UTF-8 sequence that starts with lead byte c (1 for junk). */
static inline size_t tk_utf8_seq_len(unsigned char c) {
    return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Code point of the last character of valid UTF-8 text s[0..len), len > 0. */
uint32_t tk_utf8_last(const char *s, size_t len);

/* Length of the longest valid prefix of s (== len when s is valid UTF-8). */
size_t tk_utf8_valid_prefix(const char *s, size_t len);

/* Appends s with each maximal invalid subsequence replaced by U+FFFD, exactly
 * as Rust's String::from_utf8_lossy does. */
br_status tk_utf8_lossy(const char *s, size_t len, tk_buf *out, br_error *err);

int tk_is_whitespace(uint32_t cp);  /* char::is_whitespace (Unicode White_Space) */
int tk_is_word(uint32_t cp);        /* regex crate \w: Alphabetic, M, Nd, Pc, Join_Control */
int tk_is_numeric(uint32_t cp);     /* char::is_numeric: Nd, Nl, No */
int tk_is_punctuation(uint32_t cp); /* is_ascii_punctuation || general category P* */
int tk_is_mark(uint32_t cp);        /* Mn, Mc, Me (StripAccents removes these) */
/* char::to_lowercase: writes 1 or 2 code points to out, returns the count. */
size_t tk_to_lowercase(uint32_t cp, uint32_t out[2]);

#endif /* BR_TOKENIZER_UNICODE_H */
