/*
 * tkjson.h - reading tokenizer.json fields with errors that name the field.
 *
 * `where` is the dotted path of the object being read ("pre_tokenizer.
 * pretokenizers[1]"); messages read "<where>.<key>: expected ..., found ...".
 * Optional fields that are absent or null take the default, as serde does.
 */
#ifndef BR_TOKENIZER_TKJSON_H
#define BR_TOKENIZER_TKJSON_H

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"

/* The object's "type" string (required). */
br_status tk_json_type(const json_t *obj, const char *where, const char **type, br_error *err);
br_status tk_json_bool(const json_t *obj, const char *key, int dflt, const char *where, int *out, br_error *err);
/* Required string: *s (owned by obj) and *len (may be NULL). */
br_status tk_json_string(const json_t *obj, const char *key, const char *where, const char **s, size_t *len,
                         br_error *err);
/* Optional string: *s NULL when absent or null. */
br_status tk_json_opt_string(const json_t *obj, const char *key, const char *where, const char **s, size_t *len,
                             br_error *err);
/* Integer in [lo, hi]; dflt when absent or null (use a value outside the range to make it required). */
br_status tk_json_int(const json_t *obj, const char *key, long long dflt, long long lo, long long hi,
                      const char *where, long long *out, br_error *err);
/* Required array. */
br_status tk_json_array(const json_t *obj, const char *key, const char *where, const json_t **arr, br_error *err);
/* A Split / Replace pattern: {"String": "..."} (literal) or {"Regex": "..."}. */
typedef struct tk_regex tk_regex;
br_status tk_json_pattern(const json_t *obj, const char *key, const char *where, tk_regex **out, br_error *err);

/* A readable name of a value's JSON type ("string", "null", ...). */
const char *tk_json_kind(const json_t *v);

#endif /* BR_TOKENIZER_TKJSON_H */
