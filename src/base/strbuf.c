/*
 * strbuf.c - growable string.
 */
#include "base/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void br_strbuf_printf(br_strbuf *s, const char *fmt, ...) {
    if (s->failed) return;
    for (;;) {
        size_t room = s->cap - s->len;
        va_list ap;
        va_start(ap, fmt);
        int n = s->data ? vsnprintf(s->data + s->len, room, fmt, ap) : -2;
        va_end(ap);
        if (n == -1) {
            s->failed = 1;
            return;
        }
        if (n >= 0 && (size_t)n < room) {
            s->len += (size_t)n;
            return;
        }
        size_t need = s->len + (n > 0 ? (size_t)n : 0) + 1;
        size_t cap = s->cap ? s->cap * 2 : 256;
        while (cap < need) cap *= 2;
        char *p = realloc(s->data, cap);
        if (!p) {
            s->failed = 1;
            return;
        }
        if (!s->data) p[0] = '\0';
        s->data = p;
        s->cap = cap;
    }
}

br_status br_strbuf_status(const br_strbuf *s, br_error *err) {
    if (s->failed) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory building text");
    return BR_OK;
}

void br_strbuf_free(br_strbuf *s) {
    free(s->data);
    memset(s, 0, sizeof *s);
}
