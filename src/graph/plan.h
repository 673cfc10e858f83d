/*
 * plan.h - a spec unrolled into what the executor runs.
 *
 * The plan turns each layer's units into block instances (one per use, or
 * one per shared block), gives every invocation a site with its own
 * recurrent-state and KV-cache entries (a shared attention block invoked at
 * six depths owns six KV caches), and declares every tensor under its braid
 * name:
 *   embed.weight [V, D]   lm_head.weight [V, D] (untied)   final_norm.weight
 *   layers.<i>.<j>.norm.weight        pre-norm of unit j of layer i
 *   layers.<i>.<j>.<block>.<param>    a block's own tensors
 *   shared.<block>.<param>            a shared block's tensors
 *   layers.<i>.<j>.adapters.<target>.{a,b}   per-invocation LoRA
 * It also yields the figures `braid plan` reports.
 */
#ifndef BR_GRAPH_PLAN_H
#define BR_GRAPH_PLAN_H

#include "graph/spec.h"
#include "graph/weights.h"
#include "layers/layer.h"

typedef struct br_plan_unit {
    int layer, index;            /* layer number and unit number inside it */
    const br_unit_def *def;
    int width;                   /* input width: d_model or 2*d_model */
    char prefix[96];             /* "layers.<i>.<j>." */
    br_block_inst *blocks[BR_MAX_PARALLEL];
    br_site sites[BR_MAX_PARALLEL];
    const float *norm_w, *norm_b; /* bound pre-norm tensors ([width]) */
} br_plan_unit;

typedef struct br_plan {
    const struct br_spec *spec;
    int n_units;
    br_plan_unit *units;         /* [n_units], layer-major */
    int n_insts;
    br_block_inst *insts;        /* [n_insts] */
    char (*inst_prefix)[160];    /* [n_insts] name prefix of each instance's tensors */
    int64_t *inst_params;        /* [n_insts] parameters of each instance */
    int n_state;                 /* recurrent-state entries (one per Mamba invocation) */
    br_state_need *state_need;   /* [n_state] */
    int n_kv;                    /* KV-cache entries (one per attention invocation) */
    br_state_need *kv_need;      /* [n_kv] */
    int uses_embedding;          /* some unit reads [x, e] */
    br_weights weights;          /* every declared tensor */
    br_mat embed, lm_head;       /* [V, D] each (the same when tied) */
    const float *final_w, *final_b;
} br_plan;

br_status br_plan_build(const struct br_spec *spec, br_plan *plan, br_error *err);
/* After every tensor is filled, on the host: derived tensors are computed. */
br_status br_plan_derive(br_plan *plan, br_error *err);
/* Blocks look their tensors up (wherever the weights live). */
br_status br_plan_bind(br_plan *plan, br_error *err);
void br_plan_unbind(br_plan *plan);
void br_plan_free(br_plan *plan);

/* Figures for reports (dtype: the element type states and caches are costed in). */
typedef struct br_plan_figures {
    int64_t params_total, params_active, params_embedding;
    int64_t conv_state_bytes, ssm_state_bytes; /* per sequence */
    int64_t kv_bytes_per_token;                /* all attention invocations, K and V */
    int n_attention, n_recurrent;              /* invocations */
    int max_kv_window;                         /* 0 if every cache is unbounded */
} br_plan_figures;
void br_plan_figures_compute(const br_plan *plan, br_dtype dtype, br_plan_figures *out);
/* KV bytes for one sequence of `context` tokens, honouring sliding windows; -1 past INT64_MAX. */
int64_t br_plan_kv_bytes(const br_plan *plan, br_dtype dtype, int64_t context);

#endif /* BR_GRAPH_PLAN_H */
