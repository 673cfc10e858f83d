/*
 * strmap.c - arena, string map and pair map (see strmap.h).  Strings hash
 * with 32-bit FNV-1a, pairs with the splitmix64 finalizer.
 */
#include "tokenizer/strmap.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 65536

struct tk_arena_block {
    tk_arena_block *next;
    size_t used, cap;
    char data[];
};

char *tk_arena_strdup(tk_arena *a, const char *s, size_t len, br_error *err) {
    tk_arena_block *b = a->head;
    if (!b || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;
        b = br_malloc(sizeof *b + cap, err);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    char *p = b->data + b->used;
    if (len) memcpy(p, s, len);
    p[len] = '\0';
    b->used += len + 1;
    return p;
}

void tk_arena_free(tk_arena *a) {
    tk_arena_block *b = a->head;
    while (b) {
        tk_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

uint32_t tk_hash_bytes(const char *s, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static br_status strmap_grow(tk_strmap *m, br_error *err) {
    size_t ncap = m->cap ? m->cap * 2 : 64;
    tk_strmap_slot *ns = br_calloc(ncap, sizeof *ns, err);
    if (!ns) return BR_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        tk_strmap_slot *s = &m->slots[i];
        if (!s->key) continue;
        size_t j = s->hash & (ncap - 1);
        while (ns[j].key) j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return BR_OK;
}

static tk_strmap_slot *strmap_find(const tk_strmap *m, const char *key, size_t len, uint32_t h) {
    size_t j = h & (m->cap - 1);
    for (;;) {
        tk_strmap_slot *s = &m->slots[j];
        if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)) return s;
        j = (j + 1) & (m->cap - 1);
    }
}

br_status tk_strmap_put(tk_strmap *m, const char *key, size_t len, int32_t val, const char **stored,
                        br_error *err) {
    if (len > UINT32_MAX) return BR_FAIL(err, BR_ERR_INVALID_ARG, "map key of %zu bytes is too long", len);
    if ((m->count + 1) * 2 > m->cap) BR_TRY(strmap_grow(m, err));
    uint32_t h = tk_hash_bytes(key, len);
    tk_strmap_slot *s = strmap_find(m, key, len, h);
    if (!s->key) {
        char *copy = tk_arena_strdup(&m->keys, key, len, err);
        if (!copy) return BR_ERR_NOMEM;
        *s = (tk_strmap_slot){.key = copy, .len = (uint32_t)len, .hash = h};
        m->count++;
    }
    s->val = val;
    if (stored) *stored = s->key;
    return BR_OK;
}

int tk_strmap_get(const tk_strmap *m, const char *key, size_t len, int32_t *val) {
    if (!m->cap) return 0;
    tk_strmap_slot *s = strmap_find(m, key, len, tk_hash_bytes(key, len));
    if (!s->key) return 0;
    *val = s->val;
    return 1;
}

void tk_strmap_free(tk_strmap *m) {
    free(m->slots);
    tk_arena_free(&m->keys);
    memset(m, 0, sizeof *m);
}

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static inline uint64_t pair_key(int32_t a, int32_t b) {
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

static size_t pair_find(const tk_pairmap *m, uint64_t key) {
    size_t j = (size_t)mix64(key) & (m->cap - 1);
    while (m->keys[j] != UINT64_MAX && m->keys[j] != key) j = (j + 1) & (m->cap - 1);
    return j;
}

static br_status pairmap_grow(tk_pairmap *m, br_error *err) {
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    tk_pairmap old = *m;
    m->keys = br_malloc(ncap * sizeof *m->keys, err);
    m->rank = br_malloc(ncap * sizeof *m->rank, err);
    m->new_id = br_malloc(ncap * sizeof *m->new_id, err);
    if (!m->keys || !m->rank || !m->new_id) {
        free(m->keys);
        free(m->rank);
        free(m->new_id);
        *m = old;
        return BR_ERR_NOMEM;
    }
    memset(m->keys, 0xFF, ncap * sizeof *m->keys);
    m->cap = ncap;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.keys[i] == UINT64_MAX) continue;
        size_t j = pair_find(m, old.keys[i]);
        m->keys[j] = old.keys[i];
        m->rank[j] = old.rank[i];
        m->new_id[j] = old.new_id[i];
    }
    free(old.keys);
    free(old.rank);
    free(old.new_id);
    return BR_OK;
}

br_status tk_pairmap_put(tk_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t new_id, br_error *err) {
    if ((m->count + 1) * 2 > m->cap) BR_TRY(pairmap_grow(m, err));
    uint64_t key = pair_key(a, b);
    size_t j = pair_find(m, key);
    if (m->keys[j] == UINT64_MAX) {
        m->keys[j] = key;
        m->count++;
    }
    m->rank[j] = rank;
    m->new_id[j] = new_id;
    return BR_OK;
}

int tk_pairmap_get(const tk_pairmap *m, int32_t a, int32_t b, int32_t *rank, int32_t *new_id) {
    if (!m->cap) return 0;
    size_t j = pair_find(m, pair_key(a, b));
    if (m->keys[j] == UINT64_MAX) return 0;
    *rank = m->rank[j];
    *new_id = m->new_id[j];
    return 1;
}

void tk_pairmap_free(tk_pairmap *m) {
    free(m->keys);
    free(m->rank);
    free(m->new_id);
    memset(m, 0, sizeof *m);
}
