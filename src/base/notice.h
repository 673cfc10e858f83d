/*
 * notice.h - the library's one channel to a person: short notices about a
 * fast path the machine lacks and what runs instead.  The library never
 * prints; notices go to the handler the application installed
 * (br_set_notice_handler), each distinct message at most once per process.
 */
#ifndef BR_BASE_NOTICE_H
#define BR_BASE_NOTICE_H

#include "base/error.h"

/* Formats a notice and hands it to the handler unless the same text was already given. */
void br_notice(const char *fmt, ...) BR_PRINTF(1, 2);

#endif /* BR_BASE_NOTICE_H */
