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
 * Routing is decided on the host (the router logits come down); tokens are
 * grouped per expert so each expert runs one gather, two products and one
 * weighted scatter on the device.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "kernels/act.h"
#include "graph/weights.h"
#include "kernels/backend.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "layers/linear_map.h"

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
    float *sel_bias_host;    /* [E] host copy: routing is decided on the host */
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

static void moe_unbind(void *bound) {
    moe_w *w = bound;
    if (w) free(w->sel_bias_host);
    free(w);
}

static br_status moe_bind(const void *cfg, const br_block_dims *d, const br_wscope *sc, void **bound, br_error *err) {
    const moe_cfg *c = cfg;
    const int E = c->experts, F = c->hidden;
    moe_w *w = br_calloc(1, sizeof *w, err);
    if (!w) return BR_ERR_NOMEM;
    br_status st = br_lin_bind(sc, "router", E, d->in_dim, 0, &w->router, err);
    if (st == BR_OK && c->selection_bias) {
        const float *b = NULL;
        st = br_wscope_get(sc, "router.selection_bias", 1, (int64_t[]){E}, &b, err);
        if (st == BR_OK && !(w->sel_bias_host = br_malloc((size_t)E * sizeof(float), err))) st = BR_ERR_NOMEM;
        if (st == BR_OK)
            st = br_dev_download(sc->weights->dev ? sc->weights->dev : &br_cpu_device, w->sel_bias_host, b,
                                 (size_t)E * sizeof(float), err);
    }
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
        moe_unbind(w);
        return st;
    }
    *bound = w;
    return BR_OK;
}

/* Picks the top-k experts of one token: ids [k], weights [k]. */
static void route_token(const moe_cfg *c, const float *sel_bias, const float *logits, int *ids, float *wts,
                        float *score, float *pick) {
    const int E = c->experts, per_group = E / c->groups;
    if (c->router == ROUTER_SOFTMAX) {
        float mx = -INFINITY;
        double sum = 0;
        for (int e = 0; e < E; e++) mx = logits[e] > mx ? logits[e] : mx;
        for (int e = 0; e < E; e++) sum += exp((double)logits[e] - mx);
        for (int e = 0; e < E; e++) score[e] = (float)(exp((double)logits[e] - mx) / sum);
    } else {
        for (int e = 0; e < E; e++) score[e] = 1.0f / (1.0f + expf(-logits[e]));
    }
    for (int e = 0; e < E; e++) pick[e] = score[e] + (sel_bias ? sel_bias[e] : 0.0f);
    if (c->groups > 1) { /* keep the topk_groups groups whose best two picks sum highest */
        float gscore[c->groups];
        for (int g = 0; g < c->groups; g++) {
            float a = -INFINITY, b = -INFINITY;
            for (int e = g * per_group; e < (g + 1) * per_group; e++) {
                if (pick[e] > a) b = a, a = pick[e];
                else if (pick[e] > b) b = pick[e];
            }
            gscore[g] = per_group > 1 ? a + b : a;
        }
        for (int kept = 0; kept < c->topk_groups; kept++) {
            int best = -1;
            for (int g = 0; g < c->groups; g++)
                if (gscore[g] != -INFINITY && (best < 0 || gscore[g] > gscore[best])) best = g;
            gscore[best] = -INFINITY; /* mark kept */
        }
        for (int g = 0; g < c->groups; g++)
            if (gscore[g] != -INFINITY)
                for (int e = g * per_group; e < (g + 1) * per_group; e++) pick[e] = -INFINITY;
    }
    double total = 0;
    for (int k = 0; k < c->top_k; k++) {
        int best = -1;
        for (int e = 0; e < E; e++)
            if (pick[e] != -INFINITY && (best < 0 || pick[e] > pick[best])) best = e;
        ids[k] = best;
        wts[k] = score[best];
        total += score[best];
        pick[best] = -INFINITY;
    }
    for (int k = 0; k < c->top_k; k++) {
        if (c->normalize && total > 0) wts[k] = (float)(wts[k] / total);
        wts[k] *= (float)c->route_scale;
    }
}

