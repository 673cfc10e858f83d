/*
 * pretokenize.h - tokenizer.json "pre_tokenizer": cutting normalized text
 * into the words the model tokenizes one at a time.
 *
 * Parsed once into a small tree (Sequence nodes hold children).  Applied to
 * a piece list: pieces that already carry an added-token id pass through,
 * each other piece is replaced by its sub-pieces.  Splitting follows the
 * library's NormalizedString::split: a pattern yields alternating
 * match / non-match segments, a behavior (Isolated, Removed,
 * MergedWithPrevious, MergedWithNext, Contiguous) turns them into pieces, and
 * empty pieces vanish.  ByteLevel and Metaspace also rewrite piece text.
 */
#ifndef BR_TOKENIZER_PRETOKENIZE_H
#define BR_TOKENIZER_PRETOKENIZE_H

#include <jansson.h>

#include "tokenizer/buf.h"
#include "tokenizer/regex.h"

typedef struct tk_pretok tk_pretok;

/* j may be null: *out = NULL, meaning no pre-tokenization. */
br_status tk_pretok_parse(const json_t *j, const char *where, tk_pretok **out, br_error *err);
void tk_pretok_free(tk_pretok *p);

/* Replaces *io with its pre-tokenized pieces (*spare is scratch; p may be NULL). */
br_status tk_pretokenize(const tk_pretok *p, tk_rx_ctx *rx, tk_pieces *io, tk_pieces *spare, br_error *err);

#endif /* BR_TOKENIZER_PRETOKENIZE_H */
