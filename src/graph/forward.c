/*
 * forward.c - the layer-graph executor: embeddings, units, final norm, logits.
 *
 * Per unit (spec.h gives the semantics):
 *   in  = x (+ injected p) | [x, e] | previous output        [n_tok, width]
 *   h   = norm(in)
 *   out = sum_b out_scale_b * block_b(in_scale_b * h)         [n_tok, D]
 *   residual: x += residual_scale * out;  pass: prev = out;  inject: p = out
 * Everything runs through kernels on the model's device; the host only
 * uploads token ids and slots and downloads logits.  All temporaries come
 * from the state's scratch arena; nothing is written to the state pool
 * before the inputs are checked, so a refused call leaves every sequence
 * as it was.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/notice.h"
#include "graph/exec.h"
#include "graph/model.h"
#include "kernels/backend.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/norm.h"

br_kv_cache br_exec_kv(const br_exec *ex, const br_site *site) {
    const struct br_state *s = ex->state;
    br_kv_cache c = {
        .k = s->k[site->kv_id],
        .v = s->v[site->kv_id],
        .dtype = s->kv_dtype,
        .cap = s->kv_cap[site->kv_id],
        .row = (int)(s->plan->kv_need[site->kv_id].kv_elems_per_token / 2),
    };
    return c;
}

static void apply_norm(const br_device *dev, const br_norm_def *n, const float *w, const float *b, int rows, int width,
                       const float *x, float *y) {
    switch (n->kind) {
    case BR_NORM_RMS: BR_K(dev, rmsnorm, rows, width, x, width, w, (float)n->eps, n->unit_offset, y, width); break;
    case BR_NORM_LAYER: BR_K(dev, layernorm, rows, width, x, width, w, b, (float)n->eps, y, width); break;
    default:
        if (x != y) BR_K(dev, copy2d, rows, width, x, width, y, width);
        break;
    }
}

/* Logits [rows, V] that hold NaN or an infinity are an error naming the sequence and position. */
static br_status check_finite(const float *logits, int rows, int V, int per_seq, const int *slots, br_error *err) {
    for (long i = 0; i < (long)rows * V; i++)
        if (!isfinite(logits[i])) {
            const long r = i / V;
            return BR_FAIL(err, BR_ERR_NUMERIC, "the logits of the sequence in slot %d (token %ld of this call) hold %s "
                           "at id %ld: a weight or an activation is not finite; set BRAID_CHECK_FINITE=1 to find the "
                           "first layer that produces one", slots[r / per_seq], r % per_seq,
                           isnan(logits[i]) ? "NaN" : "an infinity", i % V);
        }
    return BR_OK;
}

static br_status check_call(const struct br_model *m, const struct br_state *s, int batch, const int *slots,
                            const int32_t *tokens, int T, br_error *err) {
    if (!m || !s || !slots || !tokens || batch < 1 || T < 1)
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "forward: need a model, a state, slots, tokens, batch >= 1 and T >= 1");
    if (s->plan != &m->plan || s->dev != m->dev)
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "forward: the state belongs to another model or device");
    for (int b = 0; b < batch; b++) {
        if (slots[b] >= 0 && slots[b] < s->n_slots && m->spec->context > 0 && s->pos[slots[b]] + T > m->spec->context)
            br_notice("%s: a sequence passed the %lld tokens its spec gives as the model's context; what it "
                      "produces past them is not what the model was made for", m->spec->name,
                      (long long)m->spec->context);
        if (slots[b] < 0 || slots[b] >= s->n_slots)
            return BR_FAIL(err, BR_ERR_RANGE, "slot %d of batch row %d is out of range [0, %d)", slots[b], b, s->n_slots);
        if (s->broken[slots[b]])
            return BR_FAIL(err, BR_ERR_INVALID_ARG, "slot %d: the last call on its sequence failed part-way, so the slot "
                           "no longer holds a sequence's state; reset it (br_state_reset) and feed the sequence again",
                           slots[b]);
        for (int c = 0; c < b; c++)
            if (slots[c] == slots[b]) return BR_FAIL(err, BR_ERR_INVALID_ARG, "slot %d appears twice in one batch", slots[b]);
        if (s->pos[slots[b]] + T > s->max_context)
            return BR_FAIL(err, BR_ERR_RANGE, "sequence in slot %d would reach %lld tokens, past the state's context of "
                           "%lld", slots[b], (long long)(s->pos[slots[b]] + T), (long long)s->max_context);
        for (int t = 0; t < T; t++) {
            int32_t id = tokens[(long)b * T + t];
            if (id < 0 || id >= m->spec->vocab_size)
                return BR_FAIL(err, BR_ERR_RANGE, "token id %d (sequence %d, position %d) is out of range [0, %d)", id, b,
                               t, m->spec->vocab_size);
        }
    }
    return BR_OK;
}

