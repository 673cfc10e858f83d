/*
 * tokenizer.h - the loaded tokenizer, shared by tokenizer.c (load, encode,
 * decode) and detokenizer.c (streaming decode).
 *
 * Encode pipeline, as in the tokenizers library:
 *   text -> added tokens cut out, the rest normalized (added_tokens.c, normalize.c)
 *        -> pre-tokenized into words (pretokenize.c)
 *        -> each word through the BPE model (bpe.c)
 *        -> special tokens added by the post-processor (postprocess.c)
 * Decode: ids -> token strings (added tokens first, then the model) -> decoder (decode.c).
 */
#ifndef BR_TOKENIZER_TOKENIZER_H
#define BR_TOKENIZER_TOKENIZER_H

#include "braid_tokenizer.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/decode.h"
#include "tokenizer/normalize.h"
#include "tokenizer/postprocess.h"
#include "tokenizer/pretokenize.h"

struct br_tokenizer {
    tk_bpe *model;
    tk_normalizer *normalizer; /* NULL: identity */
    tk_pretok *pretok;         /* NULL: the whole text is one word */
    tk_post *post;             /* NULL: no special tokens */
    tk_decoder *decoder;       /* NULL: tokens joined with " " */
    tk_added_vocab added;
    tk_strmap token_ids;       /* token -> id; added tokens override the model */
    const char **id_token;     /* [vocab_size] token of each id, NULL where unassigned */
    size_t *id_token_len;      /* [vocab_size] */
    uint8_t *id_special;       /* [vocab_size] 1 if the token is a special added token */
    uint8_t *id_byte;          /* [vocab_size] 1 if the token is a "<0xXX>" byte token */
    int byte_fallback_decoder; /* the decoder chain contains ByteFallback */
    int32_t vocab_size;
};

/* Appends the decoded text of ids[0..n) to *out.  *a and *b are scratch. */
br_status tk_decode_ids(const br_tokenizer *tok, tk_rx_ctx *rx, const int32_t *ids, size_t n, int skip_special,
                        tk_pieces *a, tk_pieces *b, tk_buf *out, br_error *err);

#endif /* BR_TOKENIZER_TOKENIZER_H */
