/*
 * arena.c - chunked bump allocator for forward-pass temporaries.
 */
#include "graph/arena.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#define CHUNK_MIN ((size_t)32 << 20)
#define ALIGN 64

static long fail_countdown = -1; /* br_arena_inject_failure: allocations left before one fails */

void br_arena_inject_failure(long after) { fail_countdown = after; }

float *br_arena_floats(br_arena *a, size_t n, br_error *err) {
    if (fail_countdown >= 0 && fail_countdown-- == 0)
        return BR_FAIL(err, BR_ERR_NOMEM, "scratch allocation of %zu floats failed (injected by a test)", n), NULL;
    size_t bytes = (n * sizeof(float) + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (bytes == 0) bytes = ALIGN;
    while (a->current < a->n_chunks) {
        br_arena_chunk *c = &a->chunks[a->current];
        if (c->size - c->used >= bytes) {
            float *p = (float *)(c->base + c->used);
            c->used += bytes;
            a->in_use += bytes;
            if (a->in_use > a->high_water) a->high_water = a->in_use;
            return p;
        }
        if (a->current + 1 < a->n_chunks) a->chunks[a->current + 1].used = 0;
        a->current++;
    }
    if (a->n_chunks == a->cap_chunks) {
        int cap = a->cap_chunks ? a->cap_chunks * 2 : 8;
        br_arena_chunk *chunks = realloc(a->chunks, (size_t)cap * sizeof *chunks);
        if (!chunks) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory for scratch chunks"), NULL;
        a->chunks = chunks;
        a->cap_chunks = cap;
    }
    size_t size = bytes > CHUNK_MIN ? bytes : CHUNK_MIN;
    char *base = br_dev_alloc(a->dev ? a->dev : &br_cpu_device, size, err);
    if (!base) return NULL;
    a->chunks[a->n_chunks++] = (br_arena_chunk){base, size, 0};
    a->current = a->n_chunks - 1;
    return br_arena_floats(a, n, err);
}

br_arena_mark br_arena_mark_get(const br_arena *a) {
    br_arena_mark m = {a->current, 0, a->in_use};
    if (a->current < a->n_chunks) m.used = a->chunks[a->current].used;
    return m;
}

void br_arena_release(br_arena *a, br_arena_mark mark) {
    a->current = mark.chunk;
    if (mark.chunk < a->n_chunks) a->chunks[mark.chunk].used = mark.used;
    a->in_use = mark.in_use;
}

void br_arena_free(br_arena *a) {
    if (!a) return;
    for (int i = 0; i < a->n_chunks; i++) br_dev_free(a->dev ? a->dev : &br_cpu_device, a->chunks[i].base);
    free(a->chunks);
    const br_device *dev = a->dev;
    memset(a, 0, sizeof *a);
    a->dev = dev;
}
