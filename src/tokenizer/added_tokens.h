/*
 * added_tokens.h - tokenizer.json "added_tokens": strings that are cut out of
 * the input before the model sees it.
 *
 * As in the tokenizers library, tokens with normalized=false are matched on
 * the raw input first; the text between them is then normalized and matched
 * against the normalized=true tokens, whose own content was put through the
 * same normalizer at load.  Matching is leftmost-longest over all tokens of a
 * set (a byte trie); a match is then dropped if single_word forbids it, and
 * widened over neighbouring White_Space by lstrip / rstrip.
 */
#ifndef BR_TOKENIZER_ADDED_TOKENS_H
#define BR_TOKENIZER_ADDED_TOKENS_H

#include <jansson.h>
#include <stdint.h>

#include "tokenizer/buf.h"
#include "tokenizer/normalize.h"
#include "tokenizer/strmap.h"

typedef struct tk_added_token {
    int32_t id;
    const char *content; /* len bytes, in the vocabulary's arena */
    size_t len;
    const char *shown;   /* shown_len bytes: what id -> token gives, the content put
                          * through the normalizer when normalized is set (as the
                          * library does), else the content itself */
    size_t shown_len;
    int single_word, lstrip, rstrip, normalized, special;
} tk_added_token;

typedef struct tk_trie_node {
    int32_t child;   /* first child node, -1 if none */
    int32_t sibling; /* next sibling, -1 if none */
    int32_t token;   /* index into tokens[] ending here, -1 if none */
    unsigned char byte;
} tk_trie_node;

typedef struct tk_matcher {
    tk_trie_node *nodes; /* n nodes */
    size_t n, cap;
    int32_t root[256];   /* node for each first byte, -1 if no pattern starts with it */
} tk_matcher;

typedef struct tk_added_vocab {
    tk_added_token *tokens; /* n tokens, in file order */
    size_t n;
    tk_arena text;
    tk_matcher raw;  /* normalized=false tokens, on raw input */
    tk_matcher norm; /* normalized=true tokens (content normalized), on normalized input */
} tk_added_vocab;

/* Parses the "added_tokens" array (null or absent: none). */
br_status tk_added_parse(const json_t *arr, const tk_normalizer *norm, tk_added_vocab *out, br_error *err);
void tk_added_free(tk_added_vocab *v);

/* Encode steps 1-2: clears *out and fills it with the added tokens (id set)
 * and the normalized text between them (id -1).  *tmp is scratch. */
br_status tk_added_extract(const tk_added_vocab *v, const tk_normalizer *norm, tk_rx_ctx *rx, const char *text,
                           size_t len, tk_pieces *out, tk_pieces *tmp, br_error *err);

#endif /* BR_TOKENIZER_ADDED_TOKENS_H */
