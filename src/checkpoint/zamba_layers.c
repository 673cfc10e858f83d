/*
 * zamba_layers.c - layers_block_type of Zamba / Zamba2 checkpoints.
 */
#include "checkpoint/zamba_layers.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"

br_status br_zamba_layers_read(const br_hf_config *cfg, br_zamba_layers *z, br_error *err) {
    json_t *types = br_hf_get(cfg, "layers_block_type");
    if (types) {
        if (!json_is_array(types) || (int)json_array_size(types) != z->n_layers)
            return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: 'layers_block_type' must list num_hidden_layers (%d) entries",
                           cfg->path, z->n_layers);
        for (int i = 0; i < z->n_layers; i++) {
            const char *t = json_string_value(json_array_get(types, (size_t)i));
            if (t && strcmp(t, "hybrid") == 0) z->kind[i] = 'h';
            else if (t && (strcmp(t, "mamba") == 0 || strcmp(t, "linear_attention") == 0)) z->kind[i] = 'm';
            else
                return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: layers_block_type[%d] is '%s' (expected mamba or hybrid)",
                               cfg->path, i, t ? t : "not a string");
        }
    }
    z->n_hybrid = 0;
    for (int i = 0; i < z->n_layers; i++) {
        z->ordinal[i] = -1;
        if (z->kind[i] == 'h') {
            z->ordinal[i] = z->n_hybrid;
            z->hybrid_ids[z->n_hybrid++] = i;
        }
    }
    return BR_OK;
}

static int is_hybrid(const br_zamba_layers *z, int layer) {
    return layer >= 0 && layer < z->n_layers && z->kind[layer] == 'h';
}

void br_zamba_mamba_prefix(const br_zamba_layers *z, int layer, char *buf, size_t cap) {
    snprintf(buf, cap, is_hybrid(z, layer) ? "model.layers.%d.mamba_decoder.mamba." : "model.layers.%d.mamba.", layer);
}

br_status br_zamba_fill_common(br_hf_ctx *ctx, br_param *p, const br_pname *n, const br_zamba_layers *z,
                               br_error *err) {
    static const br_hf_layout outer = {"model.embed_tokens.weight", NULL, "model.final_layernorm", "model.layers.%d.",
                                       {NULL}, NULL};
    char name[BR_HF_NAME_MAX];
    switch (n->kind) {
    case BR_PN_EMBED:
    case BR_PN_LM_HEAD:
    case BR_PN_FINAL_NORM: return br_hf_fill_layout(ctx, p, n, &outer, err);
    case BR_PN_UNIT_NORM:
        snprintf(name, sizeof name, is_hybrid(z, n->layer) ? "model.layers.%d.mamba_decoder.input_layernorm.%s"
                                                          : "model.layers.%d.input_layernorm.%s",
                 n->layer, n->rest);
        return br_hf_put_same(ctx, p, name, err);
    case BR_PN_BLOCK:
        if (strcmp(n->block, "proj") != 0 || strcmp(n->rest, "proj.weight") != 0) break;
        snprintf(name, sizeof name, "model.layers.%d.linear.weight", n->layer);
        return br_hf_put_same(ctx, p, name, err);
    default: break;
    }
    return br_hf_unmapped(ctx, p, err);
}
