/*
 * bpe.c - BPE model: loading vocab and merges, and the merge loop (see bpe.h).
 *
 * Merges load into (left id, right id) -> (rank, merged id); a pair listed
 * twice keeps its last rank, as the library's HashMap does.  The merged
 * token is left + right with the continuing_subword_prefix cut off the
 * right part.
 */
#include "tokenizer/bpe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tkjson.h"
#include "tokenizer/unicode.h"

/* Words longer than this are tokenized but not cached. */
#define CACHE_MAX_WORD 256
#define CACHE_MAX_ENTRIES 200000

struct tk_bpe {
    tk_strmap vocab;
    tk_pairmap merges;
    char *unk; /* NULL if no unk_token */
    size_t unk_len;
    char *prefix, *suffix; /* continuing_subword_prefix, end_of_word_suffix (NULL if absent) */
    size_t prefix_len, suffix_len;
    int fuse_unk, byte_fallback, ignore_merges;
    int32_t byte_ids[256]; /* id of "<0xXX>", -1 if absent */
};

const tk_strmap *tk_bpe_vocab(const tk_bpe *m) { return &m->vocab; }

void tk_bpe_free(tk_bpe *m) {
    if (!m) return;
    tk_strmap_free(&m->vocab);
    tk_pairmap_free(&m->merges);
    free(m->unk);
    free(m->prefix);
    free(m->suffix);
    free(m);
}

static br_status opt_copy(const json_t *model, const char *key, char **out, size_t *len, br_error *err) {
    const char *s;
    BR_TRY(tk_json_opt_string(model, key, "model", &s, len, err));
    if (!s) return BR_OK;
    *out = br_malloc(*len + 1, err);
    if (!*out) return BR_ERR_NOMEM;
    memcpy(*out, s, *len + 1);
    return BR_OK;
}

static br_status lookup(const tk_bpe *m, const char *tok, size_t len, size_t rank, int32_t *id, br_error *err) {
    if (tk_strmap_get(&m->vocab, tok, len, id)) return BR_OK;
    return BR_FAIL(err, BR_ERR_TOKENIZER, "model.merges[%zu]: token \"%.*s\" is not in the vocabulary", rank,
                   (int)(len > 100 ? 100 : len), tok);
}

static br_status add_merge(tk_bpe *m, const char *a, size_t alen, const char *b, size_t blen, size_t rank,
                           tk_buf *joined, br_error *err) {
    int32_t ida, idb, idn;
    BR_TRY(lookup(m, a, alen, rank, &ida, err));
    BR_TRY(lookup(m, b, blen, rank, &idb, err));
    if (blen < m->prefix_len)
        return BR_FAIL(err, BR_ERR_TOKENIZER, "model.merges[%zu]: \"%.*s\" is shorter than the continuing_subword_prefix",
                       rank, (int)blen, b);
    joined->len = 0;
    BR_TRY(tk_buf_append(joined, a, alen, err));
    BR_TRY(tk_buf_append(joined, b + m->prefix_len, blen - m->prefix_len, err));
    BR_TRY(lookup(m, joined->data, joined->len, rank, &idn, err));
    if (rank > INT32_MAX) return BR_FAIL(err, BR_ERR_TOKENIZER, "model.merges: too many merges");
    return tk_pairmap_put(&m->merges, ida, idb, (int32_t)rank, idn, err);
}

static br_status parse_merges(tk_bpe *m, const json_t *arr, br_error *err) {
    tk_buf joined = {0};
    br_status st = BR_OK;
    size_t rank = 0;
    for (size_t i = 0; i < json_array_size(arr) && st == BR_OK; i++) {
        const json_t *e = json_array_get(arr, i);
        if (json_is_string(e)) {
            const char *s = json_string_value(e);
            size_t len = json_string_length(e);
            if (len >= 8 && memcmp(s, "#version", 8) == 0) continue;
            const char *sp = memchr(s, ' ', len);
            if (!sp || memchr(sp + 1, ' ', len - (size_t)(sp + 1 - s)))
                st = BR_FAIL(err, BR_ERR_TOKENIZER, "model.merges[%zu]: \"%.*s\" is not two tokens separated by one space",
                             i, (int)(len > 100 ? 100 : len), s);
            else
                st = add_merge(m, s, (size_t)(sp - s), sp + 1, len - (size_t)(sp - s) - 1, rank++, &joined, err);
        } else if (json_is_array(e) && json_array_size(e) == 2 && json_is_string(json_array_get(e, 0)) &&
                   json_is_string(json_array_get(e, 1))) {
            const json_t *a = json_array_get(e, 0), *b = json_array_get(e, 1);
            st = add_merge(m, json_string_value(a), json_string_length(a), json_string_value(b),
                           json_string_length(b), rank++, &joined, err);
        } else {
            st = BR_FAIL(err, BR_ERR_TOKENIZER, "model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"], found %s", i,
                         tk_json_kind(e));
        }
    }
    tk_buf_free(&joined);
    return st;
}