static br_status run_unit(const br_plan *plan, const br_plan_unit *pu, br_exec *ex, float *x, const float *e,
                          float **prev, float **pending, br_error *err) {
    const struct br_spec *spec = plan->spec;
    const br_device *dev = ex->dev;
    const int D = spec->d_model, n = ex->n_tok, W = pu->width;
    const br_unit_def *U = pu->def;
    float *in = br_exec_scratch(ex, (size_t)n * W, err);
    float *out = br_exec_scratch(ex, (size_t)n * D, err);
    if (!in || !out) return BR_ERR_NOMEM;
    const float *src = in; /* what the pre-norm reads: the stream itself unless something is added or joined */
    if (U->input == BR_INPUT_PREVIOUS) {
        src = *prev;
    } else if (!*pending && U->input != BR_INPUT_CONCAT_EMBEDDING) {
        src = x;
    } else {
        BR_K(dev, copy2d, n, D, x, D, in, W);
        if (*pending) BR_K(dev, axpby, n, D, 1.0f, *pending, D, 1.0f, in, W);
        if (U->input == BR_INPUT_CONCAT_EMBEDDING) BR_K(dev, copy2d, n, D, e, D, in + D, W);
    }
    if (U->input != BR_INPUT_PREVIOUS) *pending = NULL;
    apply_norm(dev, &U->norm, pu->norm_w, pu->norm_b, n, W, src, in);
    float *y = U->n_blocks > 1 ? br_exec_scratch(ex, (size_t)n * D, err) : out;
    float *scaled = NULL;
    if (!y) return BR_ERR_NOMEM;
    for (int b = 0; b < U->n_blocks; b++) {
        const br_block_inst *blk = pu->blocks[b];
        const float *bin = in;
        if (blk->def->in_scale != 1.0) {
            if (!scaled && !(scaled = br_exec_scratch(ex, (size_t)n * W, err))) return BR_ERR_NOMEM;
            BR_K(dev, axpby, n, W, (float)blk->def->in_scale, in, W, 0.0f, scaled, W);
            bin = scaled;
        }
        br_arena_mark mark = br_arena_mark_get(ex->scratch), hmark = br_arena_mark_get(ex->host_scratch);
        br_block_run_fn run = ex->mode == BR_RUN_STEP && blk->type->step ? blk->type->step : blk->type->prefill;
        br_status st = run(blk, ex, &pu->sites[b], bin, y, err);
        br_arena_release(ex->scratch, mark);
        br_arena_release(ex->host_scratch, hmark);
        if (st == BR_OK) st = br_dev_check(dev, err);
        if (st != BR_OK) {
            br_error_prefix(err, "layer %d unit %d (block '%s')", pu->layer, pu->index, blk->def->name);
            return st;
        }
        float s = (float)blk->def->out_scale;
        if (b == 0) {
            if (y != out || s != 1.0f) BR_K(dev, axpby, n, D, s, y, D, 0.0f, out, D);
        } else {
            BR_K(dev, axpby, n, D, s, y, D, 1.0f, out, D);
        }
    }
    switch (U->combine) {
    case BR_COMBINE_RESIDUAL: BR_K(dev, axpby, n, D, (float)spec->residual_scale, out, D, 1.0f, x, D); break;
    case BR_COMBINE_PASS: *prev = out; break;
    case BR_COMBINE_INJECT: *pending = out; break;
    default: break;
    }
    return BR_OK;
}

