/*
 * mamba2.c - the Mamba-2 (SSD) mixer (Mamba-2, Zamba2, Bamba, Falcon-H1,
 * Nemotron-H, Granite-4-H).
 *
 *   [z, xBC, dt] = in_proj(x) (o in_scales per segment)   [n, Di + (Di + 2GN) + H]
 *   xBC = silu(conv1d(xBC));  [xs, B, C] = xBC             [n, Di], [n, GN], [n, GN]
 *   y   = ssd(xs, dt, A = -exp(A_log), B, C, D)            heads H of width P, groups G
 *   y   = gated_rmsnorm(y, z) (groups of Di/norm_groups)   or y * silu(z) with norm: none
 *   out = out_proj(y)
 * dt = softplus(dt + dt_bias), clamped to [dt_min, dt_max] (default none).
 * State per sequence: conv [Di + 2GN, K-1], ssm [H, P, N].
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "kernels/act.h"
#include "kernels/backend.h"
#include "kernels/conv1d.h"
#include "kernels/elementwise.h"
#include "kernels/norm.h"
#include "kernels/ssd.h"
#include "layers/linear_map.h"

static const char *const m2_norm_names[] = {"gated", "none", NULL};
enum { M2_NORM_GATED, M2_NORM_NONE };

typedef struct mamba2_cfg {
    int heads, head_dim, d_state, groups, d_conv, expand;
    int conv_bias, in_bias, out_bias;
    int norm, norm_before_gate, norm_groups;
    double norm_eps, dt_min, dt_max;
    int chunk;
    br_float_list in_scales; /* z, x, B, C, dt */
} mamba2_cfg;

static const br_field mamba2_fields[] = {
    {"heads", BR_FIELD_INT, offsetof(mamba2_cfg, heads), 0, 0, 1 << 16, NULL, 0, "SSM heads (0: expand*d_model/head_dim)"},
    {"head_dim", BR_FIELD_INT, offsetof(mamba2_cfg, head_dim), 64, 1, 4096, NULL, 0, "channels per head P"},
    {"d_state", BR_FIELD_INT, offsetof(mamba2_cfg, d_state), 128, 1, 1024, NULL, 0, "SSM state size N"},
    {"groups", BR_FIELD_INT, offsetof(mamba2_cfg, groups), 1, 1, 1024, NULL, 0, "B/C groups G"},
    {"d_conv", BR_FIELD_INT, offsetof(mamba2_cfg, d_conv), 4, 1, 16, NULL, 0, "convolution kernel K"},
    {"expand", BR_FIELD_INT, offsetof(mamba2_cfg, expand), 2, 1, 64, NULL, 0, "inner width over d_model (when heads: 0)"},
    {"conv_bias", BR_FIELD_BOOL, offsetof(mamba2_cfg, conv_bias), 1, 0, 0, NULL, 0, "bias on the convolution"},
    {"in_bias", BR_FIELD_BOOL, offsetof(mamba2_cfg, in_bias), 0, 0, 0, NULL, 0, "bias on in_proj"},
    {"out_bias", BR_FIELD_BOOL, offsetof(mamba2_cfg, out_bias), 0, 0, 0, NULL, 0, "bias on out_proj"},
    {"norm", BR_FIELD_ENUM, offsetof(mamba2_cfg, norm), M2_NORM_GATED, 0, 0, m2_norm_names, 0, "gated RMSNorm or plain gate"},
    {"norm_before_gate", BR_FIELD_BOOL, offsetof(mamba2_cfg, norm_before_gate), 0, 0, 0, NULL, 0, "rms(y)*silu(z) order"},
    {"norm_groups", BR_FIELD_INT, offsetof(mamba2_cfg, norm_groups), 0, 0, 1 << 16, NULL, 0, "norm groups (0: = groups)"},
    {"norm_eps", BR_FIELD_FLOAT, offsetof(mamba2_cfg, norm_eps), 1e-5, 1e-12, 1.0, NULL, 0, "epsilon of the gated norm"},
    {"dt_min", BR_FIELD_FLOAT, offsetof(mamba2_cfg, dt_min), 0.0, 0.0, 1e30, NULL, 0, "lower clamp of dt"},
    {"dt_max", BR_FIELD_FLOAT, offsetof(mamba2_cfg, dt_max), INFINITY, 0.0, INFINITY, NULL, 0, "upper clamp of dt"},
    {"chunk", BR_FIELD_INT, offsetof(mamba2_cfg, chunk), 256, 1, 1 << 16, NULL, 0, "SSD prefill chunk length"},
    {"in_scales", BR_FIELD_FLOAT_LIST, offsetof(mamba2_cfg, in_scales), 0, 1, 0, NULL, 5, "multipliers of z, x, B, C, dt"},
    BR_FIELD_END,
};

