/*
 * spec.h - a parsed, validated architecture spec.
 *
 * A spec is: model-wide settings (width, vocabulary, embedding and logit
 * scales, the default norm), a table of named blocks (each an instance
 * template of a layer type with its settings, or one shared weight set when
 * `shared: true`), and the expanded list of layers.  Each layer is a short
 * list of units; a unit is
 *
 *     h   = norm(input)          input: the stream x (plus any injected p),
 *                                       [x, e] (concat_embedding), or the
 *                                       previous unit's output (previous)
 *     out = sum_b out_scale_b * block_b(in_scale_b * h)    (b: 1, or parallel)
 *     combine: residual  x = x + residual_scale * out      (default)
 *              pass      the next unit reads out as `previous`
 *              inject    p = out, added to the next stream input (Zamba)
 *
 * where e is the scaled token embedding.  A unit may carry per-invocation
 * LoRA adapters on named linear maps of its block (Zamba2's shared blocks).
 * A unit of a single shared block shares the block's pre-norm as well.
 * An override may take a unit from another layer with its weights
 * (`from:`), so one set of tensors can run at two depths, each invocation
 * with its own state.
 * The YAML grammar is documented in docs/spec.md; the reader is
 * spec_read.c, the checks spec_check.c.
 */
#ifndef BR_GRAPH_SPEC_H
#define BR_GRAPH_SPEC_H

#include <stdio.h>

#include "braid.h"
#include "graph/yaml_tree.h"

#define BR_NAME_MAX 64
#define BR_MAX_PARALLEL 4 /* blocks summed in one parallel unit */
#define BR_MAX_UNITS 4    /* units in one layer */

struct br_layer_type;

/* A source position, kept for messages after the YAML tree is gone. */
typedef struct br_mark {
    char file[256];
    int line, col;
} br_mark;

typedef enum br_norm_kind { BR_NORM_NONE = 0, BR_NORM_RMS, BR_NORM_LAYER, BR_NORM_KIND_COUNT } br_norm_kind;

typedef struct br_norm_def {
    br_norm_kind kind;
    double eps;
    int bias;        /* layernorm: has a bias */
    int unit_offset; /* weight applied as (1 + w) */
} br_norm_def;

typedef struct br_block_def {
    char name[BR_NAME_MAX];
    const struct br_layer_type *type;
    void *cfg;           /* type-specific settings (type->cfg_size bytes), owned */
    int shared;          /* one weight set for every use (params under shared.<name>.) */
    double in_scale;     /* multiplies the block's input */
    double out_scale;    /* multiplies the block's output */
    int in_dim;          /* width of its input: d_model, or 2*d_model for [x, e]; 0 = unused */
    int uses;            /* how many units (or sequence steps) invoke it */
    br_mark mark;
} br_block_def;

typedef enum br_unit_input {
    BR_INPUT_STREAM = 0,
    BR_INPUT_CONCAT_EMBEDDING,
    BR_INPUT_PREVIOUS,
    BR_INPUT_COUNT
} br_unit_input;
typedef enum br_unit_combine {
    BR_COMBINE_RESIDUAL = 0,
    BR_COMBINE_PASS,
    BR_COMBINE_INJECT,
    BR_COMBINE_COUNT
} br_unit_combine;

#define BR_MAX_ADAPTER_TARGETS 4
typedef struct br_adapter_def {
    int rank;   /* 0: none */
    int n_targets;
    char targets[BR_MAX_ADAPTER_TARGETS][BR_NAME_MAX]; /* linear names of the block */
} br_adapter_def;

typedef struct br_unit_def {
    int n_blocks;
    int blocks[BR_MAX_PARALLEL]; /* indices into spec->blocks; >1 = parallel sum */
    br_norm_def norm;            /* pre-norm over the unit's input */
    br_unit_input input;
    br_unit_combine combine;
    br_adapter_def adapters;
    int origin, origin_unit;     /* the layer (index before `drop:`) and unit whose tensors it binds: its own
                                    place, or the unit an override's `from: [layer, unit]` took */
} br_unit_def;

typedef struct br_layer_def {
    int origin; /* index in the expanded pattern before `drop:`; names its tensors */
    int n_units;
    br_unit_def units[BR_MAX_UNITS];
    char symbol[BR_NAME_MAX]; /* the pattern symbol or layer name it came from, for tables */
} br_layer_def;

struct br_spec {
    char name[BR_NAME_MAX];
    char *path;              /* file it was read from (NULL if from text) */
    int d_model;
    int vocab_size;
    int tie_embeddings;
    double embedding_scale;  /* e = embed[token] * embedding_scale */
    double logit_scale;      /* logits = lm_head(norm(x)) * logit_scale */
    double residual_scale;   /* x = x + residual_scale * unit output */
    int context;             /* default context length for reports */
    br_norm_def norm;        /* default pre-norm of every unit */
    br_norm_def final_norm;
    int n_blocks;
    br_block_def *blocks;    /* [n_blocks] */
    int n_layers;
    br_layer_def *layers;    /* [n_layers] */
};

/* Looks a block up by name; -1 if absent. */
int br_spec_block_index(const struct br_spec *spec, const char *name);

/* Norm reading and writing, shared by units, sequences and model settings. */
br_status br_norm_parse(const br_ynode *node, const br_norm_def *fallback, const char *what,
                        br_norm_def *out, br_error *err);
void br_norm_emit(const br_norm_def *norm, FILE *out);
const char *br_norm_kind_name(br_norm_kind kind);

#endif /* BR_GRAPH_SPEC_H */
