/*
 * attention.c - multi-head causal self-attention with GQA, RoPE (full,
 * partial or none) and an optional sliding window.
 *
 *   q = Wq x [n, H*hd]   k = key_scale * Wk x [n, KVH*hd]   v = Wv x
 *   q, k <- rope(q, k, absolute positions)   (first rot_dim = hd*fraction dims)
 *   o = softmax(scale q k^T + causal/window mask) v          scale = 1/sqrt(hd) by default
 *   y = Wo o  [n, d_model]
 * KV cache per invocation and sequence: [cap, KVH*hd] for K and for V, in
 * the state's KV type (f32, or bf16 on a GPU in bf16 mode).
 * Without a window the cache holds every position and the new rows are
 * written before attending over the cache itself; with a window it is a ring
 * of `window` rows and the rows still visible are gathered before the new
 * ones overwrite them.  A decode step writes each sequence's new row at
 * position % cap, then attends over the ring (kernels/attention.h:
 * kv_append, attention_decode).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "kernels/attention.h"
#include "kernels/backend.h"
#include "kernels/elementwise.h"
#include "layers/linear_map.h"

static const char *const rope_names[] = {"none", "neox", "gptj", NULL};

typedef struct attn_cfg {
    int heads, kv_heads, head_dim;
    int rope;
    double rope_theta, rope_fraction;
    int qkv_bias, out_bias;
    double scale, key_scale;
    int window;
} attn_cfg;

static const br_field attn_fields[] = {
    {"heads", BR_FIELD_INT, offsetof(attn_cfg, heads), 0, 1, 4096, NULL, 0, "query heads"},
    {"kv_heads", BR_FIELD_INT, offsetof(attn_cfg, kv_heads), 0, 0, 4096, NULL, 0, "key/value heads (0: = heads)"},
    {"head_dim", BR_FIELD_INT, offsetof(attn_cfg, head_dim), 0, 0, 4096, NULL, 0, "per-head width (0: in_dim/heads)"},
    {"rope", BR_FIELD_ENUM, offsetof(attn_cfg, rope), BR_ROPE_NEOX, 0, 0, rope_names, 0, "rotary style"},
    {"rope_theta", BR_FIELD_FLOAT, offsetof(attn_cfg, rope_theta), 10000.0, 1e-9, 1e30, NULL, 0, "rotary base"},
    {"rope_fraction", BR_FIELD_FLOAT, offsetof(attn_cfg, rope_fraction), 1.0, 0.0, 1.0, NULL, 0, "rotated share of head_dim"},
    {"qkv_bias", BR_FIELD_BOOL, offsetof(attn_cfg, qkv_bias), 0, 0, 0, NULL, 0, "biases on q, k, v"},
    {"out_bias", BR_FIELD_BOOL, offsetof(attn_cfg, out_bias), 0, 0, 0, NULL, 0, "bias on the output map"},
    {"scale", BR_FIELD_FLOAT, offsetof(attn_cfg, scale), 0.0, 0.0, 1e9, NULL, 0, "softmax scale (0: 1/sqrt(head_dim))"},
    {"key_scale", BR_FIELD_FLOAT, offsetof(attn_cfg, key_scale), 1.0, 1, 0, NULL, 0, "multiplies k (Falcon-H1)"},
    {"window", BR_FIELD_INT, offsetof(attn_cfg, window), 0, 0, 1 << 30, NULL, 0, "sliding window (0: none)"},
    BR_FIELD_END,
};

typedef struct attn_w {
    br_lin q, k, v, o;
    int rot_dim;
} attn_w;

static int rot_dim(const attn_cfg *c) {
    if (c->rope == BR_ROPE_NONE) return 0;
    int r = (int)(c->head_dim * c->rope_fraction);
    return r - (r & 1);
}

static br_status attn_resolve(void *cfg, const br_block_dims *d, const br_block_def *def, br_error *err) {
    attn_cfg *c = cfg;
    if (c->heads <= 0) return br_block_fail(err, def, "'heads' is required");
    if (!c->kv_heads) c->kv_heads = c->heads;
    if (c->heads % c->kv_heads)
        return br_block_fail(err, def, "heads (%d) must be a multiple of kv_heads (%d)", c->heads, c->kv_heads);
    if (!c->head_dim) {
        if (d->in_dim % c->heads)
            return br_block_fail(err, def, "the input width %d is not divisible by heads (%d); set head_dim", d->in_dim,
                                 c->heads);
        c->head_dim = d->in_dim / c->heads;
    }
    if (c->rope != BR_ROPE_NONE && rot_dim(c) == 0)
        return br_block_fail(err, def, "rope_fraction %g of head_dim %d rotates no dimension; use rope: none",
                             c->rope_fraction, c->head_dim);
    if (c->scale == 0) c->scale = 1.0 / sqrt((double)c->head_dim);
    return BR_OK;
}

static br_status attn_params(const void *cfg, const br_block_dims *d, br_param_sink *s, br_error *err) {
    const attn_cfg *c = cfg;
    BR_TRY(br_lin_declare(s, "q_proj", c->heads * c->head_dim, d->in_dim, c->qkv_bias, err));
    BR_TRY(br_lin_declare(s, "k_proj", c->kv_heads * c->head_dim, d->in_dim, c->qkv_bias, err));
    BR_TRY(br_lin_declare(s, "v_proj", c->kv_heads * c->head_dim, d->in_dim, c->qkv_bias, err));
    return br_lin_declare(s, "o_proj", d->d_model, c->heads * c->head_dim, c->out_bias, err);
}

static int attn_linear_shape(const void *cfg, const br_block_dims *d, const char *name, int *out, int *in) {
    const attn_cfg *c = cfg;
    *in = d->in_dim;
    if (strcmp(name, "q_proj") == 0) return *out = c->heads * c->head_dim, 1;
    if (strcmp(name, "k_proj") == 0 || strcmp(name, "v_proj") == 0) return *out = c->kv_heads * c->head_dim, 1;
    if (strcmp(name, "o_proj") == 0) return *out = d->d_model, *in = c->heads * c->head_dim, 1;
    return 0;
}

static void attn_state(const void *cfg, const br_block_dims *d, br_state_need *need) {
    const attn_cfg *c = cfg;
    need->kv_elems_per_token = 2LL * c->kv_heads * c->head_dim;
    need->kv_window = c->window;
}

static void attn_costs(const void *cfg, const br_block_dims *d, br_block_costs *out) {
    const attn_cfg *c = cfg;
    out->flops_per_context = 4.0 * c->heads * c->head_dim; /* q.k and p v, 2 FLOPs a multiply-add */
}

