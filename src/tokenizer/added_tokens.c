/*
 * added_tokens.c - finding added tokens in text (see added_tokens.h).
 *
 * The scan mirrors an Aho-Corasick leftmost-longest iterator: from the
 * current position, the first byte offset where any pattern starts wins and
 * the longest pattern there is taken; scanning resumes at the match end
 * (before any rstrip widening), also when single_word then rejects it.
 */
#include "tokenizer/added_tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/bpe.h"
#include "tokenizer/tkjson.h"
#include "tokenizer/unicode.h"

static br_status trie_node(tk_matcher *m, unsigned char byte, int32_t *idx, br_error *err) {
    if (m->n == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        tk_trie_node *v = realloc(m->nodes, ncap * sizeof *v);
        if (!v) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory building the added-token trie");
        m->nodes = v;
        m->cap = ncap;
    }
    m->nodes[m->n] = (tk_trie_node){.child = -1, .sibling = -1, .token = -1, .byte = byte};
    *idx = (int32_t)m->n++;
    return BR_OK;
}

/* Adds pattern p (len > 0) for token index tok; the first token of a content wins. */
static br_status trie_add(tk_matcher *m, const char *p, size_t len, int32_t tok, br_error *err) {
    unsigned char b0 = (unsigned char)p[0];
    if (m->root[b0] < 0) {
        int32_t idx = -1;
        BR_TRY(trie_node(m, b0, &idx, err));
        m->root[b0] = idx;
    }
    int32_t cur = m->root[b0];
    for (size_t i = 1; i < len; i++) {
        unsigned char b = (unsigned char)p[i];
        int32_t c = m->nodes[cur].child;
        while (c >= 0 && m->nodes[c].byte != b) c = m->nodes[c].sibling;
        if (c < 0) {
            BR_TRY(trie_node(m, b, &c, err)); /* sets c */
            m->nodes[c].sibling = m->nodes[cur].child;
            m->nodes[cur].child = c;
        }
        cur = c;
    }
    if (m->nodes[cur].token < 0) m->nodes[cur].token = tok;
    return BR_OK;
}

/* Leftmost-longest match at or after `from`: 1 with [*ms, *me) and token, else 0. */
static int next_match(const tk_matcher *m, const char *s, size_t len, size_t from, size_t *ms, size_t *me,
                      int32_t *tok) {
    if (!m->n) return 0;
    for (size_t p = from; p < len; p++) {
        int32_t cur = m->root[(unsigned char)s[p]];
        if (cur < 0) continue;
        int32_t best = -1;
        size_t best_end = 0;
        size_t i = p + 1;
        for (;;) {
            if (m->nodes[cur].token >= 0) {
                best = m->nodes[cur].token;
                best_end = i;
            }
            if (i == len) break;
            unsigned char b = (unsigned char)s[i];
            int32_t c = m->nodes[cur].child;
            while (c >= 0 && m->nodes[c].byte != b) c = m->nodes[c].sibling;
            if (c < 0) break;
            cur = c;
            i++;
        }
        if (best >= 0) {
            *ms = p;
            *me = best_end;
            *tok = best;
            return 1;
        }
    }
    return 0;
}

void tk_added_free(tk_added_vocab *v) {
    free(v->tokens);
    tk_arena_free(&v->text);
    free(v->raw.nodes);
    free(v->norm.nodes);
    memset(v, 0, sizeof *v);
}

static br_status parse_token(const json_t *t, const char *where, tk_added_vocab *v, tk_added_token *out,
                             br_error *err) {
    if (!json_is_object(t)) return BR_FAIL(err, BR_ERR_TOKENIZER, "%s: expected an object, found %s", where, tk_json_kind(t));
    long long id;
    const char *content;
    size_t len;
    BR_TRY(tk_json_int(t, "id", -1, 0, TK_MAX_ID - 1, where, &id, err));
    BR_TRY(tk_json_string(t, "content", where, &content, &len, err));
    out->id = (int32_t)id;
    out->len = len;
    out->content = tk_arena_strdup(&v->text, content, len, err);
    if (!out->content) return BR_ERR_NOMEM;
    BR_TRY(tk_json_bool(t, "special", 0, where, &out->special, err));
    BR_TRY(tk_json_bool(t, "single_word", 0, where, &out->single_word, err));
    BR_TRY(tk_json_bool(t, "lstrip", 0, where, &out->lstrip, err));
    BR_TRY(tk_json_bool(t, "rstrip", 0, where, &out->rstrip, err));
    return tk_json_bool(t, "normalized", !out->special, where, &out->normalized, err);
}

