/*
 * state.c - allocation and reset of the per-slot state pool.
 */
#include "graph/state.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

br_status br_state_create_for(const br_plan *plan, const br_device *dev, br_dtype kv_dtype, int n_slots,
                              int64_t max_context, struct br_state **out, br_error *err) {
    if (n_slots < 1 || max_context < 1)
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "state: need at least one slot and a context of at least 1, got %d "
                       "slots and context %lld", n_slots, (long long)max_context);
    struct br_state *s = br_calloc(1, sizeof *s, err);
    if (!s) return BR_ERR_NOMEM;
    s->plan = plan;
    s->dev = dev;
    s->n_slots = n_slots;
    s->max_context = max_context;
    s->kv_dtype = kv_dtype;
    s->scratch.dev = dev;
    s->host_scratch.dev = &br_cpu_device;
    br_status st = BR_OK;
    if (!(s->pos = br_calloc((size_t)n_slots, sizeof *s->pos, err)) ||
        !(s->broken = br_calloc((size_t)n_slots, sizeof *s->broken, err)) ||
        !(s->conv = br_calloc((size_t)plan->n_state + 1, sizeof *s->conv, err)) ||
        !(s->ssm = br_calloc((size_t)plan->n_state + 1, sizeof *s->ssm, err)) ||
        !(s->k = br_calloc((size_t)plan->n_kv + 1, sizeof *s->k, err)) ||
        !(s->v = br_calloc((size_t)plan->n_kv + 1, sizeof *s->v, err)) ||
        !(s->kv_cap = br_calloc((size_t)plan->n_kv + 1, sizeof *s->kv_cap, err)))
        st = BR_ERR_NOMEM;
    for (int e = 0; e < plan->n_state && st == BR_OK; e++) {
        const br_state_need *n = &plan->state_need[e];
        if (n->conv_elems && !(s->conv[e] = br_dev_alloc(dev, (size_t)n_slots * (size_t)n->conv_elems * sizeof(float), err)))
            st = BR_ERR_NOMEM;
        if (st == BR_OK && n->ssm_elems &&
            !(s->ssm[e] = br_dev_alloc(dev, (size_t)n_slots * (size_t)n->ssm_elems * sizeof(float), err)))
            st = BR_ERR_NOMEM;
    }
    for (int k = 0; k < plan->n_kv && st == BR_OK; k++) {
        const br_state_need *n = &plan->kv_need[k];
        int64_t cap = n->kv_window && n->kv_window < max_context ? n->kv_window : max_context;
        size_t bytes = (size_t)n_slots * (size_t)cap * (size_t)(n->kv_elems_per_token / 2) * br_dtype_size(kv_dtype);
        s->kv_cap[k] = cap;
        if (!(s->k[k] = br_dev_alloc(dev, bytes, err)) || !(s->v[k] = br_dev_alloc(dev, bytes, err))) st = BR_ERR_NOMEM;
    }
    if (st != BR_OK) {
        br_error_prefix(err, "state pool of %d slots x %lld tokens", n_slots, (long long)max_context);
        br_state_free(s);
        return st;
    }
    *out = s;
    return BR_OK;
}

void br_state_free(struct br_state *s) {
    if (!s) return;
    for (int e = 0; s->conv && e < s->plan->n_state; e++) {
        br_dev_free(s->dev, s->conv[e]);
        br_dev_free(s->dev, s->ssm[e]);
    }
    for (int k = 0; s->k && k < s->plan->n_kv; k++) {
        br_dev_free(s->dev, s->k[k]);
        br_dev_free(s->dev, s->v[k]);
    }
    free(s->conv);
    free(s->ssm);
    free(s->k);
    free(s->v);
    free(s->kv_cap);
    free(s->pos);
    free(s->broken);
    br_recorder_clear(&s->steps, s->dev);
    br_arena_free(&s->scratch);
    br_arena_free(&s->host_scratch);
    free(s);
}

br_status br_state_reset(struct br_state *s, int slot, br_error *err) {
    if (!s || slot < 0 || slot >= s->n_slots)
        return BR_FAIL(err, BR_ERR_RANGE, "state slot %d out of range [0, %d)", slot, s ? s->n_slots : 0);
    const br_plan *plan = s->plan;
    for (int e = 0; e < plan->n_state; e++) {
        const br_state_need *n = &plan->state_need[e];
        if (n->conv_elems)
            BR_TRY(br_dev_zero(s->dev, s->conv[e] + (size_t)slot * n->conv_elems, (size_t)n->conv_elems * sizeof(float), err));
        if (n->ssm_elems)
            BR_TRY(br_dev_zero(s->dev, s->ssm[e] + (size_t)slot * n->ssm_elems, (size_t)n->ssm_elems * sizeof(float), err));
    }
    s->pos[slot] = 0; /* KV rows past pos are never read */
    s->broken[slot] = 0;
    return BR_OK;
}

int64_t br_state_position(const struct br_state *s, int slot) {
    return s && slot >= 0 && slot < s->n_slots ? s->pos[slot] : -1;
}

int64_t br_state_recurrent_bytes(const struct br_state *s) {
    int64_t total = 0;
    for (int e = 0; e < s->plan->n_state; e++)
        total += (s->plan->state_need[e].conv_elems + s->plan->state_need[e].ssm_elems) * s->n_slots * 4;
    return total;
}

int64_t br_state_kv_bytes(const struct br_state *s) {
    int64_t total = 0;
    for (int k = 0; k < s->plan->n_kv; k++)
        total += s->plan->kv_need[k].kv_elems_per_token * s->kv_cap[k] * s->n_slots * (int64_t)br_dtype_size(s->kv_dtype);
    return total;
}
