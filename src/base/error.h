/*
 * error.h - how braid raises and propagates errors internally.
 *
 * Every fallible function returns br_status and takes `br_error *err` last.
 * BR_FAIL records the message and the braid source location where the error
 * arose, then evaluates to the status, so `return BR_FAIL(err, ...)` is the
 * one idiom for raising.  BR_TRY propagates a failure unchanged.
 * br_error_prefix adds context on the way up ("layers.3.mixer: ...").
 */
#ifndef BR_BASE_ERROR_H
#define BR_BASE_ERROR_H

#include <stddef.h>
#include "braid_status.h"

#if defined(__GNUC__)
#define BR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define BR_PRINTF(a, b)
#endif

br_status br_error_set(br_error *err, br_status status, const char *file, int line,
                       const char *fmt, ...) BR_PRINTF(5, 6);

/* Prepends "<context>: " to the message already in err (no-op if err NULL). */
void br_error_prefix(br_error *err, const char *fmt, ...) BR_PRINTF(2, 3);

#define BR_FAIL(err, status, ...) br_error_set((err), (status), __FILE__, __LINE__, __VA_ARGS__)

#define BR_TRY(expr)                                \
    do {                                            \
        br_status br_try_status_ = (expr);          \
        if (br_try_status_ != BR_OK) return br_try_status_; \
    } while (0)

/* Allocation that reports failure through err; sizes are checked for overflow. */
void *br_malloc(size_t nbytes, br_error *err);
void *br_calloc(size_t count, size_t size, br_error *err);
char *br_strdup(const char *s, br_error *err);

#endif /* BR_BASE_ERROR_H */
