/*
 * zamba_layers.h - the layer kinds of Zamba and Zamba2 checkpoints.
 *
 * Both read config.json's layers_block_type ("mamba" / "linear_attention"
 * or "hybrid"); when it is absent each family computes its own default.
 * A hybrid layer runs the shared transformer, then its Mamba layer; its
 * ordinal among hybrid layers picks the shared block (k % num_mem_blocks)
 * and the adapters (index k), and a shared block's weights sit under the
 * first hybrid layer that uses it.
 */
#ifndef BR_CHECKPOINT_ZAMBA_LAYERS_H
#define BR_CHECKPOINT_ZAMBA_LAYERS_H

#include "checkpoint/family.h"
#include "checkpoint/hf_config.h"

#define BR_ZAMBA_MAX_LAYERS 4096

typedef struct br_zamba_layers {
    int n_layers;
    char kind[BR_ZAMBA_MAX_LAYERS];    /* 'm' or 'h' per layer */
    int ordinal[BR_ZAMBA_MAX_LAYERS];  /* hybrid ordinal k of layer i, -1 for mamba layers */
    int n_hybrid;
    int hybrid_ids[BR_ZAMBA_MAX_LAYERS]; /* layer of hybrid k */
} br_zamba_layers;

/* Reads layers_block_type if present (must have `n_layers` entries);
 * otherwise keeps the kinds the caller pre-filled.  Then derives ordinals. */
br_status br_zamba_layers_read(const br_hf_config *cfg, br_zamba_layers *z, br_error *err);

/* The tensors both generations name alike: embeddings, lm_head, the final
 * norm, the Mamba layers' pre-norms (a hybrid layer's sits in its
 * mamba_decoder), and the per-layer linear ("proj" block). */
br_status br_zamba_fill_common(br_hf_ctx *ctx, br_param *p, const br_pname *n, const br_zamba_layers *z,
                               br_error *err);
/* The module prefix of layer i's Mamba mixer. */
void br_zamba_mamba_prefix(const br_zamba_layers *z, int layer, char *buf, size_t cap);

#endif /* BR_CHECKPOINT_ZAMBA_LAYERS_H */
