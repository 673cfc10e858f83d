/*
 * layer.h - the contract every layer type fulfils, and the registry of them.
 *
 * A layer type is one file in src/layers/ plus one row in registry.c:
 *
 *   name, fields      its YAML `type:` and settings table (graph/fields.h)
 *   resolve           derives automatic settings (head_dim, dt_rank, ...) once
 *                     the block's input width is known, and checks that sizes
 *                     divide; errors point at the block's YAML mark
 *   params            declares its tensors: name, shape, random init
 *   active_params     parameters touched per token (MoE); NULL = all
 *   linear_shape      the shapes of its named linear maps (adapter targets)
 *   state             recurrent state per sequence and KV cache per token
 *   costs             per-token FLOPs of attending, routed share (rooflines)
 *   derive            computes constant transforms of its tensors once at load
 *   bind / unbind     looks its tensors up by name and keeps typed pointers
 *   prefill / step    runs it over [n_tok, in_dim] -> [n_tok, d_model];
 *                     step is the T == 1 decode path (NULL: prefill serves)
 *
 * Blocks never allocate long-lived memory while running: temporaries come
 * from the executor's scratch arena, state from the state pool.
 */
#ifndef BR_LAYERS_LAYER_H
#define BR_LAYERS_LAYER_H

#include <stdint.h>
#include <stdio.h>

#include "graph/fields.h"
#include "graph/spec.h"
#include "kernels/device.h"

struct br_exec;
struct br_weights;

typedef struct br_block_dims {
    int d_model; /* width of the residual stream and of every block's output */
    int in_dim;  /* width of this block's input */
} br_block_dims;

/* How a parameter is filled in a random-weight model. */
typedef enum br_init_kind {
    BR_INIT_NORMAL,      /* mean b, standard deviation a (drawn uniformly)     */
    BR_INIT_UNIFORM,     /* U(a, b)                                            */
    BR_INIT_CONST,       /* every element = a (ones for norms: a = 1)          */
    BR_INIT_LOG_ARANGE,  /* log(1 .. n) along the last axis (Mamba-1 A_log)    */
    BR_INIT_LOG_UNIFORM, /* log(U(a, b)) (Mamba-2 A_log)                       */
    BR_INIT_DT_BIAS,     /* softplus^-1(dt), dt log-uniform in [a, b]          */
} br_init_kind;

typedef struct br_init {
    br_init_kind kind;
    float a, b;
} br_init;

#define BR_MAX_DIMS 4

/* Collects the tensors a block declares, under the block's name prefix. */
typedef struct br_param_sink br_param_sink;
br_status br_param_declare(br_param_sink *sink, const char *name, int ndim, const int64_t *shape,
                           br_init init, br_error *err);
/* A tensor read only by matrix products (linear maps, experts): a GPU may
 * store it narrower (bf16). */
br_status br_param_matrix(br_param_sink *sink, const char *name, int ndim, const int64_t *shape, br_init init,
                          br_error *err);
/* A tensor computed from the block's others at load (by its type's
 * derive hook), e.g. A = -exp(A_log); not counted as a parameter. */
br_status br_param_derived(br_param_sink *sink, const char *name, int ndim, const int64_t *shape, br_error *err);
/* Shorthands for 1-, 2- and 3-D tensors. */
br_status br_param1(br_param_sink *sink, const char *name, int64_t d0, br_init init, br_error *err);
br_status br_param2(br_param_sink *sink, const char *name, int64_t d0, int64_t d1, br_init init, br_error *err);
br_status br_param3(br_param_sink *sink, const char *name, int64_t d0, int64_t d1, int64_t d2, br_init init,
                    br_error *err);

/* Looks tensors up under a block's prefix while binding. */
typedef struct br_wscope {
    const struct br_weights *weights;
    char prefix[192];
} br_wscope;
/* The f32 data of "<prefix><name>", checked against the expected shape
 * (pass ndim/shape of the declaration).  Errors name the tensor. */
br_status br_wscope_get(const br_wscope *scope, const char *name, int ndim, const int64_t *shape,
                        const float **out, br_error *err);