static br_status attn_bind(const void *cfg, const br_block_dims *d, const br_wscope *scope, void **bound,
                           br_error *err) {
    const attn_cfg *c = cfg;
    attn_w *w = br_calloc(1, sizeof *w, err);
    if (!w) return BR_ERR_NOMEM;
    br_status st = br_lin_bind(scope, "q_proj", c->heads * c->head_dim, d->in_dim, c->qkv_bias, &w->q, err);
    if (st == BR_OK) st = br_lin_bind(scope, "k_proj", c->kv_heads * c->head_dim, d->in_dim, c->qkv_bias, &w->k, err);
    if (st == BR_OK) st = br_lin_bind(scope, "v_proj", c->kv_heads * c->head_dim, d->in_dim, c->qkv_bias, &w->v, err);
    if (st == BR_OK) st = br_lin_bind(scope, "o_proj", d->d_model, c->heads * c->head_dim, c->out_bias, &w->o, err);
    if (st != BR_OK) {
        free(w);
        return st;
    }
    w->rot_dim = rot_dim(c);
    *bound = w;
    return BR_OK;
}

/* Attends the T new rows of sequence b: q [T, H*hd]; kn, vn [T, KVH*hd]. */
static br_status attend_sequence(const attn_cfg *c, br_exec *ex, const br_site *site, int b, const float *q,
                                 const float *kn, const float *vn, float *o, br_error *err) {
    const br_device *dev = ex->dev;
    const int T = ex->T, slot = ex->slots[b];
    const int64_t p0 = ex->pos0[b];
    const br_kv_cache kv = br_exec_kv(ex, site);
    const size_t row_bytes = (size_t)kv.row * br_dtype_size(kv.dtype);
    br_attn_args a = {.T = T, .heads = c->heads, .kv_heads = c->kv_heads, .head_dim = c->head_dim, .q = q,
                      .ldq = c->heads * c->head_dim, .ldkv = kv.row, .kv_dtype = kv.dtype, .q_pos0 = p0,
                      .window = c->window, .scale = (float)c->scale, .o = o, .ldo = c->heads * c->head_dim};
    if (!c->window) { /* the cache holds every position: write, then attend over [0, p0+T) */
        BR_K(dev, kv_store, &kv, slot, p0, T, kn, vn, kv.row);
        a.k = (const char *)kv.k + (size_t)slot * (size_t)kv.cap * row_bytes;
        a.v = (const char *)kv.v + (size_t)slot * (size_t)kv.cap * row_bytes;
        a.S = (int)(p0 + T);
        a.k_pos0 = 0;
    } else { /* ring of `cap` rows: gather the visible old rows, then the new ones */
        int64_t n_old = p0 < kv.cap ? p0 : kv.cap;
        if (n_old > c->window - 1) n_old = c->window - 1;
        const size_t floats = ((size_t)(n_old + T) * row_bytes + sizeof(float) - 1) / sizeof(float);
        float *kk = br_exec_scratch(ex, floats, err), *vv = br_exec_scratch(ex, floats, err);
        if (!kk || !vv) return BR_ERR_NOMEM;
        const br_kv_cache seen = {.k = kk, .v = vv, .dtype = kv.dtype, .cap = n_old + T, .row = kv.row};
        BR_K(dev, kv_gather, &kv, slot, p0 - n_old, (int)n_old, kk, vv);
        BR_K(dev, kv_store, &seen, 0, n_old, T, kn, vn, kv.row);
        const int skip = T > kv.cap ? (int)(T - kv.cap) : 0; /* only the last cap rows stay in the ring */
        BR_K(dev, kv_store, &kv, slot, p0 + skip, T - skip, kn + (long)skip * kv.row, vn + (long)skip * kv.row, kv.row);
        a.k = kk;
        a.v = vv;
        a.S = (int)(n_old + T);
        a.k_pos0 = p0 - n_old;
    }
    a.work = br_exec_scratch(ex, (size_t)br_attn_work_floats(&a), err);
    if (!a.work) return BR_ERR_NOMEM;
    BR_K(dev, attention, &a);
    return BR_OK;
}

