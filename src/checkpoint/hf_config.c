/*
 * hf_config.c - config.json getters with defaults and named errors.
 */
#include "checkpoint/hf_config.h"

#include <math.h>

#include "base/error.h"
#include "base/json.h"

br_status br_hf_config_load(const char *path, br_hf_config *cfg, br_error *err) {
    cfg->path = path;
    cfg->root = NULL;
    BR_TRY(br_json_load_file(path, &cfg->root, err));
    if (!json_is_object(cfg->root)) {
        json_decref(cfg->root);
        cfg->root = NULL;
        return BR_FAIL(err, BR_ERR_PARSE, "%s: expected a JSON object at the top level", path);
    }
    return BR_OK;
}

void br_hf_config_free(br_hf_config *cfg) {
    json_decref(cfg->root);
    cfg->root = NULL;
}

json_t *br_hf_get(const br_hf_config *cfg, const char *key) {
    json_t *v = json_object_get(cfg->root, key);
    return v && !json_is_null(v) ? v : NULL;
}

int br_hf_has(const br_hf_config *cfg, const char *key) { return br_hf_get(cfg, key) != NULL; }

br_status br_hf_int(const br_hf_config *cfg, const char *key, long long def, long long min, long long max,
                    long long *out, br_error *err) {
    json_t *v = br_hf_get(cfg, key);
    if (!v) return *out = def, BR_OK;
    double d = 0;
    if (!json_is_integer(v) && !(br_json_number(v, &d) && d == floor(d) && isfinite(d)))
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: '%s' must be an integer", cfg->path, key);
    if (!json_is_integer(v) && !(d >= (double)min && d <= (double)max)) /* before converting: 1e30 fits no integer */
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: '%s' is %g; expected a value in [%lld, %lld]", cfg->path, key, d, min,
                       max);
    long long x = json_is_integer(v) ? json_integer_value(v) : (long long)d;
    if (x < min || x > max)
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: '%s' is %lld; expected a value in [%lld, %lld]", cfg->path, key, x,
                       min, max);
    *out = x;
    return BR_OK;
}

br_status br_hf_float(const br_hf_config *cfg, const char *key, double def, double *out, br_error *err) {
    json_t *v = br_hf_get(cfg, key);
    if (!v) return *out = def, BR_OK;
    if (!br_json_number(v, out)) return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: '%s' must be a number", cfg->path, key);
    return BR_OK;
}

br_status br_hf_bool(const br_hf_config *cfg, const char *key, int def, int *out, br_error *err) {
    json_t *v = br_hf_get(cfg, key);
    if (!v) return *out = def, BR_OK;
    if (!json_is_boolean(v)) return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: '%s' must be true or false", cfg->path, key);
    *out = json_is_true(v);
    return BR_OK;
}

br_status br_hf_str(const br_hf_config *cfg, const char *key, const char *def, const char **out, br_error *err) {
    json_t *v = br_hf_get(cfg, key);
    if (!v) return *out = def, BR_OK;
    if (!json_is_string(v)) return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: '%s' must be a string", cfg->path, key);
    *out = json_string_value(v);
    return BR_OK;
}

br_status br_hf_float_list(const br_hf_config *cfg, const char *key, int n, double *out, int *got, br_error *err) {
    json_t *v = br_hf_get(cfg, key);
    if (got) *got = 0;
    if (!v) return BR_OK;
    if (!json_is_array(v) || (!got && (int)json_array_size(v) != n) || (got && (int)json_array_size(v) > n))
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: '%s' must be a list of %d numbers", cfg->path, key, n);
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!br_json_number(json_array_get(v, i), &out[i]))
            return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: '%s'[%zu] must be a number", cfg->path, key, i);
    if (got) *got = (int)json_array_size(v);
    return BR_OK;
}