/* A matrix tensor, in whatever type its device holds it. */
br_status br_wscope_get_mat(const br_wscope *scope, const char *name, int ndim, const int64_t *shape, br_mat *out,
                            br_error *err);
/* The host memory of a derived tensor, for the derive hook to fill. */
float *br_wscope_derived(const br_wscope *scope, const char *name, br_error *err);

typedef struct br_state_need {
    int64_t conv_elems;         /* f32 elements of convolution state per sequence */
    int64_t ssm_elems;          /* f32 elements of SSM state per sequence         */
    int64_t kv_elems_per_token; /* K and V elements together, per token           */
    int kv_window;              /* 0: cache every token; else a sliding window    */
} br_state_need;

/* A LoRA-style adapter on one of a block's linear maps: y += (x A^T) B^T. */
typedef struct br_adapter {
    const char *target;  /* the block's linear name, e.g. "gate_up_proj" */
    int rank;
    br_mat a;            /* [rank, in]  */
    br_mat b;            /* [out, rank] */
} br_adapter;

#define BR_MAX_ADAPTERS 4

/* One invocation of a block: where it runs and the state it owns. */
typedef struct br_site {
    int layer, unit;      /* position in the plan, for messages */
    int state_id;         /* recurrent-state entry, -1 if none */
    int kv_id;            /* KV-cache entry, -1 if none        */
    int n_adapters;
    br_adapter adapters[BR_MAX_ADAPTERS];
} br_site;

const br_adapter *br_site_adapter(const br_site *site, const char *target);

typedef struct br_block_inst {
    const br_block_def *def;
    const struct br_layer_type *type;
    const void *cfg;
    br_block_dims dims;
    void *bound; /* type-specific typed weight pointers, from bind */
} br_block_inst;

/* Per-token cost facts beyond the parameter count, for rooflines. */
typedef struct br_block_costs {
    double flops_per_context; /* FLOPs a token spends per token it attends to (attention: 4 heads head_dim) */
    double routed_share;      /* share of the routed experts' weights a token uses (MoE: top_k / experts) */
} br_block_costs;

typedef br_status (*br_block_run_fn)(const br_block_inst *blk, struct br_exec *ex, const br_site *site,
                                     const float *x, float *y, br_error *err);

typedef struct br_layer_type {
    const char *name;
    const char *summary;
    size_t cfg_size;
    const br_field *fields;
    br_status (*resolve)(void *cfg, const br_block_dims *dims, const br_block_def *def, br_error *err);
    br_status (*params)(const void *cfg, const br_block_dims *dims, br_param_sink *sink, br_error *err);
    int64_t (*active_params)(const void *cfg, const br_block_dims *dims, int64_t total);
    /* Shape [out, in] of a named linear map, for adapters; 0 if no such map. NULL: none. */
    int (*linear_shape)(const void *cfg, const br_block_dims *dims, const char *name, int *out, int *in);
    void (*state)(const void *cfg, const br_block_dims *dims, br_state_need *need);
    /* Computes derived tensors from loaded ones, on the host, once (NULL: none). */
    br_status (*derive)(const void *cfg, const br_block_dims *dims, const br_wscope *scope, br_error *err);
    br_status (*bind)(const void *cfg, const br_block_dims *dims, const br_wscope *scope, void **bound,
                      br_error *err);
    void (*unbind)(void *bound);
    br_block_run_fn prefill;
    br_block_run_fn step;
    /* Fills the cost facts the parameter count does not give (NULL: none). */
    void (*costs)(const void *cfg, const br_block_dims *dims, br_block_costs *out);
    /* NULL, or BR_ERR_UNSUPPORTED with the reason when the CUDA kernels cannot run this block. */
    br_status (*gpu_check)(const void *cfg, const br_block_dims *dims, br_error *err);
} br_layer_type;

/* The registry: every layer type braid knows. */
const br_layer_type *br_layer_type_find(const char *name);
/* NULL-terminated list of names, for messages. */
const char *const *br_layer_type_names(void);

#endif /* BR_LAYERS_LAYER_H */
