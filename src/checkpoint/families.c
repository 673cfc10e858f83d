/*
 * families.c - every Hugging Face model_type braid can load.
 * A new family is one map_<family>.c and one row here.
 */
#include <stdio.h>
#include <string.h>

#include "checkpoint/family.h"

extern const br_family br_family_mamba, br_family_falcon_mamba, br_family_mamba2, br_family_jamba, br_family_zamba,
    br_family_zamba2, br_family_bamba, br_family_falcon_h1, br_family_nemotron_h, br_family_granite, br_family_llama;

static const br_family *const families[] = {
    &br_family_mamba, &br_family_falcon_mamba, &br_family_mamba2,    &br_family_jamba,   &br_family_zamba, &br_family_zamba2,
    &br_family_bamba, &br_family_falcon_h1,    &br_family_nemotron_h, &br_family_granite, &br_family_llama,
};

#define N_FAMILIES (sizeof families / sizeof families[0])

const br_family *br_family_find(const char *model_type) {
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (strcmp(families[i]->model_type, model_type) == 0) return families[i];
    return NULL;
}

void br_family_list(char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_FAMILIES && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", families[i]->model_type);
}
