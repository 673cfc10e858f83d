/*
 * arena.h - scratch memory for one forward pass.
 *
 * A bump allocator over a list of large chunks: allocation is a pointer
 * bump, release rewinds to a mark, and chunks are kept for the next pass,
 * so a steady-state decode loop does no malloc at all.  Pointers stay valid
 * until the arena is rewound past them (chunks never move).  Chunks come
 * from the arena's device (host memory when it is NULL or the CPU).
 */
#ifndef BR_GRAPH_ARENA_H
#define BR_GRAPH_ARENA_H

#include <stddef.h>

#include "braid_status.h"
#include "kernels/device.h"

typedef struct br_arena_chunk {
    char *base;
    size_t size, used;
} br_arena_chunk;

typedef struct br_arena {
    const br_device *dev;    /* where chunks live; NULL = host */
    br_arena_chunk *chunks;
    int n_chunks, cap_chunks;
    int current;             /* chunk allocations come from */
    size_t high_water;       /* most bytes in use at once */
    size_t in_use;
} br_arena;

typedef struct br_arena_mark {
    int chunk;
    size_t used;
    size_t in_use;
} br_arena_mark;

/* 64-byte aligned, uninitialised; NULL with err set when memory runs out. */
float *br_arena_floats(br_arena *a, size_t n, br_error *err);
br_arena_mark br_arena_mark_get(const br_arena *a);
void br_arena_release(br_arena *a, br_arena_mark mark);
void br_arena_free(br_arena *a);

/* For tests: the allocation after the next `after` ones fails (once), as
 * memory running out part-way through a forward pass would. */
void br_arena_inject_failure(long after);

#endif /* BR_GRAPH_ARENA_H */