static br_status parse_into(tk_bpe *m, const json_t *model, br_error *err) {
    const json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "model.vocab: expected an object, found %s", tk_json_kind(vocab));
    /* json_object_iter gives each key's length, so keys with NUL bytes survive */
    for (void *it = json_object_iter((json_t *)vocab); it; it = json_object_iter_next((json_t *)vocab, it)) {
        const json_t *val = json_object_iter_value(it);
        const char *k = json_object_iter_key(it);
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) >= TK_MAX_ID)
            return BR_FAIL(err, BR_ERR_TOKENIZER, "model.vocab[\"%.100s\"]: expected an id in [0, %d), found %s", k,
                           TK_MAX_ID, tk_json_kind(val));
        BR_TRY(tk_strmap_put(&m->vocab, k, json_object_iter_key_len(it), (int32_t)json_integer_value(val), NULL, err));
    }
    BR_TRY(opt_copy(model, "unk_token", &m->unk, &m->unk_len, err));
    BR_TRY(opt_copy(model, "continuing_subword_prefix", &m->prefix, &m->prefix_len, err));
    BR_TRY(opt_copy(model, "end_of_word_suffix", &m->suffix, &m->suffix_len, err));
    BR_TRY(tk_json_bool(model, "fuse_unk", 0, "model", &m->fuse_unk, err));
    BR_TRY(tk_json_bool(model, "byte_fallback", 0, "model", &m->byte_fallback, err));
    BR_TRY(tk_json_bool(model, "ignore_merges", 0, "model", &m->ignore_merges, err));
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        if (!tk_strmap_get(&m->vocab, name, 6, &m->byte_ids[b])) m->byte_ids[b] = -1;
    }
    const json_t *merges = json_object_get(model, "merges");
    if (merges && !json_is_null(merges)) {
        if (!json_is_array(merges))
            return BR_FAIL(err, BR_ERR_TOKENIZER, "model.merges: expected an array, found %s", tk_json_kind(merges));
        BR_TRY(parse_merges(m, merges, err));
    }
    /* "dropout" only randomizes training-time encodes; braid always encodes deterministically. */
    return BR_OK;
}

br_status tk_bpe_parse(const json_t *model, tk_bpe **out, br_error *err) {
    tk_bpe *m = br_calloc(1, sizeof *m, err);
    if (!m) return BR_ERR_NOMEM;
    br_status st = parse_into(m, model, err);
    if (st != BR_OK) {
        tk_bpe_free(m);
        return st;
    }
    *out = m;
    return BR_OK;
}

void tk_bpe_work_free(tk_bpe_work *w) {
    free(w->syms);
    free(w->heap);
    tk_buf_free(&w->piece);
    tk_strmap_free(&w->cache);
    free(w->entries);
    tk_ids_free(&w->ids);
    memset(w, 0, sizeof *w);
}

static br_status add_sym(tk_bpe_work *w, int32_t id, br_error *err) {
    if (w->n_syms == w->cap_syms) {
        size_t ncap = w->cap_syms ? w->cap_syms * 2 : 64;
        tk_bpe_sym *v = realloc(w->syms, ncap * sizeof *v);
        if (!v) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory growing BPE symbols");
        w->syms = v;
        w->cap_syms = ncap;
    }
    int32_t n = (int32_t)w->n_syms;
    w->syms[n] = (tk_bpe_sym){.id = id, .prev = n - 1, .next = -1, .alive = 1};
    if (n > 0) w->syms[n - 1].next = n;
    w->n_syms++;
    return BR_OK;
}

static inline int merge_less(const tk_bpe_merge *a, const tk_bpe_merge *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static br_status heap_push(tk_bpe_work *w, tk_bpe_merge m, br_error *err) {
    if (w->n_heap == w->cap_heap) {
        size_t ncap = w->cap_heap ? w->cap_heap * 2 : 64;
        tk_bpe_merge *v = realloc(w->heap, ncap * sizeof *v);
        if (!v) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory growing the BPE merge queue");
        w->heap = v;
        w->cap_heap = ncap;
    }
    size_t i = w->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!merge_less(&m, &w->heap[parent])) break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = m;
    return BR_OK;
}

