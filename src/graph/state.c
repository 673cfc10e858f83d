/*
 * state.c - allocation, growth and reset of the per-slot state pool.
 *
 * Memory is planned before it is taken: a pool is refused when its
 * recurrent states and first KV caches do not fit in what the device has
 * available.  KV caches without a sliding window start at KV_FIRST tokens
 * (or the context, if smaller) and double as sequences grow, up to the
 * pool's context, so asking for a long context costs nothing until the
 * tokens come; a growth that does not fit is refused before any state
 * changes.
 */
#include "graph/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#define KV_FIRST 2048 /* tokens a growing KV cache holds at first */

/* Bytes of K (or V) of KV entry k at `cap` tokens for every slot. */
static size_t kv_half_bytes(const struct br_state *s, int k, int64_t cap) {
    return (size_t)s->n_slots * (size_t)cap * (size_t)(s->plan->kv_need[k].kv_elems_per_token / 2) *
           br_dtype_size(s->kv_dtype);
}

/* Tokens KV entry k holds for a pool of `max_context`: a window's ring, or the first size of a growing cache. */
static int64_t kv_first_cap(const br_state_need *n, int64_t max_context) {
    if (n->kv_window && n->kv_window < max_context) return n->kv_window;
    return max_context < KV_FIRST ? max_context : KV_FIRST;
}

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
    double need = (double)br_state_recurrent_bytes(s);
    for (int k = 0; k < plan->n_kv; k++)
        need += 2.0 * (double)kv_half_bytes(s, k, kv_first_cap(&plan->kv_need[k], max_context));
    char what[96];
    snprintf(what, sizeof what, "a state of %d slots (recurrent states and first KV caches)", n_slots);
    br_status st = br_dev_check_room(dev, need, what, "nothing was allocated", err);
    if (st != BR_OK) {
        free(s);
        return st;
    }
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
        const int64_t cap = kv_first_cap(n, max_context);
        const size_t bytes = kv_half_bytes(s, k, cap);
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

br_status br_state_reserve(struct br_state *s, int64_t tokens, br_error *err) {
    const br_plan *plan = s->plan;
    double need = 0;
    int grow = 0;
    int64_t want[plan->n_kv + 1];
    for (int k = 0; k < plan->n_kv; k++) {
        const br_state_need *n = &plan->kv_need[k];
        want[k] = s->kv_cap[k];
        if ((n->kv_window && n->kv_window <= s->kv_cap[k]) || tokens <= s->kv_cap[k]) continue; /* a ring, or enough */
        int64_t cap = 2 * s->kv_cap[k] > tokens ? 2 * s->kv_cap[k] : tokens;
        if (cap > s->max_context) cap = s->max_context;
        want[k] = cap;
        need += 2.0 * (double)kv_half_bytes(s, k, cap);
        grow = 1;
    }
    if (!grow) return BR_OK;
    char what[96];
    snprintf(what, sizeof what, "growing the KV caches for a sequence of %lld tokens", (long long)tokens);
    BR_TRY(br_dev_check_room(s->dev, need, what, "nothing changed", err));
    /* all new buffers first: a failure leaves every cache as it was */
    void **nk = calloc((size_t)plan->n_kv + 1, sizeof *nk), **nv = calloc((size_t)plan->n_kv + 1, sizeof *nv);
    br_status st = nk && nv ? BR_OK : BR_FAIL(err, BR_ERR_NOMEM, "out of host memory growing the KV caches");
    for (int k = 0; k < plan->n_kv && st == BR_OK; k++) {
        if (want[k] == s->kv_cap[k]) continue;
        const size_t bytes = kv_half_bytes(s, k, want[k]);
        if (!(nk[k] = br_dev_alloc(s->dev, bytes, err)) || !(nv[k] = br_dev_alloc(s->dev, bytes, err))) st = BR_ERR_NOMEM;
        const size_t slot_old = kv_half_bytes(s, k, s->kv_cap[k]) / (size_t)s->n_slots;
        const size_t slot_new = bytes / (size_t)s->n_slots;
        for (int slot = 0; slot < s->n_slots && st == BR_OK; slot++) { /* a slot's rows keep their positions */
            st = br_dev_copy(s->dev, (char *)nk[k] + slot * slot_new, (char *)s->k[k] + slot * slot_old, slot_old, err);
            if (st == BR_OK)
                st = br_dev_copy(s->dev, (char *)nv[k] + slot * slot_new, (char *)s->v[k] + slot * slot_old, slot_old, err);
        }
    }
    for (int k = 0; nk && nv && k < plan->n_kv; k++) {
        if (!nk[k] && !nv[k]) continue;
        if (st == BR_OK) {
            br_dev_free(s->dev, s->k[k]);
            br_dev_free(s->dev, s->v[k]);
            s->k[k] = nk[k], s->v[k] = nv[k], s->kv_cap[k] = want[k];
        } else {
            br_dev_free(s->dev, nk[k]);
            br_dev_free(s->dev, nv[k]);
        }
    }
    free(nk);
    free(nv);
    if (st == BR_OK) br_recorder_reset(&s->steps, s->dev); /* recordings name the old buffers */
    return st;
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
