/*
 * eos.c - the end-of-sequence token ids of a checkpoint folder.
 *
 * generation_config.json wins over config.json, as in transformers; the
 * field may be one id or a list.
 */
#include <stdint.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/file.h"
#include "braid.h"
#include "checkpoint/hf_config.h"

/* One id of eos_token_id, range-checked before it becomes an int32. */
static br_status eos_id(const char *path, const json_t *v, long i, int32_t *out, br_error *err) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX) {
        if (i < 0) return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: eos_token_id must be a token id (an integer >= 0)", path);
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: eos_token_id[%ld] must be a token id (an integer >= 0)", path, i);
    }
    *out = (int32_t)json_integer_value(v);
    return BR_OK;
}

static br_status read_ids(const char *path, int32_t *ids, int max, int *n, br_error *err) {
    br_hf_config cfg;
    BR_TRY(br_hf_config_load(path, &cfg, err));
    json_t *v = br_hf_get(&cfg, "eos_token_id");
    br_status st = BR_OK;
    *n = 0;
    if (v && json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && *n < max && st == BR_OK; i++)
            if ((st = eos_id(path, json_array_get(v, i), (long)i, &ids[*n], err)) == BR_OK) (*n)++;
    } else if (v) {
        if ((st = eos_id(path, v, -1, &ids[0], err)) == BR_OK) *n = 1;
    }
    br_hf_config_free(&cfg);
    return st;
}

br_status br_checkpoint_eos(const char *dir, int32_t *ids, int max, int *n, br_error *err) {
    *n = 0;
    const char *files[] = {"generation_config.json", "config.json"};
    for (int f = 0; f < 2 && *n == 0; f++) {
        char *path = br_path_join(dir, files[f], err);
        if (!path) return BR_ERR_NOMEM;
        br_status st = br_file_exists(path) ? read_ids(path, ids, max, n, err) : BR_OK;
        free(path);
        if (st != BR_OK) return st;
    }
    return BR_OK;
}
