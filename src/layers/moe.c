/*
 * moe.c - mixture of experts with top-k routing and an optional shared expert.
 *
 *   r = router(x)                                        [n, E]
 *   softmax router: p = softmax(r); pick top-k of p      (Jamba, Granite)
 *   sigmoid router: p = sigmoid(r); pick top-k of p + b  (b: selection bias,
 *                   Nemotron-3); groups limit picks to the best topk_groups
 *   weights w = p[picked] (/ sum if normalize) * route_scale
 *   y = sum_k w_k expert_k(x) + shared_expert(x)
 * Experts are MLPs stored stacked: experts.gate_up_proj [E, 2F, in] (or
 * experts.up_proj [E, F, in] when not gated), experts.down_proj [E, D, F].
 * Everything runs on the model's device (kernels/moe.h): the router picks,
 * the n*K (token, pick) pairs are sorted by expert, the rows are gathered,
 * each expert's rows go through its two products (one grouped launch
 * each), and every token sums its picks' outputs, weighted:
 *   logits [n, E] -> ids, wts [n, K] -> rows [n*K, in] -> [n*K, U] -> [n*K, F]
 *   -> [n*K, D] -> y [n, D]
 * Long prompts run in blocks of MOE_BLOCK tokens to bound the scratch.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "kernels/act.h"
#include "kernels/backend.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/moe.h"
#include "layers/linear_map.h"

#define MOE_BLOCK 1024 /* tokens routed together */

static const char *const router_names[] = {"softmax", "sigmoid", NULL};
enum { ROUTER_SOFTMAX, ROUTER_SIGMOID };

typedef struct moe_cfg {
    int experts, top_k, hidden, activation, gated;
    int router, normalize, selection_bias, groups, topk_groups;
    double route_scale;
    int shared_hidden;
} moe_cfg;

static const br_field moe_fields[] = {
    {"experts", BR_FIELD_INT, offsetof(moe_cfg, experts), 0, 1, 1 << 16, NULL, 0, "routed experts E"},
    {"top_k", BR_FIELD_INT, offsetof(moe_cfg, top_k), 2, 1, 1 << 16, NULL, 0, "experts per token"},
    {"hidden", BR_FIELD_INT, offsetof(moe_cfg, hidden), 0, 1, 1 << 20, NULL, 0, "expert inner width F"},
    {"activation", BR_FIELD_ENUM, offsetof(moe_cfg, activation), BR_ACT_SILU, 0, 0, br_act_names, 0, "expert activation"},
    {"gated", BR_FIELD_BOOL, offsetof(moe_cfg, gated), 1, 0, 0, NULL, 0, "GLU experts"},
    {"router", BR_FIELD_ENUM, offsetof(moe_cfg, router), ROUTER_SOFTMAX, 0, 0, router_names, 0, "score function"},
    {"normalize", BR_FIELD_BOOL, offsetof(moe_cfg, normalize), 0, 0, 0, NULL, 0, "renormalise the top-k weights"},
    {"selection_bias", BR_FIELD_BOOL, offsetof(moe_cfg, selection_bias), 0, 0, 0, NULL, 0, "bias added for picking only"},
    {"groups", BR_FIELD_INT, offsetof(moe_cfg, groups), 1, 1, 1 << 16, NULL, 0, "expert groups"},
    {"topk_groups", BR_FIELD_INT, offsetof(moe_cfg, topk_groups), 1, 1, 1 << 16, NULL, 0, "groups a token may use"},
    {"route_scale", BR_FIELD_FLOAT, offsetof(moe_cfg, route_scale), 1.0, 1, 0, NULL, 0, "multiplies routing weights"},
    {"shared_hidden", BR_FIELD_INT, offsetof(moe_cfg, shared_hidden), 0, 0, 1 << 20, NULL, 0, "shared expert width (0: none)"},
    BR_FIELD_END,
};

typedef struct moe_w {
    br_lin router;
    const float *sel_bias;   /* [E] or NULL */
    br_mat up, down;         /* [E, (2)F, in], [E, D, F] */
    br_lin shared_up, shared_down;
} moe_w;

static int up_rows(const moe_cfg *c, int f) { return (c->gated ? 2 : 1) * f; }

static br_status moe_resolve(void *cfg, const br_block_dims *d, const br_block_def *def, br_error *err) {
    moe_cfg *c = cfg;
    if (c->experts <= 0 || c->hidden <= 0) return br_block_fail(err, def, "'experts' and 'hidden' are required");
    if (c->top_k > c->experts) return br_block_fail(err, def, "top_k (%d) exceeds experts (%d)", c->top_k, c->experts);
    if (c->experts % c->groups || c->topk_groups > c->groups)
        return br_block_fail(err, def, "experts (%d) must divide into groups (%d) and topk_groups (%d) <= groups",
                             c->experts, c->groups, c->topk_groups);
    if (c->top_k > c->topk_groups * (c->experts / c->groups))
        return br_block_fail(err, def, "top_k (%d) exceeds the experts of the topk_groups (%d) groups a token may use (%d)",
                             c->top_k, c->topk_groups, c->topk_groups * (c->experts / c->groups));
    return BR_OK;
}

