/*
 * mamba.c - the Mamba-1 selective-SSM mixer (Mamba, FalconMamba, Jamba, Zamba).
 *
 *   [u, z]  = in_proj(x)                         [n, 2 Di]
 *   u       = silu(conv1d(u))                    causal depthwise, kernel K
 *   per head g (Zamba splits Di into `heads`; 1 elsewhere):
 *     [dt_r, B, C] = x_proj_g(u_g)               [n, R + 2N]
 *     (bcdt_norm: rms without weight (FalconMamba) or with weight (Jamba))
 *     delta_g = dt_proj_g(dt_r)                  [n, Di/heads]
 *   y = selective_scan(u, delta + dt_bias (softplus), A = -exp(A_log), B, C, D, gate z)
 *   out = out_proj(y)
 * State per sequence: conv [Di, K-1], ssm [Di, N].
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "kernels/backend.h"
#include "kernels/conv1d.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/norm.h"
#include "kernels/scan.h"
#include "layers/linear_map.h"

static const char *const bcdt_names[] = {"none", "rms", "rms_weighted", NULL};
enum { BCDT_NONE, BCDT_RMS, BCDT_RMS_WEIGHTED };

typedef struct mamba_cfg {
    int d_inner, expand, d_state, d_conv, dt_rank, heads;
    int conv_bias, proj_bias;
    int bcdt_norm;
    double bcdt_eps;
} mamba_cfg;

static const br_field mamba_fields[] = {
    {"d_inner", BR_FIELD_INT, offsetof(mamba_cfg, d_inner), 0, 0, 1 << 20, NULL, 0, "inner width (0: expand * d_model)"},
    {"expand", BR_FIELD_INT, offsetof(mamba_cfg, expand), 2, 1, 64, NULL, 0, "inner width over d_model"},
    {"d_state", BR_FIELD_INT, offsetof(mamba_cfg, d_state), 16, 1, 1024, NULL, 0, "SSM state size N"},
    {"d_conv", BR_FIELD_INT, offsetof(mamba_cfg, d_conv), 4, 1, 16, NULL, 0, "convolution kernel K"},
    {"dt_rank", BR_FIELD_INT, offsetof(mamba_cfg, dt_rank), 0, 0, 1 << 16, NULL, 0, "dt projection rank (0: ceil(d_model/16))"},
    {"heads", BR_FIELD_INT, offsetof(mamba_cfg, heads), 1, 1, 1024, NULL, 0, "independent x_proj/dt_proj groups (Zamba)"},
    {"conv_bias", BR_FIELD_BOOL, offsetof(mamba_cfg, conv_bias), 1, 0, 0, NULL, 0, "bias on the convolution"},
    {"proj_bias", BR_FIELD_BOOL, offsetof(mamba_cfg, proj_bias), 0, 0, 0, NULL, 0, "biases on in_proj and out_proj"},
    {"bcdt_norm", BR_FIELD_ENUM, offsetof(mamba_cfg, bcdt_norm), BCDT_NONE, 0, 0, bcdt_names, 0, "RMS norm of B, C, dt"},
    {"bcdt_eps", BR_FIELD_FLOAT, offsetof(mamba_cfg, bcdt_eps), 1e-6, 1e-12, 1.0, NULL, 0, "epsilon of that norm"},
    BR_FIELD_END,
};

typedef struct mamba_w {
    br_lin in_proj, out_proj;
    const float *conv_w, *conv_b; /* [Di, K], [Di] */
    br_mat x_proj;                /* [heads, R + 2N, Di/heads] */
    br_mat dt_proj;               /* [heads, Di/heads, R] */
    const float *dt_bias;         /* [Di] */
    const float *A;               /* [Di, N] = -exp(A_log), derived at load */
    const float *D;               /* [Di] */
    const float *dt_norm, *b_norm, *c_norm; /* [R], [N], [N] (rms_weighted) */
} mamba_w;

