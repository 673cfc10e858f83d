/*
 * state.h - per-sequence recurrent state and KV cache, in fixed slots.
 *
 * A state pool serves up to n_slots sequences at once.  For every Mamba /
 * Mamba-2 invocation (plan state entry e) it holds
 *     conv[e]  [n_slots, conv_elems]    last K-1 inputs of the causal conv
 *     ssm[e]   [n_slots, ssm_elems]     the SSM state h
 * and for every attention invocation (plan KV entry k)
 *     k[k], v[k]  [n_slots, capacity, kv_elems_per_token / 2]  of kv_dtype
 * with capacity the window's ring, or for a cache of every position a size
 * that doubles as sequences grow, up to max_context (br_state_reserve).  States are f32; KV
 * caches f32, or bf16 on a GPU with bf16 weights; all on the model's device.  pos[slot] (host) counts the tokens a sequence has
 * consumed.  The pool also owns the scratch arenas of forward passes that
 * use it (one on the device, one on the host for routing decisions), so
 * one model can serve several pools, and the recording of its decode steps.
 */
#ifndef BR_GRAPH_STATE_H
#define BR_GRAPH_STATE_H

#include <stdint.h>

#include "graph/arena.h"
#include "graph/plan.h"
#include "kernels/device.h"
#include "kernels/recorder.h"

struct br_state {
    const br_plan *plan;
    const br_device *dev;
    int n_slots;
    int64_t max_context;
    int64_t *pos;          /* [n_slots] tokens consumed (host) */
    unsigned char *broken; /* [n_slots] the last call on the slot failed part-way: refused until reset */
    float **conv, **ssm;   /* [plan->n_state] each [n_slots * elems] (device) */
    void **k, **v;         /* [plan->n_kv] each [n_slots * cap * half] of kv_dtype (device) */
    br_dtype kv_dtype;
    int64_t *kv_cap;       /* [plan->n_kv] tokens each cache row holds */
    br_arena scratch;      /* device temporaries of a forward pass */
    br_arena host_scratch; /* host temporaries */
    br_recorder steps;     /* decode steps recorded once and replayed (kernels/recorder.h) */
};

br_status br_state_create_for(const br_plan *plan, const br_device *dev, br_dtype kv_dtype, int n_slots,
                              int64_t max_context, struct br_state **out, br_error *err);

/* Grows the KV caches that hold every position (no sliding window) to at
 * least `tokens` (doubling, at most max_context), moving each slot's rows;
 * refused before anything changes when it does not fit. */
br_status br_state_reserve(struct br_state *s, int64_t tokens, br_error *err);

/* Bytes this pool holds for recurrent states and for KV caches (not scratch). */
int64_t br_state_recurrent_bytes(const struct br_state *s);
int64_t br_state_kv_bytes(const struct br_state *s);

#endif /* BR_GRAPH_STATE_H */
