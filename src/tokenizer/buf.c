/*
 * buf.c - growable byte, id and piece lists (see buf.h).  Capacities double,
 * so appending n items costs O(n) amortized.
 */
#include "tokenizer/buf.h"

#include <stdlib.h>
#include <string.h>

static br_status grow(void **data, size_t *cap, size_t need, size_t elem, br_error *err) {
    if (need <= *cap) return BR_OK;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem) return BR_FAIL(err, BR_ERR_NOMEM, "buffer of %zu items overflows", need);
        ncap *= 2;
    }
    void *p = realloc(*data, ncap * elem);
    if (!p) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory growing a buffer to %zu x %zu bytes", ncap, elem);
    *data = p;
    *cap = ncap;
    return BR_OK;
}

br_status tk_buf_reserve(tk_buf *b, size_t extra, br_error *err) {
    if (extra > SIZE_MAX - b->len - 1) return BR_FAIL(err, BR_ERR_NOMEM, "text buffer size overflows");
    return grow((void **)&b->data, &b->cap, b->len + extra + 1, 1, err);
}

br_status tk_buf_append(tk_buf *b, const void *src, size_t n, br_error *err) {
    BR_TRY(tk_buf_reserve(b, n, err));
    if (n) memcpy(b->data + b->len, src, n);
    b->len += n;
    b->data[b->len] = '\0';
    return BR_OK;
}

br_status tk_buf_append_cp(tk_buf *b, uint32_t cp, br_error *err) {
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return tk_buf_append(b, u, n, err);
}

void tk_buf_free(tk_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

br_status tk_ids_push(tk_ids *ids, int32_t id, br_error *err) {
    BR_TRY(grow((void **)&ids->v, &ids->cap, ids->n + 1, sizeof *ids->v, err));
    ids->v[ids->n++] = id;
    return BR_OK;
}

br_status tk_ids_append(tk_ids *ids, const int32_t *src, size_t n, br_error *err) {
    BR_TRY(grow((void **)&ids->v, &ids->cap, ids->n + n, sizeof *ids->v, err));
    if (n) memcpy(ids->v + ids->n, src, n * sizeof *src);
    ids->n += n;
    return BR_OK;
}

void tk_ids_free(tk_ids *ids) {
    free(ids->v);
    memset(ids, 0, sizeof *ids);
}

br_status tk_pieces_open(tk_pieces *p, int32_t id, int at_origin, br_error *err) {
    BR_TRY(grow((void **)&p->v, &p->cap, p->n + 1, sizeof *p->v, err));
    p->v[p->n++] = (tk_piece){.off = p->text.len, .len = 0, .id = id, .at_origin = at_origin};
    return BR_OK;
}

void tk_pieces_close(tk_pieces *p) {
    tk_piece *last = &p->v[p->n - 1];
    last->len = p->text.len - last->off;
}

br_status tk_pieces_add(tk_pieces *p, const char *s, size_t len, int32_t id, int at_origin,
                        br_error *err) {
    BR_TRY(tk_pieces_open(p, id, at_origin, err));
    BR_TRY(tk_buf_append(&p->text, s, len, err));
    tk_pieces_close(p);
    return BR_OK;
}

void tk_pieces_clear(tk_pieces *p) {
    p->n = 0;
    p->text.len = 0;
}

void tk_pieces_free(tk_pieces *p) {
    free(p->v);
    tk_buf_free(&p->text);
    memset(p, 0, sizeof *p);
}

void tk_pieces_swap(tk_pieces *a, tk_pieces *b) {
    tk_pieces t = *a;
    *a = *b;
    *b = t;
}