/* BRAID_CHECK_FINITE: what unit pu left in y [n_tok, D] is read back and must be finite, else an error
 * naming the layer, the unit, its blocks, the token and the dimension. */
static br_status check_unit_output(br_exec *ex, const br_plan_unit *pu, const float *y, int D, br_error *err) {
    const long n = (long)ex->n_tok * D;
    float *h = br_exec_host_scratch(ex, (size_t)n, err);
    if (!h) return BR_ERR_NOMEM;
    BR_TRY(br_dev_download(ex->dev, h, y, (size_t)n * sizeof(float), err));
    for (long i = 0; i < n; i++)
        if (!isfinite(h[i]))
            return BR_FAIL(err, BR_ERR_NUMERIC, "layer %d unit %d (first block '%s') produced %s at token %ld, "
                           "dimension %ld (BRAID_CHECK_FINITE)", pu->layer, pu->index, pu->blocks[0]->def->name,
                           isnan(h[i]) ? "NaN" : "an infinity", i / D, i % D);
    return BR_OK;
}

/* Final norm and head over the rows that need logits: *lg [rows, V] on the device. */
static br_status logits_compute(const struct br_model *m, br_exec *ex, const float *x, br_logits_mode lm, float **lg,
                                br_error *err) {
    const br_plan *plan = &m->plan;
    const struct br_spec *spec = m->spec;
    const br_device *dev = ex->dev;
    const int D = spec->d_model, V = spec->vocab_size, T = ex->T;
    const int rows = lm == BR_LOGITS_ALL ? ex->n_tok : ex->batch;
    float *h = br_exec_scratch(ex, (size_t)rows * D, err);
    if (!h || !(*lg = br_exec_scratch(ex, (size_t)rows * V, err))) return BR_ERR_NOMEM;
    if (lm == BR_LOGITS_ALL) BR_K(dev, copy2d, rows, D, x, D, h, D);
    else BR_K(dev, copy2d, rows, D, x + (long)(T - 1) * D, T * D, h, D); /* each sequence's last row */
    apply_norm(dev, &spec->final_norm, plan->final_w, plan->final_b, rows, D, h, h);
    BR_K(dev, linear, rows, D, V, h, D, plan->lm_head, NULL, 0.0f, *lg, V);
    if (spec->logit_scale != 1.0) BR_K(dev, scale2d, rows, V, (float)spec->logit_scale, *lg, V);
    return br_dev_check(dev, err);
}

/* The stream x [n_tok, D] after layer l into row l + 1 of ex->capture; after the last layer with the
 * final norm applied, as transformers' hidden_states[-1] is. */
static br_status capture_layer(const struct br_model *m, br_exec *ex, int l, const float *x, br_error *err) {
    const int D = m->spec->d_model, n = ex->n_tok;
    const float *src = x;
    if (l + 1 == m->spec->n_layers) {
        float *h = br_exec_scratch(ex, (size_t)n * D, err);
        if (!h) return BR_ERR_NOMEM;
        apply_norm(ex->dev, &m->spec->final_norm, m->plan.final_w, m->plan.final_b, n, D, x, h);
        src = h;
    }
    return br_dev_download(ex->dev, ex->capture + (size_t)(l + 1) * n * D, src, (size_t)n * D * sizeof(float), err);
}

/* Everything between the uploaded ids and the logits on the device: the
 * part of a step that is recorded.  *lg is NULL when no logits are wanted. */