static tk_bpe_merge heap_pop(tk_bpe_work *w) {
    tk_bpe_merge top = w->heap[0];
    tk_bpe_merge last = w->heap[--w->n_heap];
    size_t i = 0, n = w->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && merge_less(&w->heap[c + 1], &w->heap[c])) c++;
        if (!merge_less(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

static br_status push_pair(const tk_bpe *m, tk_bpe_work *w, int32_t pos, int32_t right, br_error *err) {
    int32_t rank, new_id;
    if (!tk_pairmap_get(&m->merges, w->syms[pos].id, w->syms[right].id, &rank, &new_id)) return BR_OK;
    return heap_push(w, (tk_bpe_merge){.rank = rank, .pos = pos, .new_id = new_id}, err);
}

/* Word::merge_all: lowest (rank, pos) first; stale entries are skipped. */
static br_status merge_all(const tk_bpe *m, tk_bpe_work *w, br_error *err) {
    w->n_heap = 0;
    for (size_t i = 0; i + 1 < w->n_syms; i++) BR_TRY(push_pair(m, w, (int32_t)i, (int32_t)i + 1, err));
    while (w->n_heap) {
        tk_bpe_merge top = heap_pop(w);
        tk_bpe_sym *s = &w->syms[top.pos];
        if (!s->alive || s->next < 0) continue;
        int32_t right = s->next;
        int32_t rank, new_id;
        if (!tk_pairmap_get(&m->merges, s->id, w->syms[right].id, &rank, &new_id) || new_id != top.new_id) continue;
        /* merge right into s */
        s->id = top.new_id;
        s->next = w->syms[right].next;
        w->syms[right].alive = 0;
        if (s->next >= 0) w->syms[s->next].prev = top.pos;
        if (s->prev >= 0) BR_TRY(push_pair(m, w, s->prev, top.pos, err));
        if (s->next >= 0) BR_TRY(push_pair(m, w, top.pos, s->next, err));
    }
    return BR_OK;
}

/* Symbols for one character c[0..clen) of a word. */
static br_status char_syms(const tk_bpe *m, tk_bpe_work *w, const char *c, size_t clen, int first, int last,
                           int32_t *unk, br_error *err) {
    const char *s = c;
    size_t slen = clen;
    if ((!first && m->prefix) || (last && m->suffix)) {
        w->piece.len = 0;
        if (!first && m->prefix) BR_TRY(tk_buf_append(&w->piece, m->prefix, m->prefix_len, err));
        BR_TRY(tk_buf_append(&w->piece, c, clen, err));
        if (last && m->suffix) BR_TRY(tk_buf_append(&w->piece, m->suffix, m->suffix_len, err));
        s = w->piece.data;
        slen = w->piece.len;
    }
    int32_t id;
    if (tk_strmap_get(&m->vocab, s, slen, &id)) {
        if (*unk >= 0) BR_TRY(add_sym(w, *unk, err));
        *unk = -1;
        return add_sym(w, id, err);
    }
    if (m->byte_fallback) {
        size_t k = 0;
        while (k < slen && m->byte_ids[(unsigned char)s[k]] >= 0) k++;
        if (k == slen) {
            /* as in the library, a pending unk is not flushed before the bytes */
            for (k = 0; k < slen; k++) BR_TRY(add_sym(w, m->byte_ids[(unsigned char)s[k]], err));
            return BR_OK;
        }
    }
    if (!m->unk) return BR_OK; /* no unk token: the character is dropped */
    int32_t unk_id;
    if (!tk_strmap_get(&m->vocab, m->unk, m->unk_len, &unk_id))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "model.unk_token \"%.100s\" is not in the vocabulary", m->unk);
    if (*unk >= 0 && !m->fuse_unk) BR_TRY(add_sym(w, *unk, err));
    *unk = unk_id;
    return BR_OK;
}

static br_status tokenize_word(const tk_bpe *m, tk_bpe_work *w, const char *word, size_t len, br_error *err) {
    w->n_syms = 0;
    int32_t unk = -1;
    for (size_t i = 0; i < len;) {
        size_t start = i;
        i += tk_utf8_seq_len((unsigned char)word[i]);
        BR_TRY(char_syms(m, w, word + start, i - start, start == 0, i >= len, &unk, err));
    }
    if (unk >= 0) BR_TRY(add_sym(w, unk, err));
    return merge_all(m, w, err);
}

br_status tk_bpe_tokenize(const tk_bpe *m, tk_bpe_work *w, const char *word, size_t len, tk_ids *out,
                          br_error *err) {
    if (len == 0) return BR_OK;
    int32_t id;
    if (m->ignore_merges && tk_strmap_get(&m->vocab, word, len, &id)) return tk_ids_push(out, id, err);
    if (tk_strmap_get(&w->cache, word, len, &id)) {
        const tk_bpe_cache_entry *e = &w->entries[id];
        return e->n ? tk_ids_append(out, w->ids.v + e->off, e->n, err) : BR_OK; /* a word may give no ids */
    }
    BR_TRY(tokenize_word(m, w, word, len, err));
    size_t first = out->n;
    for (size_t i = 0; i < w->n_syms; i++)
        if (w->syms[i].alive) BR_TRY(tk_ids_push(out, w->syms[i].id, err));
    if (len > CACHE_MAX_WORD || w->n_entries >= CACHE_MAX_ENTRIES) return BR_OK;
    if (w->n_entries == w->cap_entries) {
        size_t ncap = w->cap_entries ? w->cap_entries * 2 : 256;
        tk_bpe_cache_entry *v = realloc(w->entries, ncap * sizeof *v);
        if (!v) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory growing the BPE cache");
        w->entries = v;
        w->cap_entries = ncap;
    }
    w->entries[w->n_entries] = (tk_bpe_cache_entry){.off = w->ids.n, .n = out->n - first};
    if (out->n > first) BR_TRY(tk_ids_append(&w->ids, out->v + first, out->n - first, err));
    BR_TRY(tk_strmap_put(&w->cache, word, len, (int32_t)w->n_entries, NULL, err));
    w->n_entries++;
    return BR_OK;
}