typedef struct mamba2_w {
    br_lin in_proj, out_proj;
    const float *conv_w, *conv_b; /* [Di + 2GN, K], [Di + 2GN] */
    const float *dt_bias, *D;     /* [H], [H] */
    const float *A;               /* [H] = -exp(A_log), derived at load */
    const float *norm_w;          /* [Di] */
} mamba2_w;

static int inner(const mamba2_cfg *c) { return c->heads * c->head_dim; }
static int conv_dim(const mamba2_cfg *c) { return inner(c) + 2 * c->groups * c->d_state; }
static int proj_dim(const mamba2_cfg *c) { return inner(c) + conv_dim(c) + c->heads; }

static br_status m2_resolve(void *cfg, const br_block_dims *d, const br_block_def *def, br_error *err) {
    mamba2_cfg *c = cfg;
    if (!c->heads) {
        if ((c->expand * d->d_model) % c->head_dim)
            return br_block_fail(err, def, "expand*d_model (%d) is not divisible by head_dim (%d)", c->expand * d->d_model,
                                 c->head_dim);
        c->heads = c->expand * d->d_model / c->head_dim;
    }
    if (c->heads % c->groups)
        return br_block_fail(err, def, "heads (%d) must be a multiple of groups (%d)", c->heads, c->groups);
    if (!c->norm_groups) c->norm_groups = c->groups;
    if (inner(c) % c->norm_groups)
        return br_block_fail(err, def, "the inner width %d is not divisible by norm_groups (%d)", inner(c), c->norm_groups);
    if (!(c->dt_min <= c->dt_max)) return br_block_fail(err, def, "dt_min %g exceeds dt_max %g", c->dt_min, c->dt_max);
    if (d->in_dim != d->d_model)
        return br_block_fail(err, def, "a mamba2 block reads the stream (width %d), not width %d", d->d_model, d->in_dim);
    return BR_OK;
}

static br_status m2_params(const void *cfg, const br_block_dims *d, br_param_sink *s, br_error *err) {
    const mamba2_cfg *c = cfg;
    const int H = c->heads, K = c->d_conv, cd = conv_dim(c);
    const float bound = 1.0f / sqrtf((float)K);
    BR_TRY(br_lin_declare(s, "in_proj", proj_dim(c), d->d_model, c->in_bias, err));
    BR_TRY(br_param2(s, "conv1d.weight", cd, K, (br_init){BR_INIT_UNIFORM, -bound, bound}, err));
    if (c->conv_bias) BR_TRY(br_param1(s, "conv1d.bias", cd, (br_init){BR_INIT_UNIFORM, -bound, bound}, err));
    BR_TRY(br_param1(s, "dt_bias", H, (br_init){BR_INIT_DT_BIAS, 1e-3f, 0.1f}, err));
    BR_TRY(br_param1(s, "A_log", H, (br_init){BR_INIT_LOG_UNIFORM, 1.0f, 16.0f}, err));
    BR_TRY(br_param_derived(s, "A", 1, (int64_t[]){H}, err));
    BR_TRY(br_param1(s, "D", H, (br_init){BR_INIT_CONST, 1.0f, 0}, err));
    if (c->norm == M2_NORM_GATED) BR_TRY(br_param1(s, "norm.weight", inner(c), (br_init){BR_INIT_NORMAL, 0.1f, 1.0f}, err));
    return br_lin_declare(s, "out_proj", d->d_model, inner(c), c->out_bias, err);
}

