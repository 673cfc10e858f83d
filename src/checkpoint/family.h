/*
 * family.h - how a Hugging Face model family maps onto braid.
 *
 * A family is one mapping file (src/checkpoint/map_<family>.c) and one row
 * in families.c.  It does two things:
 *   write_spec  turns config.json into a braid YAML spec, honouring every
 *               field that changes the math (the YAML is what `braid spec
 *               MODEL_DIR` prints, and what runs);
 *   fill        fills one braid tensor from the checkpoint: it names the
 *               Hugging Face tensor(s) and their expected shapes, and
 *               br_hf_put copies them (converted to the braid tensor's
 *               type), concatenates or interleaves them, or points a
 *               matrix that is one whole tensor of its own type at the
 *               mapped file.  Constant transforms happen here, once.
 * Tensor names are parsed into br_pname so fill functions switch on
 * meaning, not on string prefixes.  Layers are named by their origin
 * index, so a spec that drops layers still binds the right weights.
 */
#ifndef BR_CHECKPOINT_FAMILY_H
#define BR_CHECKPOINT_FAMILY_H

#include <stdint.h>

#include "base/strbuf.h"
#include "checkpoint/hf_config.h"
#include "checkpoint/safetensors.h"
#include "graph/weights.h"

/* Room for any checkpoint tensor name braid builds. */
#define BR_HF_NAME_MAX 512

typedef enum br_pname_kind {
    BR_PN_EMBED,      /* embed.weight */
    BR_PN_LM_HEAD,    /* lm_head.weight */
    BR_PN_FINAL_NORM, /* final_norm.<rest> */
    BR_PN_UNIT_NORM,  /* layers.L.U.norm.<rest> */
    BR_PN_BLOCK,      /* layers.L.U.<block>.<rest> */
    BR_PN_SHARED,     /* shared.<block>.<rest> */
    BR_PN_ADAPTER,    /* layers.L.U.adapters.<target>.<rest: a|b> */
} br_pname_kind;

typedef struct br_pname {
    br_pname_kind kind;
    int layer, unit;   /* origin layer and unit (unit norms, blocks, adapters) */
    char block[64];    /* block name, or adapter target */
    char rest[128];    /* the block's own tensor name: "in_proj.weight" */
} br_pname;

br_status br_pname_parse(const char *name, br_pname *out, br_error *err);

typedef struct br_hf_ctx {
    const br_hf_config *config;
    const br_st_archive *st;
    const struct br_spec *spec;
    unsigned char *used;    /* [br_st_count(st)] set when a tensor is read */
    int missing;            /* set by br_hf_put when the checkpoint lacks a tensor */
    int dtype_noted;        /* a tensor's type disagreed with config.json's torch_dtype (said once) */
    void *fam;              /* family-private data from prepare(), freed with free() */
} br_hf_ctx;

typedef struct br_family {
    const char *model_type;
    br_status (*write_spec)(const br_hf_config *cfg, br_strbuf *yaml, br_error *err);
    /* Optional: computes family data (e.g. layer kinds) into ctx->fam. */
    br_status (*prepare)(br_hf_ctx *ctx, br_error *err);
    br_status (*fill)(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err);
} br_family;

const br_family *br_family_find(const char *model_type);
/* "mamba, falcon_mamba, ..." for messages. */
void br_family_list(char *buf, size_t cap);

/* Copies checkpoint tensor `name`, which must have the given shape, into
 * p->data + offset (elements, of p->dtype), allocating p->data on first
 * use; a matrix (p->matmul) that is the whole tensor, of p->dtype and
 * aligned for it, is used in place instead (p->mapped).  Values that are
 * not finite are refused.  Sets ctx->missing and fails if absent. */
br_status br_hf_put(br_hf_ctx *ctx, br_param *p, int64_t offset, const char *name, int ndim, const int64_t *shape,
                    br_error *err);
/* Copies n_rows rows of row_len elements from rows src_row0, src_row0 +
 * step, ... of `name` (shape as given) into consecutive rows at
 * p->data + offset (Zamba's interleaved in_proj). */