static br_status mamba_resolve(void *cfg, const br_block_dims *d, const br_block_def *def, br_error *err) {
    mamba_cfg *c = cfg;
    if (!c->d_inner) c->d_inner = c->expand * d->d_model;
    if (!c->dt_rank) c->dt_rank = (d->d_model + 15) / 16;
    if (c->d_inner % c->heads)
        return br_block_fail(err, def, "d_inner (%d) is not divisible by heads (%d)", c->d_inner, c->heads);
    if (d->in_dim != d->d_model)
        return br_block_fail(err, def, "a mamba block reads the stream (width %d), not width %d", d->d_model, d->in_dim);
    return BR_OK;
}

static br_status mamba_params(const void *cfg, const br_block_dims *d, br_param_sink *s, br_error *err) {
    const mamba_cfg *c = cfg;
    const int Di = c->d_inner, N = c->d_state, R = c->dt_rank, H = c->heads, K = c->d_conv;
    const float conv_bound = 1.0f / sqrtf((float)K);
    BR_TRY(br_lin_declare(s, "in_proj", 2 * Di, d->d_model, c->proj_bias, err));
    BR_TRY(br_param2(s, "conv1d.weight", Di, K, (br_init){BR_INIT_UNIFORM, -conv_bound, conv_bound}, err));
    if (c->conv_bias) BR_TRY(br_param1(s, "conv1d.bias", Di, (br_init){BR_INIT_UNIFORM, -conv_bound, conv_bound}, err));
    BR_TRY(br_param_matrix(s, "x_proj.weight", 3, (int64_t[]){H, R + 2 * N, Di / H}, (br_init){BR_INIT_NORMAL, 0.02f, 0}, err));
    BR_TRY(br_param_matrix(s, "dt_proj.weight", 3, (int64_t[]){H, Di / H, R},
                           (br_init){BR_INIT_UNIFORM, -1.0f / sqrtf((float)R), 1.0f / sqrtf((float)R)}, err));
    BR_TRY(br_param1(s, "dt_proj.bias", Di, (br_init){BR_INIT_DT_BIAS, 1e-3f, 0.1f}, err));
    BR_TRY(br_param2(s, "A_log", Di, N, (br_init){BR_INIT_LOG_ARANGE, 0, 0}, err));
    BR_TRY(br_param_derived(s, "A", 2, (int64_t[]){Di, N}, err));
    BR_TRY(br_param1(s, "D", Di, (br_init){BR_INIT_NORMAL, 0.1f, 1.0f}, err));
    if (c->bcdt_norm == BCDT_RMS_WEIGHTED) {
        BR_TRY(br_param1(s, "dt_norm.weight", R, (br_init){BR_INIT_NORMAL, 0.1f, 1.0f}, err));
        BR_TRY(br_param1(s, "b_norm.weight", N, (br_init){BR_INIT_NORMAL, 0.1f, 1.0f}, err));
        BR_TRY(br_param1(s, "c_norm.weight", N, (br_init){BR_INIT_NORMAL, 0.1f, 1.0f}, err));
    }
    return br_lin_declare(s, "out_proj", d->d_model, Di, c->proj_bias, err);
}

static int mamba_linear_shape(const void *cfg, const br_block_dims *d, const char *name, int *out, int *in) {
    const mamba_cfg *c = cfg;
    if (strcmp(name, "in_proj") == 0) return *out = 2 * c->d_inner, *in = d->d_model, 1;
    if (strcmp(name, "out_proj") == 0) return *out = d->d_model, *in = c->d_inner, 1;
    return 0;
}

static void mamba_state(const void *cfg, const br_block_dims *d, br_state_need *need) {
    const mamba_cfg *c = cfg;
    need->conv_elems = (int64_t)c->d_inner * (c->d_conv - 1);
    need->ssm_elems = (int64_t)c->d_inner * c->d_state;
}

