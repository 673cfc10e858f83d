/*
 * strmap.h - the hash tables behind vocabularies, merges and the word cache.
 *
 *   tk_arena   append-only string storage in fixed blocks: pointers it hands
 *              out stay valid until tk_arena_free.
 *   tk_strmap  byte string -> int32, open addressing with linear probing; it
 *              copies its keys into its own arena, so a key pointer returned
 *              by tk_strmap_put lives as long as the map.
 *   tk_pairmap (int32 a, int32 b) -> (rank, new id), for BPE merges.
 *
 * Tables stay at most half full; lookups of absent keys end at the first
 * empty slot.
 */
#ifndef BR_TOKENIZER_STRMAP_H
#define BR_TOKENIZER_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct tk_arena_block tk_arena_block;
typedef struct tk_arena {
    tk_arena_block *head; /* newest block first */
} tk_arena;

/* A NUL-terminated copy of s[0..len) (s may contain NUL bytes). */
char *tk_arena_strdup(tk_arena *a, const char *s, size_t len, br_error *err);
void tk_arena_free(tk_arena *a);

typedef struct tk_strmap_slot {
    const char *key; /* NULL: empty slot */
    uint32_t len;
    uint32_t hash;
    int32_t val;
} tk_strmap_slot;

typedef struct tk_strmap {
    tk_strmap_slot *slots; /* cap slots, cap a power of two */
    size_t cap;
    size_t count;
    tk_arena keys;
} tk_strmap;

uint32_t tk_hash_bytes(const char *s, size_t len);
/* Inserts or overwrites; *stored (may be NULL) gets the map's copy of the key. */
br_status tk_strmap_put(tk_strmap *m, const char *key, size_t len, int32_t val, const char **stored,
                        br_error *err);
/* 1 and *val if present, else 0. */
int tk_strmap_get(const tk_strmap *m, const char *key, size_t len, int32_t *val);
void tk_strmap_free(tk_strmap *m);

typedef struct tk_pairmap {
    uint64_t *keys; /* (a << 32 | b), UINT64_MAX when empty */
    int32_t *rank;
    int32_t *new_id;
    size_t cap;
    size_t count;
} tk_pairmap;

br_status tk_pairmap_put(tk_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t new_id, br_error *err);
int tk_pairmap_get(const tk_pairmap *m, int32_t a, int32_t b, int32_t *rank, int32_t *new_id);
void tk_pairmap_free(tk_pairmap *m);

#endif /* BR_TOKENIZER_STRMAP_H */
