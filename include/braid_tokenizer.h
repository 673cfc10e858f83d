/*
 * braid_tokenizer.h - Hugging Face tokenizer.json in C: encode text to token
 * ids and decode ids to text, id-for-id and byte-for-byte what the Python
 * `tokenizers` library (0.23) returns.
 *
 * Supported: the BPE model (byte-level, SentencePiece-style with byte
 * fallback, or with subword prefix / word suffix), added tokens, and the
 * normalizers, pre-tokenizers, post-processors and decoders those
 * tokenizers use; see src/tokenizer/ for the list.  Anything else in the
 * file is an error at load that names the field, never a silent difference.
 *
 * Ownership: a br_tokenizer is immutable after load, so one handle may
 * encode and decode on several threads at once.  Arrays and strings returned
 * through `**out` parameters are malloc'd and the caller free()s them.
 * br_tokenizer_free(NULL) and br_detokenizer_free(NULL) are no-ops.
 */
#ifndef BRAID_TOKENIZER_H
#define BRAID_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "braid_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct br_tokenizer br_tokenizer;

/* Loads tokenizer.json.  *out owned by caller; free with br_tokenizer_free. */
br_status br_tokenizer_load(const char *path, br_tokenizer **out, br_error *err);
void br_tokenizer_free(br_tokenizer *tok);

/* Encodes UTF-8 text (len bytes; invalid UTF-8 is an error naming the byte
 * offset).  add_special != 0 applies the post-processor (e.g. Llama's BOS),
 * like tokenizers' encode(text, add_special_tokens=True).  *ids is malloc'd
 * (also when *n_ids is 0); the caller frees it with free(). */
br_status br_tokenizer_encode(const br_tokenizer *tok, const char *text, size_t len, int add_special,
                              int32_t **ids, size_t *n_ids, br_error *err);

/* Decodes like tokenizers' decode(ids, skip_special_tokens=skip_special).
 * *text is malloc'd and NUL-terminated, *len its length without the NUL
 * (len may be NULL).  An id outside [0, vocab size) is BR_ERR_RANGE. */
br_status br_tokenizer_decode(const br_tokenizer *tok, const int32_t *ids, size_t n, int skip_special,
                              char **text, size_t *len, br_error *err);

/* Highest id + 1, added tokens included. */
int32_t br_tokenizer_vocab_size(const br_tokenizer *tok);
/* The id of a token string (added tokens first, then the model); -1 if absent. */
int32_t br_tokenizer_token_to_id(const br_tokenizer *tok, const char *token);
/* The token string of an id, owned by tok; NULL if out of range or unassigned. */
const char *br_tokenizer_id_to_token(const br_tokenizer *tok, int32_t id);

/* Streaming detokenizer for generation: push ids one by one and get the
 * text that is now final.  Text is held back while it ends in an
 * incomplete UTF-8 sequence or a run of byte-fallback tokens, so the pieces,
 * concatenated and followed by br_detokenizer_flush, equal
 * br_tokenizer_decode of all the ids.  *out borrows tok, which must outlive it. */
typedef struct br_detokenizer br_detokenizer;
br_status br_detokenizer_new(const br_tokenizer *tok, int skip_special, br_detokenizer **out, br_error *err);
/* *delta (NUL-terminated, *delta_len bytes, possibly 0) stays valid until the next call on d. */
br_status br_detokenizer_push(br_detokenizer *d, int32_t id, const char **delta, size_t *delta_len,
                              br_error *err);
/* Ends the stream: returns whatever was held back (an incomplete sequence
 * decodes to U+FFFD, as in a full decode) and resets d for a new stream. */
br_status br_detokenizer_flush(br_detokenizer *d, const char **delta, size_t *delta_len, br_error *err);
void br_detokenizer_free(br_detokenizer *d);

#ifdef __cplusplus
}
#endif
#endif /* BRAID_TOKENIZER_H */
