/*
 * hf_config.h - typed reads of a Hugging Face config.json.
 *
 * transformers fills absent fields from each config class's defaults, so
 * every getter takes the default to use; a present field of the wrong kind
 * (a string where a number belongs, a negative size) is an error naming
 * config.json and the key.  Numbers accept Python's Infinity.
 */
#ifndef BR_CHECKPOINT_HF_CONFIG_H
#define BR_CHECKPOINT_HF_CONFIG_H

#include <jansson.h>

#include "braid_status.h"

typedef struct br_hf_config {
    const char *path; /* for messages */
    json_t *root;     /* owned */
} br_hf_config;

br_status br_hf_config_load(const char *path, br_hf_config *cfg, br_error *err);
void br_hf_config_free(br_hf_config *cfg);

int br_hf_has(const br_hf_config *cfg, const char *key); /* present and not null */
br_status br_hf_int(const br_hf_config *cfg, const char *key, long long def, long long min, long long max,
                    long long *out, br_error *err);
br_status br_hf_float(const br_hf_config *cfg, const char *key, double def, double *out, br_error *err);
br_status br_hf_bool(const br_hf_config *cfg, const char *key, int def, int *out, br_error *err);
/* String value or def; the pointer lives as long as the config. */
br_status br_hf_str(const br_hf_config *cfg, const char *key, const char *def, const char **out, br_error *err);
/* A list of numbers of known length n (or any length up to n if *got is given). */
br_status br_hf_float_list(const br_hf_config *cfg, const char *key, int n, double *out, int *got, br_error *err);
/* The JSON value itself (borrowed), or NULL. */
json_t *br_hf_get(const br_hf_config *cfg, const char *key);

#endif /* BR_CHECKPOINT_HF_CONFIG_H */