/* q, k, v of the n rows of x, k times key_scale; scratch from ex. */
static br_status project_qkv(const br_block_inst *blk, br_exec *ex, const br_site *site, const float *x, float **q,
                             float **k, float **v, br_error *err) {
    const attn_cfg *c = blk->cfg;
    const attn_w *w = blk->bound;
    const int n = ex->n_tok, qd = c->heads * c->head_dim, kd = c->kv_heads * c->head_dim, in = blk->dims.in_dim;
    *q = br_exec_scratch(ex, (size_t)n * qd, err);
    *k = br_exec_scratch(ex, (size_t)n * kd, err);
    *v = br_exec_scratch(ex, (size_t)n * kd, err);
    if (!*q || !*k || !*v) return BR_ERR_NOMEM;
    const br_lin *maps[3] = {&w->q, &w->k, &w->v};
    float *const ys[3] = {*q, *k, *v};
    const int lds[3] = {qd, kd, kd};
    BR_TRY(br_lin_run_multi(maps, 3, ex, site, n, x, in, ys, lds, err));
    if (c->key_scale != 1.0) BR_K(ex->dev, scale2d, n, kd, (float)c->key_scale, *k, kd);
    return BR_OK;
}

static void rotate(const attn_cfg *c, const attn_w *w, const br_device *dev, int n, const int64_t *pos, float *q,
                   float *k) {
    const int qd = c->heads * c->head_dim, kd = c->kv_heads * c->head_dim;
    BR_K(dev, rope, n, c->heads, c->head_dim, w->rot_dim, (float)c->rope_theta, (br_rope_style)c->rope, pos, q, qd);
    BR_K(dev, rope, n, c->kv_heads, c->head_dim, w->rot_dim, (float)c->rope_theta, (br_rope_style)c->rope, pos, k, kd);
}

