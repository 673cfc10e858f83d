/*
 * postprocess.h - tokenizer.json "post_processor": the special tokens an
 * encode with add_special_tokens=True wraps around a single sequence.
 *
 * Everything is resolved to ids at load, so applying it is concatenation:
 * TemplateProcessing's "single" template (SpecialToken pieces become their
 * ids, the $A piece the encoded text), BertProcessing / RobertaProcessing
 * (cls ... sep), ByteLevel (ids unchanged: it only trims offsets) and
 * Sequence (each in turn).  Pair templates are not used by braid.
 */
#ifndef BR_TOKENIZER_POSTPROCESS_H
#define BR_TOKENIZER_POSTPROCESS_H

#include <jansson.h>

#include "tokenizer/buf.h"

typedef struct tk_post tk_post;

/* j may be null: *out = NULL, meaning no special tokens are added. */
br_status tk_post_parse(const json_t *j, const char *where, tk_post **out, br_error *err);
void tk_post_free(tk_post *p);

/* Rewrites *ids as the post-processed sequence (p may be NULL). */
br_status tk_post_apply(const tk_post *p, tk_ids *ids, br_error *err);

#endif /* BR_TOKENIZER_POSTPROCESS_H */