/* A = -exp(A_log), once at load, on the host. */
static br_status mamba_derive(const void *cfg, const br_block_dims *d, const br_wscope *sc, br_error *err) {
    const mamba_cfg *c = cfg;
    const long n = (long)c->d_inner * c->d_state;
    const float *A_log;
    BR_TRY(br_wscope_get(sc, "A_log", 2, (int64_t[]){c->d_inner, c->d_state}, &A_log, err));
    float *A = br_wscope_derived(sc, "A", err);
    if (!A) return err ? err->status : BR_ERR_NOMEM;
    for (long i = 0; i < n; i++) A[i] = -expf(A_log[i]);
    return BR_OK;
}

static br_status mamba_bind_w(const mamba_cfg *c, const br_block_dims *d, const br_wscope *sc, mamba_w *w,
                              br_error *err) {
    const int Di = c->d_inner, N = c->d_state, R = c->dt_rank, H = c->heads, K = c->d_conv;
    BR_TRY(br_lin_bind(sc, "in_proj", 2 * Di, d->d_model, c->proj_bias, &w->in_proj, err));
    BR_TRY(br_lin_bind(sc, "out_proj", d->d_model, Di, c->proj_bias, &w->out_proj, err));
    BR_TRY(br_wscope_get(sc, "conv1d.weight", 2, (int64_t[]){Di, K}, &w->conv_w, err));
    if (c->conv_bias) BR_TRY(br_wscope_get(sc, "conv1d.bias", 1, (int64_t[]){Di}, &w->conv_b, err));
    BR_TRY(br_wscope_get_mat(sc, "x_proj.weight", 3, (int64_t[]){H, R + 2 * N, Di / H}, &w->x_proj, err));
    BR_TRY(br_wscope_get_mat(sc, "dt_proj.weight", 3, (int64_t[]){H, Di / H, R}, &w->dt_proj, err));
    BR_TRY(br_wscope_get(sc, "dt_proj.bias", 1, (int64_t[]){Di}, &w->dt_bias, err));
    BR_TRY(br_wscope_get(sc, "D", 1, (int64_t[]){Di}, &w->D, err));
    if (c->bcdt_norm == BCDT_RMS_WEIGHTED) {
        BR_TRY(br_wscope_get(sc, "dt_norm.weight", 1, (int64_t[]){R}, &w->dt_norm, err));
        BR_TRY(br_wscope_get(sc, "b_norm.weight", 1, (int64_t[]){N}, &w->b_norm, err));
        BR_TRY(br_wscope_get(sc, "c_norm.weight", 1, (int64_t[]){N}, &w->c_norm, err));
    }
    return br_wscope_get(sc, "A", 2, (int64_t[]){Di, N}, &w->A, err);
}

static br_status mamba_bind(const void *cfg, const br_block_dims *d, const br_wscope *scope, void **bound,
                            br_error *err) {
    mamba_w *w = br_calloc(1, sizeof *w, err);
    if (!w) return BR_ERR_NOMEM;
    br_status st = mamba_bind_w(cfg, d, scope, w, err);
    if (st != BR_OK) {
        free(w);
        return st;
    }
    *bound = w;
    return BR_OK;
}