static br_status moe_params(const void *cfg, const br_block_dims *d, br_param_sink *s, br_error *err) {
    const moe_cfg *c = cfg;
    const int E = c->experts, F = c->hidden;
    BR_TRY(br_lin_declare(s, "router", E, d->in_dim, 0, err));
    if (c->selection_bias) BR_TRY(br_param1(s, "router.selection_bias", E, (br_init){BR_INIT_NORMAL, 0.05f, 0.0f}, err));
    BR_TRY(br_param_matrix(s, c->gated ? "experts.gate_up_proj" : "experts.up_proj", 3,
                           (int64_t[]){E, up_rows(c, F), d->in_dim}, (br_init){BR_INIT_NORMAL, 0.02f, 0}, err));
    BR_TRY(br_param_matrix(s, "experts.down_proj", 3, (int64_t[]){E, d->d_model, F}, (br_init){BR_INIT_NORMAL, 0.02f, 0},
                           err));
    if (c->shared_hidden) {
        BR_TRY(br_lin_declare(s, c->gated ? "shared_expert.gate_up_proj" : "shared_expert.up_proj",
                              up_rows(c, c->shared_hidden), d->in_dim, 0, err));
        BR_TRY(br_lin_declare(s, "shared_expert.down_proj", d->d_model, c->shared_hidden, 0, err));
    }
    return BR_OK;
}

static int64_t moe_active(const void *cfg, const br_block_dims *d, int64_t total) {
    const moe_cfg *c = cfg;
    int64_t per_expert = (int64_t)up_rows(c, c->hidden) * d->in_dim + (int64_t)d->d_model * c->hidden;
    return total - (int64_t)(c->experts - c->top_k) * per_expert;
}

static void moe_costs(const void *cfg, const br_block_dims *d, br_block_costs *out) {
    const moe_cfg *c = cfg;
    out->routed_share = (double)c->top_k / c->experts;
}

static br_status moe_bind(const void *cfg, const br_block_dims *d, const br_wscope *sc, void **bound, br_error *err) {
    const moe_cfg *c = cfg;
    const int E = c->experts, F = c->hidden;
    moe_w *w = br_calloc(1, sizeof *w, err);
    if (!w) return BR_ERR_NOMEM;
    br_status st = br_lin_bind(sc, "router", E, d->in_dim, 0, &w->router, err);
    if (st == BR_OK && c->selection_bias) st = br_wscope_get(sc, "router.selection_bias", 1, (int64_t[]){E}, &w->sel_bias, err);
    if (st == BR_OK)
        st = br_wscope_get_mat(sc, c->gated ? "experts.gate_up_proj" : "experts.up_proj", 3,
                               (int64_t[]){E, up_rows(c, F), d->in_dim}, &w->up, err);
    if (st == BR_OK) st = br_wscope_get_mat(sc, "experts.down_proj", 3, (int64_t[]){E, d->d_model, F}, &w->down, err);
    if (st == BR_OK && c->shared_hidden) {
        st = br_lin_bind(sc, c->gated ? "shared_expert.gate_up_proj" : "shared_expert.up_proj",
                         up_rows(c, c->shared_hidden), d->in_dim, 0, &w->shared_up, err);
        if (st == BR_OK) st = br_lin_bind(sc, "shared_expert.down_proj", d->d_model, c->shared_hidden, 0, &w->shared_down, err);
    }
    if (st != BR_OK) {
        free(w);
        return st;
    }
    *bound = w;
    return BR_OK;
}

/* An expert's activation: h [rows, F] from its up projection gu [rows, up_rows(F)]. */
static void expert_act(const br_device *dev, const moe_cfg *c, int rows, int F, const float *gu, float *h) {
    if (c->gated) BR_K(dev, gated_act, (br_act)c->activation, rows, F, gu, up_rows(c, F), 1.0f, h);
    else BR_K(dev, act, (br_act)c->activation, (size_t)rows * F, gu, h);
}