static br_status build_matchers(tk_added_vocab *v, const tk_normalizer *norm, br_error *err) {
    memset(v->raw.root, 0xFF, sizeof v->raw.root);
    memset(v->norm.root, 0xFF, sizeof v->norm.root);
    tk_rx_ctx rx;
    BR_TRY(tk_rx_ctx_init(&rx, err));
    tk_buf nb = {0};
    br_status st = BR_OK;
    /* special tokens first, then the others, as the library orders its patterns */
    for (int pass = 0; pass < 2 && st == BR_OK; pass++) {
        for (size_t i = 0; i < v->n && st == BR_OK; i++) {
            tk_added_token *t = &v->tokens[i];
            if (t->special != (pass == 0)) continue;
            t->shown = t->content;
            t->shown_len = t->len;
            if (t->len == 0) continue;
            if (!t->normalized) {
                st = trie_add(&v->raw, t->content, t->len, (int32_t)i, err);
                continue;
            }
            st = tk_normalize(norm, &rx, t->content, t->len, &nb, err);
            if (st == BR_OK) {
                t->shown = tk_arena_strdup(&v->text, nb.data, nb.len, err);
                t->shown_len = nb.len;
                if (!t->shown) st = BR_ERR_NOMEM;
            }
            if (st == BR_OK && nb.len) st = trie_add(&v->norm, nb.data, nb.len, (int32_t)i, err);
        }
    }
    tk_buf_free(&nb);
    tk_rx_ctx_free(&rx);
    return st;
}

br_status tk_added_parse(const json_t *arr, const tk_normalizer *norm, tk_added_vocab *out, br_error *err) {
    memset(out, 0, sizeof *out);
    br_status st = BR_OK;
    if (arr && !json_is_null(arr)) {
        if (!json_is_array(arr))
            return BR_FAIL(err, BR_ERR_TOKENIZER, "added_tokens: expected an array, found %s", tk_json_kind(arr));
        out->tokens = br_calloc(json_array_size(arr), sizeof *out->tokens, err);
        if (!out->tokens) return BR_ERR_NOMEM;
        for (size_t i = 0; i < json_array_size(arr) && st == BR_OK; i++) {
            char where[64];
            snprintf(where, sizeof where, "added_tokens[%zu]", i);
            st = parse_token(json_array_get(arr, i), where, out, &out->tokens[i], err);
            out->n = i + 1;
        }
    }
    if (st == BR_OK) st = build_matchers(out, norm, err);
    if (st != BR_OK) tk_added_free(out);
    return st;
}

/* Byte offset just past the last non-White_Space character of s[0..end), or 0. */
static size_t space_leftmost_at_end(const char *s, size_t end) {
    while (end > 0) {
        size_t i = end - 1;
        while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
        size_t j = i;
        if (!tk_is_whitespace(tk_utf8_next(s, &j))) return end;
        end = i;
    }
    return 0;
}

/* Bytes of White_Space at the start of s[0..len). */
static size_t space_rightmost_at_start(const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        if (!tk_is_whitespace(tk_utf8_next(s, &j))) break;
        i = j;
    }
    return i;
}

static br_status emit(tk_pieces *out, const char *s, size_t start, size_t end, int32_t id, int at_origin,
                      br_error *err) {
    if (end <= start && id < 0) return BR_OK; /* empty text pieces are dropped */
    return tk_pieces_add(out, s + start, end - start, id, at_origin && start == 0, err);
}

static br_status split_on(const tk_added_vocab *v, const tk_matcher *m, const char *s, size_t len, int at_origin,
                          tk_pieces *out, br_error *err) {
    size_t start_offset = 0, from = 0, ms, me;
    int32_t tok;
    while (next_match(m, s, len, from, &ms, &me, &tok)) {
        from = me;
        const tk_added_token *t = &v->tokens[tok];
        size_t start = ms, stop = me;
        if (t->single_word) {
            int space_before = start == 0 || !tk_is_word(tk_utf8_last(s, start));
            size_t j = stop;
            int space_after = stop == len || !tk_is_word(tk_utf8_next(s, &j));
            if (!space_before || !space_after) continue;
        }
        if (t->lstrip) {
            size_t ns = space_leftmost_at_end(s, start);
            start = ns > start_offset ? ns : start_offset;
        }
        if (t->rstrip) stop += space_rightmost_at_start(s + stop, len - stop);
        if (start_offset < start) BR_TRY(emit(out, s, start_offset, start, -1, at_origin, err));
        BR_TRY(emit(out, s, start, stop, t->id, at_origin, err));
        start_offset = stop;
    }
    if (start_offset < len) BR_TRY(emit(out, s, start_offset, len, -1, at_origin, err));
    return BR_OK;
}

br_status tk_added_extract(const tk_added_vocab *v, const tk_normalizer *norm, tk_rx_ctx *rx, const char *text,
                           size_t len, tk_pieces *out, tk_pieces *tmp, br_error *err) {
    tk_pieces_clear(tmp);
    tk_pieces_clear(out);
    BR_TRY(split_on(v, &v->raw, text, len, 1, tmp, err));
    tk_buf nb = {0};
    br_status st = BR_OK;
    for (size_t i = 0; i < tmp->n && st == BR_OK; i++) {
        const tk_piece *p = &tmp->v[i];
        if (p->id >= 0) {
            st = tk_pieces_add(out, tk_piece_text(tmp, i), p->len, p->id, p->at_origin, err);
            continue;
        }
        st = tk_normalize(norm, rx, tk_piece_text(tmp, i), p->len, &nb, err);
        if (st == BR_OK) st = split_on(v, &v->norm, nb.data, nb.len, p->at_origin, out, err);
    }
    tk_buf_free(&nb);
    return st;
}