static int m2_linear_shape(const void *cfg, const br_block_dims *d, const char *name, int *out, int *in) {
    const mamba2_cfg *c = cfg;
    if (strcmp(name, "in_proj") == 0) return *out = proj_dim(c), *in = d->d_model, 1;
    if (strcmp(name, "out_proj") == 0) return *out = d->d_model, *in = inner(c), 1;
    return 0;
}

static void m2_state(const void *cfg, const br_block_dims *d, br_state_need *need) {
    const mamba2_cfg *c = cfg;
    need->conv_elems = (int64_t)conv_dim(c) * (c->d_conv - 1);
    need->ssm_elems = (int64_t)c->heads * c->head_dim * c->d_state;
}

/* A = -exp(A_log), once at load, on the host. */
static br_status m2_derive(const void *cfg, const br_block_dims *d, const br_wscope *sc, br_error *err) {
    const mamba2_cfg *c = cfg;
    const float *A_log;
    BR_TRY(br_wscope_get(sc, "A_log", 1, (int64_t[]){c->heads}, &A_log, err));
    float *A = br_wscope_derived(sc, "A", err);
    if (!A) return err ? err->status : BR_ERR_NOMEM;
    for (int h = 0; h < c->heads; h++) A[h] = -expf(A_log[h]);
    return BR_OK;
}

static br_status m2_bind_w(const mamba2_cfg *c, const br_block_dims *d, const br_wscope *sc, mamba2_w *w, br_error *err) {
    const int H = c->heads, cd = conv_dim(c);
    BR_TRY(br_lin_bind(sc, "in_proj", proj_dim(c), d->d_model, c->in_bias, &w->in_proj, err));
    BR_TRY(br_lin_bind(sc, "out_proj", d->d_model, inner(c), c->out_bias, &w->out_proj, err));
    BR_TRY(br_wscope_get(sc, "conv1d.weight", 2, (int64_t[]){cd, c->d_conv}, &w->conv_w, err));
    if (c->conv_bias) BR_TRY(br_wscope_get(sc, "conv1d.bias", 1, (int64_t[]){cd}, &w->conv_b, err));
    BR_TRY(br_wscope_get(sc, "dt_bias", 1, (int64_t[]){H}, &w->dt_bias, err));
    BR_TRY(br_wscope_get(sc, "D", 1, (int64_t[]){H}, &w->D, err));
    if (c->norm == M2_NORM_GATED) BR_TRY(br_wscope_get(sc, "norm.weight", 1, (int64_t[]){inner(c)}, &w->norm_w, err));
    return br_wscope_get(sc, "A", 1, (int64_t[]){H}, &w->A, err);
}

static br_status m2_bind(const void *cfg, const br_block_dims *d, const br_wscope *scope, void **bound, br_error *err) {
    mamba2_w *w = br_calloc(1, sizeof *w, err);
    if (!w) return BR_ERR_NOMEM;
    br_status st = m2_bind_w(cfg, d, scope, w, err);
    if (st != BR_OK) {
        free(w);
        return st;
    }
    *bound = w;
    return BR_OK;
}

/* The in_proj output times a multiplier per segment (z, x, B, C, dt). */
static void scale_segments(const mamba2_cfg *c, br_exec *ex, int n, float *zxbcdt) {
    const int Di = inner(c), GN = c->groups * c->d_state, pd = proj_dim(c);
    const int start[6] = {0, Di, 2 * Di, 2 * Di + GN, 2 * Di + 2 * GN, pd};
    for (int s = 0; s < 5; s++)
        if (c->in_scales.v[s] != 1.0)
            BR_K(ex->dev, scale2d, n, start[s + 1] - start[s], (float)c->in_scales.v[s], zxbcdt + start[s], pd);
}

