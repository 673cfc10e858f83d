/*
 * linear_map.c - named linear maps with optional bias and per-site adapters.
 */
#include "layers/linear_map.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/error.h"
#include "kernels/backend.h"
#include "kernels/linear.h"

br_status br_lin_declare(br_param_sink *sink, const char *name, int out, int in, int bias, br_error *err) {
    char full[128];
    snprintf(full, sizeof full, "%s.weight", name);
    BR_TRY(br_param_matrix(sink, full, 2, (int64_t[]){out, in}, (br_init){BR_INIT_NORMAL, 0.02f, 0}, err));
    if (bias) {
        snprintf(full, sizeof full, "%s.bias", name);
        BR_TRY(br_param1(sink, full, out, (br_init){BR_INIT_NORMAL, 0.02f, 0.0f}, err));
    }
    return BR_OK;
}

br_status br_lin_bind(const br_wscope *scope, const char *name, int out, int in, int bias, br_lin *l, br_error *err) {
    char full[128];
    l->name = name;
    l->out = out;
    l->in = in;
    l->b = NULL;
    snprintf(full, sizeof full, "%s.weight", name);
    BR_TRY(br_wscope_get_mat(scope, full, 2, (int64_t[]){out, in}, &l->w, err));
    if (bias) {
        snprintf(full, sizeof full, "%s.bias", name);
        BR_TRY(br_wscope_get(scope, full, 1, (int64_t[]){out}, &l->b, err));
    }
    return BR_OK;
}

br_status br_lin_run(const br_lin *l, br_exec *ex, const br_site *site, int n, const float *x, int ldx, float *y,
                     int ldy, float beta, br_error *err) {
    BR_K(ex->dev, linear, n, l->in, l->out, x, ldx, l->w, l->b, beta, y, ldy);
    const br_adapter *ad = br_site_adapter(site, l->name);
    if (!ad) return BR_OK;
    float *t = br_exec_scratch(ex, (size_t)n * ad->rank, err); /* [n, rank] = x A^T */
    if (!t) return BR_ERR_NOMEM;
    BR_K(ex->dev, linear, n, l->in, ad->rank, x, ldx, ad->a, NULL, 0.0f, t, ad->rank);
    BR_K(ex->dev, linear, n, ad->rank, l->out, t, ad->rank, ad->b, NULL, 1.0f, y, ldy);
    return BR_OK;
}

br_status br_lin_run_multi(const br_lin *const *maps, int count, br_exec *ex, const br_site *site, int n, const float *x,
                           int ldx, float *const *ys, const int *ldys, br_error *err) {
    int adapted = count > BR_LINEAR_MULTI_MAX;
    for (int i = 0; i < count && !adapted; i++) adapted = br_site_adapter(site, maps[i]->name) != NULL;
    if (adapted) {
        for (int i = 0; i < count; i++) BR_TRY(br_lin_run(maps[i], ex, site, n, x, ldx, ys[i], ldys[i], 0.0f, err));
        return BR_OK;
    }
    br_linear_out outs[BR_LINEAR_MULTI_MAX];
    for (int i = 0; i < count; i++)
        outs[i] = (br_linear_out){.out = maps[i]->out, .w = maps[i]->w, .b = maps[i]->b, .y = ys[i], .ldy = ldys[i]};
    BR_K(ex->dev, linear_multi, n, maps[0]->in, x, ldx, count, outs);
    return BR_OK;
}

br_status br_block_fail(br_error *err, const br_block_def *def, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return BR_FAIL(err, BR_ERR_SPEC, "%s:%d:%d: block '%s' (%s): %s", def->mark.file, def->mark.line, def->mark.col,
                   def->name, def->type->name, msg);
}
