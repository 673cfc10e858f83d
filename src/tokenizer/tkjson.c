/*
 * tkjson.c - checked field readers for tokenizer.json (see tkjson.h).
 */
#include "tokenizer/tkjson.h"

#include "tokenizer/regex.h"

const char *tk_json_kind(const json_t *v) {
    if (!v) return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

br_status tk_json_type(const json_t *obj, const char *where, const char **type, br_error *err) {
    if (!json_is_object(obj)) return BR_FAIL(err, BR_ERR_TOKENIZER, "%s: expected an object, found %s", where, tk_json_kind(obj));
    const json_t *t = json_object_get(obj, "type");
    if (!json_is_string(t))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.type: expected a string, found %s", where, tk_json_kind(t));
    *type = json_string_value(t);
    return BR_OK;
}

br_status tk_json_bool(const json_t *obj, const char *key, int dflt, const char *where, int *out, br_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return BR_OK;
    }
    if (!json_is_boolean(v))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.%s: expected a boolean, found %s", where, key, tk_json_kind(v));
    *out = json_is_true(v);
    return BR_OK;
}

br_status tk_json_opt_string(const json_t *obj, const char *key, const char *where, const char **s, size_t *len,
                             br_error *err) {
    const json_t *v = json_object_get(obj, key);
    *s = NULL;
    if (len) *len = 0;
    if (!v || json_is_null(v)) return BR_OK;
    if (!json_is_string(v))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.%s: expected a string, found %s", where, key, tk_json_kind(v));
    *s = json_string_value(v);
    if (len) *len = json_string_length(v);
    return BR_OK;
}

br_status tk_json_string(const json_t *obj, const char *key, const char *where, const char **s, size_t *len,
                         br_error *err) {
    BR_TRY(tk_json_opt_string(obj, key, where, s, len, err));
    if (!*s) return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.%s: missing (expected a string)", where, key);
    return BR_OK;
}

br_status tk_json_int(const json_t *obj, const char *key, long long dflt, long long lo, long long hi,
                      const char *where, long long *out, br_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (dflt < lo || dflt > hi) return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.%s: missing (expected an integer)", where, key);
        *out = dflt;
        return BR_OK;
    }
    if (!json_is_integer(v))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.%s: expected an integer, found %s", where, key, tk_json_kind(v));
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.%s: %lld is outside [%lld, %lld]", where, key, x, lo, hi);
    *out = x;
    return BR_OK;
}

br_status tk_json_array(const json_t *obj, const char *key, const char *where, const json_t **arr, br_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (!json_is_array(v))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.%s: expected an array, found %s", where, key, tk_json_kind(v));
    *arr = v;
    return BR_OK;
}

br_status tk_json_pattern(const json_t *obj, const char *key, const char *where, tk_regex **out, br_error *err) {
    const json_t *p = json_object_get(obj, key);
    const json_t *lit = json_object_get(p, "String"), *rx = json_object_get(p, "Regex");
    if (!json_is_object(p) || (!json_is_string(lit) && !json_is_string(rx)))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.%s: expected {\"String\": ...} or {\"Regex\": ...}, found %s",
                       where, key, tk_json_kind(p));
    const json_t *v = json_is_string(lit) ? lit : rx;
    br_status st = tk_regex_new(json_string_value(v), json_string_length(v), json_is_string(lit), out, err);
    if (st != BR_OK) br_error_prefix(err, "%s.%s", where, key);
    return st;
}