static br_status mamba_run(const br_block_inst *blk, br_exec *ex, const br_site *site, const float *x, float *y,
                           br_error *err) {
    const mamba_cfg *c = blk->cfg;
    const mamba_w *w = blk->bound;
    const int n = ex->n_tok, Di = c->d_inner, N = c->d_state, R = c->dt_rank, H = c->heads, Dh = Di / H;
    const int P = R + 2 * N;
    const int step = ex->mode == BR_RUN_STEP;
    float *xz = br_exec_scratch(ex, (size_t)n * 2 * Di, err);   /* [n, 2Di]: u | z */
    float *u = br_exec_scratch(ex, (size_t)n * Di, err);        /* [n, Di] conv output */
    float *dbl = br_exec_scratch(ex, (size_t)n * P, err);       /* [n, R+2N] one head */
    float *Bm = br_exec_scratch(ex, (size_t)n * H * N, err);    /* [n, H, N] */
    float *Cm = br_exec_scratch(ex, (size_t)n * H * N, err);    /* [n, H, N] */
    float *delta = br_exec_scratch(ex, (size_t)n * Di, err);    /* [n, Di] */
    float *ys = br_exec_scratch(ex, (size_t)n * Di, err);       /* [n, Di] */
    if (!xz || !u || !dbl || !Bm || !Cm || !delta || !ys) return BR_ERR_NOMEM;
    BR_TRY(br_lin_run(&w->in_proj, ex, site, n, x, blk->dims.d_model, xz, 2 * Di, 0.0f, err));
    br_conv1d_args ca = {ex->batch, ex->T, Di, c->d_conv, xz, 2 * Di, w->conv_w, w->conv_b, u, Di,
                         br_exec_conv_pool(ex, site), ex->dev_slots, (long)Di * (c->d_conv - 1), 1};
    if (step) BR_K(ex->dev, conv1d_step, &ca);
    else BR_K(ex->dev, conv1d_prefill, &ca);
    for (int g = 0; g < H; g++) {
        /* [dt_r, B, C] = u_g x_proj_g^T */
        BR_K(ex->dev, linear, n, Dh, P, u + (long)g * Dh, Di, br_mat_at(w->x_proj, (long)g * P * Dh), NULL, 0.0f, dbl, P);
        if (c->bcdt_norm != BCDT_NONE) {
            const int wt = c->bcdt_norm == BCDT_RMS_WEIGHTED;
            const float eps = (float)c->bcdt_eps;
            BR_K(ex->dev, rmsnorm, n, R, dbl, P, wt ? w->dt_norm : NULL, eps, 0, dbl, P);
            BR_K(ex->dev, rmsnorm, n, N, dbl + R, P, wt ? w->b_norm : NULL, eps, 0, dbl + R, P);
            BR_K(ex->dev, rmsnorm, n, N, dbl + R + N, P, wt ? w->c_norm : NULL, eps, 0, dbl + R + N, P);
        }
        BR_K(ex->dev, copy2d, n, N, dbl + R, P, Bm + (long)g * N, H * N);
        BR_K(ex->dev, copy2d, n, N, dbl + R + N, P, Cm + (long)g * N, H * N);
        /* delta_g = dt_r dt_proj_g^T (bias added, with softplus, inside the scan) */
        BR_K(ex->dev, linear, n, R, Dh, dbl, P, br_mat_at(w->dt_proj, (long)g * Dh * R), NULL, 0.0f, delta + (long)g * Dh, Di);
    }
    br_scan_args sa = {ex->batch, ex->T, Di, N, H, u, Di, delta, Di, w->dt_bias, 1, w->A, Bm, H * N, Cm, H * N,
                       w->D, xz + Di, 2 * Di, ys, Di, br_exec_ssm_pool(ex, site), ex->dev_slots, (long)Di * N};
    if (step) BR_K(ex->dev, scan_step, &sa);
    else BR_K(ex->dev, scan_prefill, &sa);
    return br_lin_run(&w->out_proj, ex, site, n, ys, Di, y, blk->dims.d_model, 0.0f, err);
}

static br_status mamba_gpu_check(const void *cfg, const br_block_dims *d, br_error *err) {
    const mamba_cfg *c = cfg;
    if (c->d_state > BR_CUDA_SCAN_MAX_STATE)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "d_state %d: the CUDA scan handles up to %d", c->d_state,
                       BR_CUDA_SCAN_MAX_STATE);
    return BR_OK;
}

const br_layer_type br_layer_mamba = {
    .name = "mamba",
    .summary = "Mamba-1 selective SSM mixer (conv + selective scan + SiLU gate)",
    .cfg_size = sizeof(mamba_cfg),
    .fields = mamba_fields,
    .resolve = mamba_resolve,
    .params = mamba_params,
    .linear_shape = mamba_linear_shape,
    .state = mamba_state,
    .derive = mamba_derive,
    .bind = mamba_bind,
    .unbind = free,
    .prefill = mamba_run,
    .step = mamba_run,
    .gpu_check = mamba_gpu_check,
};