static br_status run_body(const struct br_model *m, br_exec *ex, const int32_t *ids, br_logits_mode lm, float **lg,
                          br_error *err) {
    const br_plan *plan = &m->plan;
    const struct br_spec *spec = m->spec;
    const br_device *dev = ex->dev;
    struct br_state *s = ex->state;
    const int D = spec->d_model, n = ex->n_tok;
    float *x = br_exec_scratch(ex, (size_t)n * D, err), *e = NULL;
    if (!x) return BR_ERR_NOMEM;
    BR_K(dev, embed, n, D, ids, plan->embed, (float)spec->embedding_scale, x);
    if (ex->capture) BR_TRY(br_dev_download(dev, ex->capture, x, (size_t)n * D * sizeof(float), err));
    if (plan->uses_embedding) {
        if (!(e = br_exec_scratch(ex, (size_t)n * D, err))) return BR_ERR_NOMEM;
        BR_K(dev, copy2d, n, D, x, D, e, D);
    }
    /* After a residual unit no temporary is live (a pass/inject output is
     * consumed by the unit after it), so the arena rewinds to here. */
    float *prev = NULL, *pending = NULL;
    br_arena_mark live = br_arena_mark_get(&s->scratch);
    const char *env = getenv("BRAID_CHECK_FINITE");
    const int check = env && strcmp(env, "0") != 0;
    for (int k = 0; k < plan->n_units; k++) {
        const br_plan_unit *pu = &plan->units[k];
        BR_TRY(run_unit(plan, pu, ex, x, e, &prev, &pending, err));
        if (check) {
            const br_unit_combine c = pu->def->combine;
            BR_TRY(check_unit_output(ex, pu, c == BR_COMBINE_PASS ? prev : c == BR_COMBINE_INJECT ? pending : x, D, err));
        }
        if (ex->capture && (k + 1 == plan->n_units || plan->units[k + 1].layer != pu->layer))
            BR_TRY(capture_layer(m, ex, pu->layer, x, err));
        if (pu->def->combine == BR_COMBINE_RESIDUAL) br_arena_release(&s->scratch, live);
    }
    *lg = NULL;
    return lm == BR_LOGITS_NONE ? BR_OK : logits_compute(m, ex, x, lm, lg, err);
}

/* A decode step's body for the recorder: from the scratch state at `start`, ids to logits. */
typedef struct step_ctx {
    const struct br_model *m;
    br_exec *ex;
    const int32_t *ids;
    br_arena_mark start;
} step_ctx;

static br_status step_body(void *p, void **result, br_error *err) {
    step_ctx *c = p;
    br_arena_release(c->ex->scratch, c->start);
    float *lg = NULL;
    br_status st = run_body(c->m, c->ex, c->ids, BR_LOGITS_LAST, &lg, err);
    *result = lg;
    return st;
}

/* A decode step through the state's recorder (kernels/recorder.h), keyed by
 * the batch size and where the scratch arena stands. */
static br_status run_step(const struct br_model *m, br_exec *ex, const int32_t *ids, float **lg, br_error *err) {
    const br_arena_mark here = br_arena_mark_get(ex->scratch);
    const br_rec_key key = {{ex->batch, here.chunk, (int64_t)here.used, (int64_t)here.in_use}};
    step_ctx c = {m, ex, ids, here};
    void *result = NULL;
    br_status st = br_recorder_run(&ex->state->steps, ex->dev, &key, step_body, &c, &result, err);
    *lg = result;
    return st;
}

