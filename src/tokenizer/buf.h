/*
 * buf.h - growable containers shared by the tokenizer stages.
 *
 *   tk_buf     bytes (text under construction)
 *   tk_ids     int32 token ids
 *   tk_pieces  the "splits" of the encode pipeline: each piece is a byte range
 *              of its list's own text arena plus the added-token id it already
 *              carries (-1 when the model must still tokenize it).  Decoders
 *              reuse the same list as a list of token strings.
 *
 * Every stage reads one list and writes a fresh one (then the two swap), so a
 * piece never points into a buffer that is being reallocated.  All of them
 * start zeroed, keep their memory across *_clear, and free with *_free.
 */
#ifndef BR_TOKENIZER_BUF_H
#define BR_TOKENIZER_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct tk_buf {
    char *data; /* len bytes, always NUL-terminated after data[len] once non-empty */
    size_t len;
    size_t cap;
} tk_buf;

br_status tk_buf_reserve(tk_buf *b, size_t extra, br_error *err);
br_status tk_buf_append(tk_buf *b, const void *src, size_t n, br_error *err);
br_status tk_buf_append_cp(tk_buf *b, uint32_t cp, br_error *err); /* UTF-8 encoded */
void tk_buf_free(tk_buf *b);

typedef struct tk_ids {
    int32_t *v; /* n ids */
    size_t n;
    size_t cap;
} tk_ids;

br_status tk_ids_push(tk_ids *ids, int32_t id, br_error *err);
br_status tk_ids_append(tk_ids *ids, const int32_t *src, size_t n, br_error *err);
void tk_ids_free(tk_ids *ids);

typedef struct tk_piece {
    size_t off;    /* first byte in the owning list's text */
    size_t len;    /* bytes */
    int32_t id;    /* added-token id, or -1: still to be tokenized */
    int at_origin; /* starts at byte 0 of the original input (Metaspace "first") */
} tk_piece;

typedef struct tk_pieces {
    tk_piece *v; /* n pieces */
    size_t n;
    size_t cap;
    tk_buf text; /* arena holding every piece's bytes */
} tk_pieces;

/* Appends a piece holding a copy of s[0..len) (s must not point into p). */
br_status tk_pieces_add(tk_pieces *p, const char *s, size_t len, int32_t id, int at_origin,
                        br_error *err);
/* Appends an empty piece whose bytes the caller then appends to p->text. */
br_status tk_pieces_open(tk_pieces *p, int32_t id, int at_origin, br_error *err);
/* Closes the piece opened last: its length is everything appended since. */
void tk_pieces_close(tk_pieces *p);
void tk_pieces_clear(tk_pieces *p);
void tk_pieces_free(tk_pieces *p);
void tk_pieces_swap(tk_pieces *a, tk_pieces *b);

/* The bytes of piece i ("" for the empty pieces of an empty text, whose buffer was never allocated). */
static inline const char *tk_piece_text(const tk_pieces *p, size_t i) {
    return p->text.data ? p->text.data + p->v[i].off : "";
}

#endif /* BR_TOKENIZER_BUF_H */
