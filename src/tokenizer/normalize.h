/*
 * normalize.h - tokenizer.json "normalizer": text -> normalized text.
 *
 * A normalizer is a small tree parsed once at load (Sequence nodes hold
 * children).  The encoder applies it to each stretch of input between
 * non-normalized added tokens, and at load time to the content of every
 * normalized added token, as the tokenizers library does.  Offsets are not
 * tracked: braid needs ids, not alignments.
 */
#ifndef BR_TOKENIZER_NORMALIZE_H
#define BR_TOKENIZER_NORMALIZE_H

#include <jansson.h>

#include "tokenizer/buf.h"
#include "tokenizer/regex.h"

typedef struct tk_normalizer tk_normalizer;

/* j may be null (JSON null or absent): *out = NULL, meaning identity. */
br_status tk_normalizer_parse(const json_t *j, const char *where, tk_normalizer **out, br_error *err);
void tk_normalizer_free(tk_normalizer *n);

/* Clears *out and writes the normalized s[0..len) into it (n may be NULL). */
br_status tk_normalize(const tk_normalizer *n, tk_rx_ctx *rx, const char *s, size_t len, tk_buf *out,
                       br_error *err);

#endif /* BR_TOKENIZER_NORMALIZE_H */
