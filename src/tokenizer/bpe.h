/*
 * bpe.h - the byte-pair-encoding model of tokenizer.json ("model": {"type": "BPE"}).
 *
 * A word (one pre-tokenized piece) starts as one symbol per character
 * (continuing_subword_prefix on all but the first, end_of_word_suffix on the
 * last; a character missing from the vocabulary becomes its <0xXX> byte
 * tokens under byte_fallback, else unk, fused or not).  Then the adjacent
 * pair with the lowest merge rank is merged, leftmost first on ties, until no
 * pair has a merge: a min-heap of candidate merges with lazy invalidation,
 * exactly the library's Word::merge_all, so even its corner cases (two
 * merges that produce the same token) come out the same.
 *
 * The model is read-only after load.  Mutable state (symbol and heap arrays,
 * the word cache) lives in a tk_bpe_work owned by one encode call, so one
 * tokenizer can encode on several threads at once.
 */
#ifndef BR_TOKENIZER_BPE_H
#define BR_TOKENIZER_BPE_H

#include <jansson.h>
#include <stdint.h>

#include "tokenizer/buf.h"
#include "tokenizer/strmap.h"

/* Ids are dense table indices; anything at or above this is rejected at load. */
#define TK_MAX_ID (1 << 28)

typedef struct tk_bpe tk_bpe;

br_status tk_bpe_parse(const json_t *model, tk_bpe **out, br_error *err);
void tk_bpe_free(tk_bpe *m);
/* The model vocabulary: token -> id. */
const tk_strmap *tk_bpe_vocab(const tk_bpe *m);

typedef struct tk_bpe_sym {
    int32_t id;
    int32_t prev, next; /* neighbours in the word, -1 at the ends */
    int32_t alive;      /* 0 once merged into its left neighbour */
} tk_bpe_sym;

typedef struct tk_bpe_merge {
    int32_t rank, pos, new_id;
} tk_bpe_merge;

typedef struct tk_bpe_cache_entry {
    size_t off; /* first id in ids */
    size_t n;
} tk_bpe_cache_entry;

typedef struct tk_bpe_work {
    tk_bpe_sym *syms; /* n_syms symbols of the current word */
    size_t n_syms, cap_syms;
    tk_bpe_merge *heap; /* binary min-heap on (rank, pos) */
    size_t n_heap, cap_heap;
    tk_buf piece;       /* a character with prefix / suffix attached */
    tk_strmap cache;    /* word -> index into entries */
    tk_bpe_cache_entry *entries;
    size_t n_entries, cap_entries;
    tk_ids ids;         /* ids of cached words */
} tk_bpe_work;

void tk_bpe_work_free(tk_bpe_work *w);

/* Appends the ids of word[0..len) (valid UTF-8) to *out. */
br_status tk_bpe_tokenize(const tk_bpe *m, tk_bpe_work *w, const char *word, size_t len, tk_ids *out,
                          br_error *err);

#endif /* BR_TOKENIZER_BPE_H */