static br_status m2_run(const br_block_inst *blk, br_exec *ex, const br_site *site, const float *x, float *y,
                        br_error *err) {
    const mamba2_cfg *c = blk->cfg;
    const mamba2_w *w = blk->bound;
    const int n = ex->n_tok, Di = inner(c), GN = c->groups * c->d_state, cd = conv_dim(c), pd = proj_dim(c);
    const int step = ex->mode == BR_RUN_STEP;
    float *zx = br_exec_scratch(ex, (size_t)n * pd, err);  /* [n, pd]: z | xBC | dt */
    float *xbc = br_exec_scratch(ex, (size_t)n * cd, err); /* [n, cd] after conv */
    float *ys = br_exec_scratch(ex, (size_t)n * Di, err);  /* [n, Di] */
    if (!zx || !xbc || !ys) return BR_ERR_NOMEM;
    BR_TRY(br_lin_run(&w->in_proj, ex, site, n, x, blk->dims.d_model, zx, pd, 0.0f, err));
    if (c->in_scales.n) scale_segments(c, ex, n, zx);
    br_conv1d_args ca = {ex->batch, ex->T, cd, c->d_conv, zx + Di, pd, w->conv_w, w->conv_b, xbc, cd,
                         br_exec_conv_pool(ex, site), ex->dev_slots, (long)cd * (c->d_conv - 1), 1};
    if (step) BR_K(ex->dev, conv1d_step, &ca);
    else BR_K(ex->dev, conv1d_prefill, &ca);
    br_ssd_args sa = {ex->batch, ex->T, c->heads, c->head_dim, c->d_state, c->groups, c->chunk,
                      xbc, cd, zx + Di + cd, pd, w->dt_bias, (float)c->dt_min, (float)c->dt_max, w->A,
                      xbc + Di, cd, xbc + Di + GN, cd, w->D, ys, Di, br_exec_ssm_pool(ex, site), ex->dev_slots,
                      (long)c->heads * c->head_dim * c->d_state, NULL,
                      .bf16_products = w->in_proj.w.dtype == BR_BF16}; /* bf16 matrices: bf16 chunk products too */
    if (step) {
        BR_K(ex->dev, ssd_step, &sa);
    } else {
        if (!(sa.work = br_exec_scratch(ex, (size_t)BR_K(ex->dev, ssd_work_floats, &sa), err))) return BR_ERR_NOMEM;
        BR_K(ex->dev, ssd_prefill, &sa);
    }
    if (c->norm == M2_NORM_GATED) {
        BR_K(ex->dev, gated_rmsnorm, n, Di, Di / c->norm_groups, ys, Di, zx, pd, w->norm_w, (float)c->norm_eps,
                  c->norm_before_gate, ys, Di);
    } else {
        BR_K(ex->dev, mul_silu, n, Di, ys, Di, zx, pd);
    }
    return br_lin_run(&w->out_proj, ex, site, n, ys, Di, y, blk->dims.d_model, 0.0f, err);
}

static br_status m2_gpu_check(const void *cfg, const br_block_dims *d, br_error *err) {
    const mamba2_cfg *c = cfg;
    if (c->d_state > BR_CUDA_SSD_MAX_STATE)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "d_state %d: the CUDA SSD step handles up to %d", c->d_state,
                       BR_CUDA_SSD_MAX_STATE);
    return BR_OK;
}

const br_layer_type br_layer_mamba2 = {
    .name = "mamba2",
    .summary = "Mamba-2 SSD mixer (conv + chunked SSD scan + gated RMSNorm)",
    .cfg_size = sizeof(mamba2_cfg),
    .fields = mamba2_fields,
    .resolve = m2_resolve,
    .params = m2_params,
    .linear_shape = m2_linear_shape,
    .state = m2_state,
    .derive = m2_derive,
    .bind = m2_bind,
    .unbind = free,
    .prefill = m2_run,
    .step = m2_run,
    .gpu_check = m2_gpu_check,
};