br_status br_hf_put_rows(br_hf_ctx *ctx, br_param *p, int64_t offset, const char *name, int ndim,
                         const int64_t *shape, int64_t src_row0, int64_t step, int64_t n_rows, int64_t row_len,
                         br_error *err);
/* The whole param from one tensor whose shape equals the param's. */
br_status br_hf_put_same(br_hf_ctx *ctx, br_param *p, const char *name, br_error *err);
/* The whole param from one tensor of the same element count, any listed shape. */
br_status br_hf_put_as(br_hf_ctx *ctx, br_param *p, const char *name, int ndim, const int64_t *shape, br_error *err);
/* Fails: the family has no source for this braid tensor. */
br_status br_hf_unmapped(br_hf_ctx *ctx, const br_param *p, br_error *err);

/* Shared mappers for the common blocks, given the Hugging Face prefix of
 * the module ("backbone.layers.3.mixer."). */
br_status br_hf_fill_linear_like(br_hf_ctx *ctx, br_param *p, const char *rest, const char *prefix, br_error *err);
/* Mamba-1 mixer (x_proj/dt_proj as 2-D, conv [C,1,K], Jamba's dt/b/c_layernorm). */
br_status br_hf_fill_mamba1(br_hf_ctx *ctx, br_param *p, const char *rest, const char *prefix, br_error *err);
br_status br_hf_fill_mamba2(br_hf_ctx *ctx, br_param *p, const char *rest, const char *prefix, br_error *err);
br_status br_hf_fill_attention(br_hf_ctx *ctx, br_param *p, const char *rest, const char *prefix, br_error *err);
/* gate_up_proj from separate gate/up tensors named gate, up under prefix; down from down. */
br_status br_hf_fill_gated_mlp(br_hf_ctx *ctx, br_param *p, const char *rest, const char *prefix, const char *gate,
                               const char *up, const char *down, br_error *err);

/* The usual module layout of a family: where the embedding, final norm,
 * per-layer modules and unit pre-norms live, and which mapper fills each
 * braid block.  br_hf_fill_layout handles every tensor such a layout
 * covers and reports the rest as unmapped. */
typedef enum br_hf_block_kind {
    BR_HF_ATTENTION,  /* q_proj, k_proj, v_proj, o_proj */
    BR_HF_MAMBA1,     /* br_hf_fill_mamba1 */
    BR_HF_MAMBA2,     /* br_hf_fill_mamba2 */
    BR_HF_GATED_MLP,  /* gate_proj + up_proj -> gate_up_proj, down_proj */
    BR_HF_SAME_NAMES, /* the block's tensor names as they are */
} br_hf_block_kind;

typedef struct br_hf_block_map {
    const char *block;  /* braid block name */
    const char *module; /* module under the layer, with its dot: "self_attn." */
    br_hf_block_kind kind;
} br_hf_block_map;

typedef struct br_hf_layout {
    const char *embed;                 /* "model.embed_tokens.weight" */
    const char *embed_alias;           /* an older name, or NULL */
    const char *final_norm;            /* "model.norm" */
    const char *layer;                 /* "model.layers.%d." */
    const char *unit_norm[4];          /* module of unit j's pre-norm: "input_layernorm" */
    const br_hf_block_map *blocks;     /* terminated by {NULL} */
} br_hf_layout;

br_status br_hf_fill_layout(br_hf_ctx *ctx, br_param *p, const br_pname *n, const br_hf_layout *layout, br_error *err);

/* Bamba's module names (map_bamba.c), which Falcon-H1 shares. */
br_status br_hf_fill_bamba_names(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err);

/* Stacked experts ("gate_up_proj", "up_proj" or "down_proj": rest without
 * ".weight") from per-expert tensors "<expert_fmt % e><gate|up|down>.weight". */
br_status br_hf_fill_experts(br_hf_ctx *ctx, br_param *p, const char *rest, const char *expert_fmt, const char *gate,
                             const char *up, const char *down, br_error *err);

#endif /* BR_CHECKPOINT_FAMILY_H */