static br_status moe_run(const br_block_inst *blk, br_exec *ex, const br_site *site, const float *x, float *y,
                         br_error *err) {
    const moe_cfg *c = blk->cfg;
    const moe_w *w = blk->bound;
    const br_device *dev = ex->dev;
    const int n = ex->n_tok, E = c->experts, K = c->top_k, F = c->hidden, in = blk->dims.in_dim, D = blk->dims.d_model;
    const int U = up_rows(c, F);
    /* device: router logits, then per expert the gathered rows, its products and output */
    float *logits = br_exec_scratch(ex, (size_t)n * E, err);
    float *xs = br_exec_scratch(ex, (size_t)n * in, err), *gu = br_exec_scratch(ex, (size_t)n * U, err);
    float *h = br_exec_scratch(ex, (size_t)n * F, err), *eo = br_exec_scratch(ex, (size_t)n * D, err);
    int32_t *d_tok = (int32_t *)br_exec_scratch(ex, (size_t)n * K, err);
    float *d_wt = br_exec_scratch(ex, (size_t)n * K, err);
    /* host: routing decisions */
    float *h_logits = br_exec_host_scratch(ex, (size_t)n * E, err), *wts = br_exec_host_scratch(ex, (size_t)n * K, err);
    float *tmp = br_exec_host_scratch(ex, (size_t)2 * E, err), *h_wt = br_exec_host_scratch(ex, (size_t)n * K, err);
    int *ids = (int *)br_exec_host_scratch(ex, (size_t)n * K, err), *count = (int *)br_exec_host_scratch(ex, (size_t)E + 1, err);
    int *fill = (int *)br_exec_host_scratch(ex, (size_t)E, err);
    int32_t *h_tok = (int32_t *)br_exec_host_scratch(ex, (size_t)n * K, err);
    if (!logits || !xs || !gu || !h || !eo || !d_tok || !d_wt || !h_logits || !wts || !tmp || !h_wt || !ids || !count ||
        !fill || !h_tok)
        return BR_ERR_NOMEM;
    BR_TRY(br_lin_run(&w->router, ex, site, n, x, in, logits, E, 0.0f, err));
    BR_TRY(br_dev_check(dev, err));
    BR_TRY(br_dev_download(dev, h_logits, logits, (size_t)n * E * sizeof(float), err));
    for (int i = 0; i < n; i++)
        route_token(c, w->sel_bias_host, h_logits + (long)i * E, ids + (long)i * K, wts + (long)i * K, tmp, tmp + E);
    /* counting sort of (token, slot) pairs by expert: tokens and weights grouped per expert */
    memset(count, 0, (size_t)(E + 1) * sizeof(int));
    for (int i = 0; i < n * K; i++) count[ids[i] + 1]++;
    for (int e = 0; e < E; e++) count[e + 1] += count[e];
    memcpy(fill, count, (size_t)E * sizeof(int));
    for (int i = 0; i < n * K; i++) {
        int slot = fill[ids[i]]++;
        h_tok[slot] = i / K; /* a token picks an expert once, so an expert's tokens are distinct */
        h_wt[slot] = wts[i];
    }
    BR_TRY(br_dev_upload(dev, d_tok, h_tok, (size_t)n * K * sizeof *d_tok, err));
    BR_TRY(br_dev_upload(dev, d_wt, h_wt, (size_t)n * K * sizeof *d_wt, err));
    BR_TRY(br_dev_zero(dev, y, (size_t)n * D * sizeof(float), err));
    for (int e = 0; e < E; e++) {
        const int m = count[e + 1] - count[e];
        if (!m) continue;
        BR_K(dev, gather_rows, m, in, d_tok + count[e], x, in, xs, in);
        BR_K(dev, linear, m, in, U, xs, in, br_mat_at(w->up, (long)e * U * in), NULL, 0.0f, gu, U);
        if (c->gated) BR_K(dev, gated_act, (br_act)c->activation, m, F, gu, U, 1.0f, h);
        else BR_K(dev, act, (br_act)c->activation, (size_t)m * F, gu, h);
        BR_K(dev, linear, m, F, D, h, F, br_mat_at(w->down, (long)e * D * F), NULL, 0.0f, eo, D);
        BR_K(dev, scatter_add, m, D, d_tok + count[e], d_wt + count[e], eo, D, y, D);
    }
    if (c->shared_hidden) {
        const int Fs = c->shared_hidden, Us = up_rows(c, Fs);
        float *sgu = br_exec_scratch(ex, (size_t)n * Us, err), *sh = br_exec_scratch(ex, (size_t)n * Fs, err);
        if (!sgu || !sh) return BR_ERR_NOMEM;
        BR_TRY(br_lin_run(&w->shared_up, ex, site, n, x, in, sgu, Us, 0.0f, err));
        if (c->gated) BR_K(dev, gated_act, (br_act)c->activation, n, Fs, sgu, Us, 1.0f, sh);
        else BR_K(dev, act, (br_act)c->activation, (size_t)n * Fs, sgu, sh);
        BR_TRY(br_lin_run(&w->shared_down, ex, site, n, sh, Fs, y, D, 1.0f, err));
    }
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
    .bind = moe_bind,
    .unbind = moe_unbind,
    .prefill = moe_run,
    .syncs_host = 1,
};