static br_status attn_run(const br_block_inst *blk, br_exec *ex, const br_site *site, const float *x, float *y,
                          br_error *err) {
    const attn_cfg *c = blk->cfg;
    const attn_w *w = blk->bound;
    const int n = ex->n_tok, qd = c->heads * c->head_dim, kd = c->kv_heads * c->head_dim;
    float *q, *k, *v;
    BR_TRY(project_qkv(blk, ex, site, x, &q, &k, &v, err));
    float *o = br_exec_scratch(ex, (size_t)n * qd, err);
    int64_t *pos = (int64_t *)br_exec_scratch(ex, (size_t)n * 2, err);
    int64_t *host_pos = (int64_t *)br_exec_host_scratch(ex, (size_t)n * 2, err);
    if (!o || !pos || !host_pos) return BR_ERR_NOMEM;
    for (int b = 0; b < ex->batch; b++)
        for (int t = 0; t < ex->T; t++) host_pos[(long)b * ex->T + t] = ex->pos0[b] + t;
    BR_TRY(br_dev_upload(ex->dev, pos, host_pos, (size_t)n * sizeof *pos, err));
    rotate(c, w, ex->dev, n, pos, q, k);
    for (int b = 0; b < ex->batch; b++) {
        br_arena_mark mark = br_arena_mark_get(ex->scratch);
        long r0 = (long)b * ex->T;
        br_status st = attend_sequence(c, ex, site, b, q + r0 * qd, k + r0 * kd, v + r0 * kd, o + r0 * qd, err);
        br_arena_release(ex->scratch, mark);
        if (st != BR_OK) return st;
    }
    return br_lin_run(&w->o, ex, site, n, o, qd, y, blk->dims.d_model, 0.0f, err);
}

/* One token per sequence: positions from the device, all sequences in one launch each. */
static br_status attn_step(const br_block_inst *blk, br_exec *ex, const br_site *site, const float *x, float *y,
                           br_error *err) {
    const attn_cfg *c = blk->cfg;
    const attn_w *w = blk->bound;
    const int qd = c->heads * c->head_dim, kd = c->kv_heads * c->head_dim;
    float *q, *k, *v;
    BR_TRY(project_qkv(blk, ex, site, x, &q, &k, &v, err));
    float *o = br_exec_scratch(ex, (size_t)ex->batch * qd, err);
    if (!o) return BR_ERR_NOMEM;
    br_attn_decode_args a = {.batch = ex->batch, .heads = c->heads, .kv_heads = c->kv_heads, .head_dim = c->head_dim,
                             .q = q, .ldq = qd, .k_new = k, .v_new = v, .ldkv = kd, .cache = br_exec_kv(ex, site),
                             .slots = ex->dev_slots, .pos = ex->dev_pos0, .window = c->window,
                             .scale = (float)c->scale, .o = o, .ldo = qd};
    const long work = BR_K(ex->dev, attention_decode_work_floats, &a);
    if (work && !(a.work = br_exec_scratch(ex, (size_t)work, err))) return BR_ERR_NOMEM;
    const br_rope_args rope = {.rot_dim = w->rot_dim, .theta = (float)c->rope_theta, .style = (br_rope_style)c->rope};
    BR_K(ex->dev, rope_kv_append, &a, &rope);
    BR_K(ex->dev, attention_decode, &a);
    return br_lin_run(&w->o, ex, site, ex->batch, o, qd, y, blk->dims.d_model, 0.0f, err);
}

static br_status attn_gpu_check(const void *cfg, const br_block_dims *d, br_error *err) {
    const attn_cfg *c = cfg;
    if (c->head_dim > BR_CUDA_ATTN_MAX_HEAD_DIM)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "head_dim %d: the CUDA attention handles up to %d", c->head_dim,
                       BR_CUDA_ATTN_MAX_HEAD_DIM);
    return BR_OK;
}

const br_layer_type br_layer_attention = {
    .name = "attention",
    .summary = "causal self-attention: GQA, RoPE (full/partial/none), sliding window",
    .cfg_size = sizeof(attn_cfg),
    .fields = attn_fields,
    .resolve = attn_resolve,
    .params = attn_params,
    .linear_shape = attn_linear_shape,
    .state = attn_state,
    .costs = attn_costs,
    .bind = attn_bind,
    .unbind = free,
    .prefill = attn_run,
    .step = attn_step,
    .gpu_check = attn_gpu_check,
};
