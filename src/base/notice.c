/*
 * notice.c - the notice handler and the once-per-message rule: the texts
 * already given are remembered by a 64-bit hash (FNV-1a) in a small table.
 */
#include "base/notice.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "braid.h"

#define SEEN_MAX 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static br_notice_fn handler;
static void *handler_user;
static uint64_t seen[SEEN_MAX];
static int n_seen;

void br_set_notice_handler(br_notice_fn fn, void *user) {
    pthread_mutex_lock(&lock);
    handler = fn;
    handler_user = user;
    pthread_mutex_unlock(&lock);
}

void br_notice(const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const uint64_t h = br_fnv1a(BR_FNV1A_START, msg, strlen(msg));
    pthread_mutex_lock(&lock);
    int fresh = 1;
    for (int i = 0; i < n_seen && fresh; i++) fresh = seen[i] != h;
    if (fresh && n_seen < SEEN_MAX) seen[n_seen++] = h;
    br_notice_fn fn = handler;
    void *user = handler_user;
    pthread_mutex_unlock(&lock);
    if (fresh && fn) fn(user, msg);
}
