/*
 * exec.h - what a block sees while it runs: the batch, the mode, its state.
 *
 * A forward pass runs `batch` sequences of T new tokens each; activations
 * are [n_tok = batch*T, width], sequence-major, on the device `dev`.
 * Sequence b lives in state slot slots[b] (host) = dev_slots[b] (device)
 * and has already consumed pos0[b] tokens, so its new tokens sit at
 * absolute positions pos0[b] .. pos0[b]+T-1 (pos0 is also on the device, as
 * dev_pos0).  Mode STEP means T == 1 and blocks take their recurrent decode
 * path; a step reads nothing that changes between calls from the host
 * (slots and positions come from device memory), so it can be recorded
 * once and replayed (forward.c).
 */
#ifndef BR_GRAPH_EXEC_H
#define BR_GRAPH_EXEC_H

#include <stdint.h>

#include "graph/arena.h"
#include "graph/state.h"
#include "kernels/attention.h"
#include "kernels/device.h"
#include "layers/layer.h"

typedef enum br_run_mode { BR_RUN_PREFILL = 0, BR_RUN_STEP = 1 } br_run_mode;

typedef struct br_exec {
    const br_device *dev;    /* where weights, states and scratch live */
    br_run_mode mode;
    int batch, T, n_tok;
    const int *slots;        /* [batch] state slot of each sequence (host) */
    const int32_t *dev_slots;/* the same on the device */
    const int64_t *pos0;     /* [batch] tokens each sequence consumed before this pass (host) */
    const int64_t *dev_pos0; /* the same on the device */
    struct br_state *state;
    br_arena *scratch;       /* device temporaries */
    br_arena *host_scratch;  /* host temporaries */
    float *capture;          /* NULL, or [n_layers + 1, n_tok, d_model] on the host: the stream after each layer */
} br_exec;

/* The state pool entries of one invocation: [n_slots, elems]. */
static inline float *br_exec_conv_pool(const br_exec *ex, const br_site *site) {
    return ex->state->conv[site->state_id];
}
static inline float *br_exec_ssm_pool(const br_exec *ex, const br_site *site) {
    return ex->state->ssm[site->state_id];
}
/* The KV cache pools of one invocation (every slot). */
br_kv_cache br_exec_kv(const br_exec *ex, const br_site *site);

/* Scratch floats on the device for the current block call (released by the executor). */
static inline float *br_exec_scratch(br_exec *ex, size_t n, br_error *err) {
    return br_arena_floats(ex->scratch, n, err);
}
/* Scratch on the host (for decisions made on the host, e.g. MoE routing). */
static inline float *br_exec_host_scratch(br_exec *ex, size_t n, br_error *err) {
    return br_arena_floats(ex->host_scratch, n, err);
}

#endif /* BR_GRAPH_EXEC_H */
