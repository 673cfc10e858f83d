/*
 * strbuf.h - a growable NUL-terminated string with printf-style appends.
 * Appends never fail silently: the first allocation failure sticks in
 * `failed` and every later append is a no-op, so callers check once.
 */
#ifndef BR_BASE_STRBUF_H
#define BR_BASE_STRBUF_H

#include <stddef.h>

#include "base/error.h"

typedef struct br_strbuf {
    char *data;   /* NUL-terminated; NULL until the first append */
    size_t len, cap;
    int failed;
} br_strbuf;

void br_strbuf_printf(br_strbuf *s, const char *fmt, ...) BR_PRINTF(2, 3);
/* BR_OK, or BR_ERR_NOMEM (with err set) if an append failed. */
br_status br_strbuf_status(const br_strbuf *s, br_error *err);
void br_strbuf_free(br_strbuf *s);

#endif /* BR_BASE_STRBUF_H */
