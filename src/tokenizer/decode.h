/*
 * decode.h - tokenizer.json "decoder": token strings -> text.
 *
 * As in the library, a decoder maps the list of token strings to a new list
 * (decode_chain) and the final text is that list joined.  Decoders may
 * produce invalid UTF-8 only transiently: ByteLevel and ByteFallback repair
 * it the way the library does (U+FFFD per maximal invalid subsequence, or
 * per byte for a failed byte-fallback run), so the result is always valid.
 */
#ifndef BR_TOKENIZER_DECODE_H
#define BR_TOKENIZER_DECODE_H

#include <jansson.h>

#include "tokenizer/buf.h"
#include "tokenizer/regex.h"

typedef struct tk_decoder tk_decoder;

/* j may be null: *out = NULL, meaning the tokens are joined with " ". */
br_status tk_decoder_parse(const json_t *j, const char *where, tk_decoder **out, br_error *err);
void tk_decoder_free(tk_decoder *d);

/* Decodes the token strings in *toks (consumed; *spare is scratch) and
 * appends the joined text to *out. */
br_status tk_decode_tokens(const tk_decoder *d, tk_rx_ctx *rx, tk_pieces *toks, tk_pieces *spare, tk_buf *out,
                           br_error *err);

/* 1 if d is, or a Sequence d contains, ByteFallback. */
int tk_decoder_has_byte_fallback(const tk_decoder *d);

#endif /* BR_TOKENIZER_DECODE_H */
