/*
 * zamba_layers.c - layers_block_type of Zamba / Zamba2 checkpoints.
 */
#include "checkpoint/zamba_layers.h"

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
