/*
 * json.c - JSON with Python's NaN / Infinity / -Infinity literals.
 *
 * The rewrite walks the text once, tracking whether it is inside a string
 * (honouring backslash escapes); a bare literal outside strings becomes the
 * marker string "\u001fbraid:<literal>", which no real config contains.
 */
#include "base/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"

#define MARKER_PREFIX "\x1f" "braid:"

static const char *const literals[] = {"-Infinity", "Infinity", "NaN"};

br_status br_json_load_text(const char *text, size_t len, const char *name, json_t **out,
                            br_error *err) {
    /* Worst case each 3-byte "NaN" grows by the quoted marker: bound the size. */
    size_t cap = len * 7 + 16;
    char *buf = br_malloc(cap, err);
    if (!buf) return BR_ERR_NOMEM;
    size_t o = 0;
    int in_string = 0;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (in_string) {
            buf[o++] = c;
            if (c == '\\' && i + 1 < len) buf[o++] = text[++i];
            else if (c == '"') in_string = 0;
            i++;
            continue;
        }
        if (c == '"') in_string = 1;
        size_t k;
        for (k = 0; k < sizeof literals / sizeof literals[0]; k++) {
            size_t n = strlen(literals[k]);
            if (i + n <= len && memcmp(text + i, literals[k], n) == 0) break;
        }
        if (k < sizeof literals / sizeof literals[0]) {
            o += (size_t)sprintf(buf + o, "\"\\u001fbraid:%s\"", literals[k]);
            i += strlen(literals[k]);
            continue;
        }
        buf[o++] = c;
        i++;
    }
    json_error_t jerr;
    json_t *root = json_loadb(buf, o, JSON_DECODE_ANY, &jerr);
    free(buf);
    if (!root)
        return BR_FAIL(err, BR_ERR_PARSE, "%s:%d:%d: invalid JSON: %s", name, jerr.line, jerr.column,
                       jerr.text);
    *out = root;
    return BR_OK;
}

br_status br_json_load_file(const char *path, json_t **out, br_error *err) {
    char *text = NULL;
    size_t len = 0;
    BR_TRY(br_read_file(path, &text, &len, err));
    br_status st = br_json_load_text(text, len, path, out, err);
    free(text);
    return st;
}

int br_json_number(const json_t *v, double *out) {
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 1;
    }
    /* transformers >= 5 writes non-finite floats as {"__float__": "Infinity"} */
    if (json_is_object(v) && json_object_size(v) == 1 && json_is_string(json_object_get(v, "__float__"))) {
        const char *s = json_string_value(json_object_get(v, "__float__"));
        if (strcmp(s, "Infinity") == 0) *out = INFINITY;
        else if (strcmp(s, "-Infinity") == 0) *out = -INFINITY;
        else if (strcmp(s, "NaN") == 0) *out = NAN;
        else return 0;
        return 1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t p = strlen(MARKER_PREFIX);
        if (strncmp(s, MARKER_PREFIX, p) != 0) return 0;
        s += p;
        if (strcmp(s, "Infinity") == 0) *out = INFINITY;
        else if (strcmp(s, "-Infinity") == 0) *out = -INFINITY;
        else if (strcmp(s, "NaN") == 0) *out = NAN;
        else return 0;
        return 1;
    }
    return 0;
}
