/*
 * linear_map.h - a named linear map inside a block: declare, bind, run.
 *
 *   y[n, out] = x[n, in] W^T + b  (+ (x A^T) B^T when the invocation site
 *                                   carries an adapter on this map's name)
 * W is "<name>.weight" [out, in], b "<name>.bias" [out] when the block has
 * biases.  Random init: W ~ N(0, 0.02^2), b = 0.
 */
#ifndef BR_LAYERS_LINEAR_MAP_H
#define BR_LAYERS_LINEAR_MAP_H

#include "graph/exec.h"
#include "layers/layer.h"

typedef struct br_lin {
    const char *name;
    int out, in;
    br_mat w;       /* [out, in], f32 (bf16 on a GPU) */
    const float *b; /* [out] or NULL */
} br_lin;

br_status br_lin_declare(br_param_sink *sink, const char *name, int out, int in, int bias, br_error *err);
br_status br_lin_bind(const br_wscope *scope, const char *name, int out, int in, int bias, br_lin *l, br_error *err);
/* x rows of stride ldx, y rows of stride ldy; beta 1 accumulates into y. */
br_status br_lin_run(const br_lin *l, br_exec *ex, const br_site *site, int n, const float *x, int ldx, float *y,
                     int ldy, float beta, br_error *err);

/* Several maps of the same input, y_i = x W_i^T + b_i (overwritten): one
 * launch where the device can (no adapters on them), else one run each. */
br_status br_lin_run_multi(const br_lin *const *maps, int count, br_exec *ex, const br_site *site, int n, const float *x,
                           int ldx, float *const *ys, const int *ldys, br_error *err);

/* Shared helpers for block settings. */
br_status br_block_fail(br_error *err, const br_block_def *def, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif /* BR_LAYERS_LINEAR_MAP_H */
