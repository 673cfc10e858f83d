/*
 * error.c - status names, error recording and checked allocation.
 */
#include "base/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[BR_STATUS_COUNT] = {
    [BR_OK] = "ok",
    [BR_ERR_INVALID_ARG] = "invalid argument",
    [BR_ERR_IO] = "i/o error",
    [BR_ERR_PARSE] = "parse error",
    [BR_ERR_SPEC] = "spec error",
    [BR_ERR_CHECKPOINT] = "checkpoint error",
    [BR_ERR_UNSUPPORTED] = "unsupported",
    [BR_ERR_NOMEM] = "out of memory",
    [BR_ERR_RANGE] = "out of range",
    [BR_ERR_BACKEND] = "backend error",
    [BR_ERR_TOKENIZER] = "tokenizer error",
    [BR_ERR_NUMERIC] = "non-finite result",
};

const char *br_status_str(br_status status) {
    if ((int)status < 0 || status >= BR_STATUS_COUNT) return "unknown status";
    return status_names[status];
}

br_status br_error_set(br_error *err, br_status status, const char *file, int line,
                       const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = status;
        err->where_file = file;
        err->where_line = line;
    }
    return status;
}

void br_error_prefix(br_error *err, const char *fmt, ...) {
    if (!err) return;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    char joined[BR_ERROR_MESSAGE_MAX];
    int room = (int)sizeof joined - n - 3;
    snprintf(joined, sizeof joined, "%s: %.*s", prefix, room > 0 ? room : 0, err->message);
    memcpy(err->message, joined, sizeof joined);
}

void *br_malloc(size_t nbytes, br_error *err) {
    void *p = malloc(nbytes ? nbytes : 1);
    if (!p) BR_FAIL(err, BR_ERR_NOMEM, "out of memory allocating %zu bytes", nbytes);
    return p;
}

void *br_calloc(size_t count, size_t size, br_error *err) {
    if (size && count > SIZE_MAX / size) {
        BR_FAIL(err, BR_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) BR_FAIL(err, BR_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

char *br_strdup(const char *s, br_error *err) {
    size_t n = strlen(s) + 1;
    char *p = br_malloc(n, err);
    if (p) memcpy(p, s, n);
    return p;
}
