/*
 * registry.c - every layer type braid knows, by YAML name.
 * A new layer type is one file in src/layers/ and one row here.
 */
#include <string.h>

#include "layers/layer.h"

extern const br_layer_type br_layer_mamba, br_layer_mamba2, br_layer_attention, br_layer_mlp, br_layer_moe,
    br_layer_linear;

static const br_layer_type *const types[] = {
    &br_layer_mamba, &br_layer_mamba2, &br_layer_attention, &br_layer_mlp, &br_layer_moe, &br_layer_linear,
};

#define N_TYPES (sizeof types / sizeof types[0])

const br_layer_type *br_layer_type_find(const char *name) {
    for (size_t i = 0; i < N_TYPES; i++)
        if (strcmp(types[i]->name, name) == 0) return types[i];
    return NULL;
}

const char *const *br_layer_type_names(void) {
    static const char *names[N_TYPES + 1];
    for (size_t i = 0; i < N_TYPES; i++) names[i] = types[i]->name;
    return names;
}
