/*
 * mlp.c - the feed-forward block.
 *
 *   gated:     y = down( act(gate_scale * gate(x)) * up(x) )    (SwiGLU, GeGLU)
 *   not gated: y = down( act(up(x)) )                           (relu2, gelu)
 * gate and up are one fused map gate_up_proj [2F, in] (gate rows first),
 * so one product serves both and an adapter on it covers both halves.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "kernels/act.h"
#include "kernels/backend.h"
#include "layers/linear_map.h"

typedef struct mlp_cfg {
    int hidden;
    int activation;
    int gated;
    int bias;
    double gate_scale;
} mlp_cfg;

static const br_field mlp_fields[] = {
    {"hidden", BR_FIELD_INT, offsetof(mlp_cfg, hidden), 0, 1, 1 << 20, NULL, 0, "inner width F"},
    {"activation", BR_FIELD_ENUM, offsetof(mlp_cfg, activation), BR_ACT_SILU, 0, 0, br_act_names, 0, "activation"},
    {"gated", BR_FIELD_BOOL, offsetof(mlp_cfg, gated), 1, 0, 0, NULL, 0, "GLU form: act(gate) * up"},
    {"bias", BR_FIELD_BOOL, offsetof(mlp_cfg, bias), 0, 0, 0, NULL, 0, "biases on the projections"},
    {"gate_scale", BR_FIELD_FLOAT, offsetof(mlp_cfg, gate_scale), 1.0, 1, 0, NULL, 0, "multiplies gate(x) before act"},
    BR_FIELD_END,
};

typedef struct mlp_w {
    br_lin up; /* gate_up_proj [2F, in] or up_proj [F, in] */
    br_lin down;
} mlp_w;

static const char *up_name(const mlp_cfg *c) { return c->gated ? "gate_up_proj" : "up_proj"; }

static br_status mlp_resolve(void *cfg, const br_block_dims *dims, const br_block_def *def, br_error *err) {
    mlp_cfg *c = cfg;
    if (c->hidden <= 0) return br_block_fail(err, def, "'hidden' (the inner width) is required and must be positive");
    return BR_OK;
}

static br_status mlp_params(const void *cfg, const br_block_dims *d, br_param_sink *s, br_error *err) {
    const mlp_cfg *c = cfg;
    BR_TRY(br_lin_declare(s, up_name(c), (c->gated ? 2 : 1) * c->hidden, d->in_dim, c->bias, err));
    return br_lin_declare(s, "down_proj", d->d_model, c->hidden, c->bias, err);
}

static int mlp_linear_shape(const void *cfg, const br_block_dims *d, const char *name, int *out, int *in) {
    const mlp_cfg *c = cfg;
    if (strcmp(name, up_name(c)) == 0) return *out = (c->gated ? 2 : 1) * c->hidden, *in = d->in_dim, 1;
    if (strcmp(name, "down_proj") == 0) return *out = d->d_model, *in = c->hidden, 1;
    return 0;
}

static br_status mlp_bind(const void *cfg, const br_block_dims *d, const br_wscope *scope, void **bound, br_error *err) {
    const mlp_cfg *c = cfg;
    mlp_w *w = br_calloc(1, sizeof *w, err);
    if (!w) return BR_ERR_NOMEM;
    br_status st = br_lin_bind(scope, up_name(c), (c->gated ? 2 : 1) * c->hidden, d->in_dim, c->bias, &w->up, err);
    if (st == BR_OK) st = br_lin_bind(scope, "down_proj", d->d_model, c->hidden, c->bias, &w->down, err);
    if (st != BR_OK) {
        free(w);
        return st;
    }
    *bound = w;
    return BR_OK;
}

static br_status mlp_run(const br_block_inst *blk, br_exec *ex, const br_site *site, const float *x, float *y,
                         br_error *err) {
    const mlp_cfg *c = blk->cfg;
    const mlp_w *w = blk->bound;
    const int n = ex->n_tok, F = c->hidden, in = blk->dims.in_dim;
    float *gu = br_exec_scratch(ex, (size_t)n * w->up.out, err);
    float *h = c->gated ? br_exec_scratch(ex, (size_t)n * F, err) : gu;
    if (!gu || !h) return BR_ERR_NOMEM;
    BR_TRY(br_lin_run(&w->up, ex, site, n, x, in, gu, w->up.out, 0.0f, err));
    if (c->gated) BR_K(ex->dev, gated_act, (br_act)c->activation, n, F, gu, 2 * F, (float)c->gate_scale, h);
    else BR_K(ex->dev, act, (br_act)c->activation, (size_t)n * F, gu, h);
    return br_lin_run(&w->down, ex, site, n, h, F, y, blk->dims.d_model, 0.0f, err);
}

const br_layer_type br_layer_mlp = {
    .name = "mlp",
    .summary = "feed-forward: gated (SwiGLU/GeGLU) or plain (relu2, gelu)",
    .cfg_size = sizeof(mlp_cfg),
    .fields = mlp_fields,
    .resolve = mlp_resolve,
    .params = mlp_params,
    .linear_shape = mlp_linear_shape,
    .bind = mlp_bind,
    .unbind = free,
    .prefill = mlp_run,
};