static br_status forward(const struct br_model *m, struct br_state *s, int batch, const int *slots,
                         const int32_t *tokens, int T, br_run_mode mode, br_logits_mode lm, float *logits,
                         float *capture, br_error *err) {
    BR_TRY(check_call(m, s, batch, slots, tokens, T, err));
    if (mode == BR_RUN_STEP && T != 1) return BR_FAIL(err, BR_ERR_INVALID_ARG, "step runs one token per sequence");
    int64_t reach = 0; /* the KV caches hold every position the call writes, or grow first (nothing changes if not) */
    for (int b = 0; b < batch; b++) reach = s->pos[slots[b]] + T > reach ? s->pos[slots[b]] + T : reach;
    BR_TRY(br_state_reserve(s, reach, err));
    const br_device *dev = m->dev;
    const int n = batch * T;
    int64_t pos0[batch];
    for (int b = 0; b < batch; b++) pos0[b] = s->pos[slots[b]];
    br_exec ex = {dev, mode, batch, T, n, slots, NULL, pos0, NULL, s, &s->scratch, &s->host_scratch, capture};
    br_arena_mark start = br_arena_mark_get(&s->scratch), hstart = br_arena_mark_get(&s->host_scratch);
    br_status st = BR_OK;
    int32_t *ids = (int32_t *)br_exec_scratch(&ex, (size_t)n, err), *dslots = (int32_t *)br_exec_scratch(&ex, (size_t)batch, err);
    int64_t *dpos = (int64_t *)br_exec_scratch(&ex, (size_t)batch * 2, err);
    float *lg = NULL;
    if (!ids || !dslots || !dpos) st = BR_ERR_NOMEM;
    if (st == BR_OK) st = br_dev_upload(dev, ids, tokens, (size_t)n * sizeof *ids, err);
    if (st == BR_OK) st = br_dev_upload(dev, dslots, slots, (size_t)batch * sizeof *dslots, err);
    if (st == BR_OK) st = br_dev_upload(dev, dpos, pos0, (size_t)batch * sizeof *dpos, err);
    ex.dev_slots = dslots;
    ex.dev_pos0 = dpos;
    if (st == BR_OK) st = mode == BR_RUN_STEP ? run_step(m, &ex, ids, &lg, err) : run_body(m, &ex, ids, lm, &lg, err);
    if (st == BR_OK && lg && logits) {
        const int rows = lm == BR_LOGITS_ALL ? n : batch;
        st = br_dev_download(dev, logits, lg, (size_t)rows * m->spec->vocab_size * sizeof(float), err);
        if (st == BR_OK) st = check_finite(logits, rows, m->spec->vocab_size, lm == BR_LOGITS_ALL ? T : 1, slots, err);
    }
    if (st == BR_OK) st = br_dev_sync(dev, err);
    br_arena_release(&s->scratch, start);
    br_arena_release(&s->host_scratch, hstart);
    /* A failure mid-pass may have advanced some recurrent states while the
     * positions did not move: the slots of this batch are marked broken and
     * refused until they are reset. */
    for (int b = 0; b < batch; b++) {
        if (st == BR_OK) s->pos[slots[b]] += T;
        else s->broken[slots[b]] = 1;
    }
    return st;
}

br_status br_model_prefill(const br_model *m, br_state *s, int batch, const int *slots, const int32_t *tokens, int T,
                           br_logits_mode lm, float *logits, br_error *err) {
    return forward(m, s, batch, slots, tokens, T, BR_RUN_PREFILL, lm, logits, NULL, err);
}

br_status br_model_prefill_hidden(const br_model *m, br_state *s, int slot, const int32_t *tokens, int T, float *hidden,
                                  br_error *err) {
    if (!hidden) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_model_prefill_hidden: NULL hidden");
    return forward(m, s, 1, &slot, tokens, T, BR_RUN_PREFILL, BR_LOGITS_NONE, NULL, hidden, err);
}

br_status br_model_step(const br_model *m, br_state *s, int batch, const int *slots, const int32_t *tokens,
                        float *logits, br_error *err) {
    return forward(m, s, batch, slots, tokens, 1, BR_RUN_STEP, BR_LOGITS_LAST, logits, NULL, err);
}
