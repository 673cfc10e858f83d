/*
 * linear.c - a bare linear map as a block: y = W x (+ b), [in] -> [d_model].
 * Zamba uses one per invocation of its shared transformer to project the
 * shared block's output before it joins the stream.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "layers/linear_map.h"

typedef struct linear_cfg {
    int bias;
} linear_cfg;

static const br_field linear_fields[] = {
    {"bias", BR_FIELD_BOOL, offsetof(linear_cfg, bias), 0, 0, 0, NULL, 0, "add a bias"},
    BR_FIELD_END,
};

static br_status linear_params(const void *cfg, const br_block_dims *d, br_param_sink *s, br_error *err) {
    return br_lin_declare(s, "proj", d->d_model, d->in_dim, ((const linear_cfg *)cfg)->bias, err);
}

static int linear_shape(const void *cfg, const br_block_dims *d, const char *name, int *out, int *in) {
    if (strcmp(name, "proj") != 0) return 0;
    *out = d->d_model;
    *in = d->in_dim;
    return 1;
}

static br_status linear_bind(const void *cfg, const br_block_dims *d, const br_wscope *scope, void **bound,
                             br_error *err) {
    br_lin *l = br_calloc(1, sizeof *l, err);
    if (!l) return BR_ERR_NOMEM;
    br_status st = br_lin_bind(scope, "proj", d->d_model, d->in_dim, ((const linear_cfg *)cfg)->bias, l, err);
    if (st != BR_OK) {
        free(l);
        return st;
    }
    *bound = l;
    return BR_OK;
}

static br_status linear_run(const br_block_inst *blk, br_exec *ex, const br_site *site, const float *x, float *y,
                            br_error *err) {
    return br_lin_run(blk->bound, ex, site, ex->n_tok, x, blk->dims.in_dim, y, blk->dims.d_model, 0.0f, err);
}

const br_layer_type br_layer_linear = {
    .name = "linear",
    .summary = "a single linear map (Zamba's per-invocation projection)",
    .cfg_size = sizeof(linear_cfg),
    .fields = linear_fields,
    .params = linear_params,
    .linear_shape = linear_shape,
    .bind = linear_bind,
    .unbind = free,
    .prefill = linear_run,
};