/* The routed experts of n tokens x [n, in] -> y [n, D] (overwritten). */
static br_status moe_experts(const moe_cfg *c, const moe_w *w, br_exec *ex, const br_site *site, int n, const float *x,
                             int in, float *y, int D, br_error *err) {
    const br_device *dev = ex->dev;
    const int E = c->experts, K = c->top_k, F = c->hidden, U = up_rows(c, F), rows = n * K;
    float *logits = br_exec_scratch(ex, (size_t)n * E, err), *wts = br_exec_scratch(ex, (size_t)rows, err);
    int32_t *ids = (int32_t *)br_exec_scratch(ex, (size_t)rows, err);
    int32_t *offsets = (int32_t *)br_exec_scratch(ex, (size_t)E + 1, err);
    int32_t *rows_token = (int32_t *)br_exec_scratch(ex, (size_t)rows, err);
    int32_t *row_of = (int32_t *)br_exec_scratch(ex, (size_t)rows, err);
    float *xs = br_exec_scratch(ex, (size_t)rows * in, err), *gu = br_exec_scratch(ex, (size_t)rows * U, err);
    float *h = br_exec_scratch(ex, (size_t)rows * F, err), *eo = br_exec_scratch(ex, (size_t)rows * D, err);
    if (!logits || !wts || !ids || !offsets || !rows_token || !row_of || !xs || !gu || !h || !eo) return BR_ERR_NOMEM;
    BR_TRY(br_lin_run(&w->router, ex, site, n, x, in, logits, E, 0.0f, err));
    const br_moe_route_args route = {.n = n, .experts = E, .top_k = K, .logits = logits,
                                     .router = c->router == ROUTER_SOFTMAX ? BR_MOE_SOFTMAX : BR_MOE_SIGMOID,
                                     .sel_bias = w->sel_bias, .groups = c->groups, .topk_groups = c->topk_groups,
                                     .normalize = c->normalize, .route_scale = (float)c->route_scale, .ids = ids,
                                     .wts = wts};
    BR_K(dev, moe_route, &route);
    const br_moe_sort_args sort = {.pairs = rows, .experts = E, .top_k = K, .ids = ids, .offsets = offsets,
                                   .rows_token = rows_token, .row_of = row_of};
    BR_K(dev, moe_sort, &sort);
    BR_K(dev, gather_rows, rows, in, rows_token, x, in, xs, in);
    const br_moe_linear_args up = {.rows = rows, .in = in, .out = U, .experts = E, .offsets = offsets, .x = xs, .ldx = in,
                                   .w = w->up, .y = gu, .ldy = U};
    BR_K(dev, moe_linear, &up);
    expert_act(dev, c, rows, F, gu, h);
    const br_moe_linear_args down = {.rows = rows, .in = F, .out = D, .experts = E, .offsets = offsets, .x = h, .ldx = F,
                                     .w = w->down, .y = eo, .ldy = D};
    BR_K(dev, moe_linear, &down);
    BR_K(dev, moe_combine, n, K, D, row_of, wts, eo, D, y, D);
    return BR_OK;
}

static br_status moe_run(const br_block_inst *blk, br_exec *ex, const br_site *site, const float *x, float *y,
                         br_error *err) {
    const moe_cfg *c = blk->cfg;
    const moe_w *w = blk->bound;
    const int n = ex->n_tok, in = blk->dims.in_dim, D = blk->dims.d_model;
    for (int t0 = 0; t0 < n; t0 += MOE_BLOCK) {
        const int m = n - t0 < MOE_BLOCK ? n - t0 : MOE_BLOCK;
        br_arena_mark mark = br_arena_mark_get(ex->scratch);
        br_status st = moe_experts(c, w, ex, site, m, x + (long)t0 * in, in, y + (long)t0 * D, D, err);
        br_arena_release(ex->scratch, mark);
        BR_TRY(st);
    }
    if (c->shared_hidden) {
        const int Fs = c->shared_hidden, Us = up_rows(c, Fs);
        float *sgu = br_exec_scratch(ex, (size_t)n * Us, err), *sh = br_exec_scratch(ex, (size_t)n * Fs, err);
        if (!sgu || !sh) return BR_ERR_NOMEM;
        BR_TRY(br_lin_run(&w->shared_up, ex, site, n, x, in, sgu, Us, 0.0f, err));
        expert_act(ex->dev, c, n, Fs, sgu, sh);
        BR_TRY(br_lin_run(&w->shared_down, ex, site, n, sh, Fs, y, D, 1.0f, err));
    }
    return BR_OK;
}

static br_status moe_gpu_check(const void *cfg, const br_block_dims *d, br_error *err) {
    const moe_cfg *c = cfg;
    if (c->experts > BR_CUDA_MOE_MAX_EXPERTS || c->top_k > BR_CUDA_MOE_MAX_TOP_K)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%d experts, top_k %d: the CUDA router handles up to %d experts and top_k %d",
                       c->experts, c->top_k, BR_CUDA_MOE_MAX_EXPERTS, BR_CUDA_MOE_MAX_TOP_K);
    return BR_OK;
}

const br_layer_type br_layer_moe = {
    .name = "moe",
    .summary = "mixture of experts: top-k routing (softmax or sigmoid), optional shared expert",
    .cfg_size = sizeof(moe_cfg),
    .fields = moe_fields,
    .resolve = moe_resolve,
    .params = moe_params,
    .active_params = moe_active,
    .costs = moe_costs,
    .bind = moe_bind,
    .unbind = free,
    .prefill = moe_run,
    .gpu_check = moe_gpu_check,
};
