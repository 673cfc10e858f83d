/*
 * state.h - per-sequence recurrent state and KV cache, in fixed slots.
 *
 * A state pool serves up to n_slots sequences at once.  For every Mamba /
 * Mamba-2 invocation (plan state entry e) it holds
 *     conv[e]  [n_slots, conv_elems]    last K-1 inputs of the causal conv
 *     ssm[e]   [n_slots, ssm_elems]     the SSM state h
 * and for every attention invocation (plan KV entry k)
 *     k[k], v[k]  [n_slots, capacity, kv_elems_per_token / 2]
 * with capacity = min(max_context, sliding window).  All f32, on the
 * model's device.  pos[slot] (host) counts the tokens a sequence has
 * consumed.  The pool also owns the scratch arenas of forward passes that
 * use it (one on the device, one on the host for routing decisions), so
 * one model can serve several pools.
 */
#ifndef BR_GRAPH_STATE_H
#define BR_GRAPH_STATE_H

#include <stdint.h>

#include "graph/arena.h"
#include "graph/plan.h"
#include "kernels/device.h"

struct br_state {
    const br_plan *plan;
    const br_device *dev;
    int n_slots;
    int64_t max_context;
    int64_t *pos;          /* [n_slots] tokens consumed (host) */
    float **conv, **ssm;   /* [plan->n_state] each [n_slots * elems] (device) */
    float **k, **v;        /* [plan->n_kv] each [n_slots * cap * half] (device) */
    int64_t *kv_cap;       /* [plan->n_kv] tokens each cache row holds */
    br_arena scratch;      /* device temporaries of a forward pass */
    br_arena host_scratch; /* host temporaries (MoE routing) */
    /* Decode steps recorded once and replayed (forward.c): the recording for
     * batches of graph_batch, made when the scratch arena stood at graph_mark,
     * leaves the logits at graph_logits. */
    int step_recordable;   /* no block of the plan reads device results on the host */
    int warm_batch;        /* batch of the last unrecorded step (recording starts at the second) */
    void *graph;
    int graph_batch;
    br_arena_mark graph_mark;
    float *graph_logits;
};

br_status br_state_create_for(const br_plan *plan, const br_device *dev, int n_slots, int64_t max_context,
                              struct br_state **out, br_error *err);

/* Bytes this pool holds for states and caches (not scratch). */
int64_t br_state_bytes(const struct br_state *s);

#endif /* BR_GRAPH_STATE_H */
