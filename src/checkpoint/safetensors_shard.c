/*
 * safetensors_shard.c - maps one .safetensors file and validates its header:
 * the 8-byte length, the JSON, every tensor entry (dtype, shape, offsets,
 * byte count) and that no two tensors share bytes.
 */
#include "checkpoint/safetensors_shard.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#define METADATA_KEY "__metadata__"

static const char *json_kind(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a non-integer number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* "[2, 3]" (or "[]" for a scalar) into buf. */
static const char *format_shape(char *buf, size_t cap, const int64_t *shape, int ndim) {
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
    return buf;
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp(((const br_st_tensor *)a)->name, ((const br_st_tensor *)b)->name);
}

void st_tensors_sort(br_st_tensor *tensors, size_t n) {
    if (n > 1) qsort(tensors, n, sizeof *tensors, cmp_tensor_name);
}

const br_st_tensor *st_tensors_find(const br_st_tensor *tensors, size_t n, const char *name) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(tensors[mid].name, name);
        if (c == 0) return &tensors[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* A tensor's byte range in the data section, for the overlap check. */
typedef struct byte_range {
    uint64_t begin, end;
    size_t tensor; /* index into the shard's (not yet sorted) tensors */
} byte_range;

static int cmp_range(const void *a, const void *b) {
    const byte_range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Reads a non-negative JSON integer. */
static int get_uint(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

static br_status parse_shape(const char *path, const char *name, const json_t *shape, br_st_tensor *t,
                             br_error *err) {
    if (!json_is_array(shape))
        return BR_FAIL(err, BR_ERR_PARSE, "%s: tensor '%s': \"shape\" is %s, expected an array", path,
                       name, json_kind(shape));
    size_t ndim = json_array_size(shape);
    if (ndim > BR_ST_MAX_DIMS)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: tensor '%s': %zu dims, braid handles at most %d",
                       path, name, ndim, BR_ST_MAX_DIMS);
    t->ndim = (int)ndim;
    for (size_t i = 0; i < ndim; i++) {
        const json_t *d = json_array_get(shape, i);
        if (!json_is_integer(d))
            return BR_FAIL(err, BR_ERR_PARSE,
                           "%s: tensor '%s': shape[%zu] is %s, expected a non-negative integer", path,
                           name, i, json_kind(d));
        if (json_integer_value(d) < 0)
            return BR_FAIL(err, BR_ERR_PARSE, "%s: tensor '%s': shape[%zu] is negative (%" PRId64 ")",
                           path, name, i, (int64_t)json_integer_value(d));
        t->shape[i] = (int64_t)json_integer_value(d);
    }
    return BR_OK;
}

/* Expected byte count of t: numel * bits / 8, with overflow and sub-byte checks. */
static br_status expected_bytes(const char *path, const br_st_tensor *t, uint64_t *out, br_error *err) {
    uint64_t numel = 1;
    int zero = 0;
    for (int i = 0; i < t->ndim; i++) zero |= t->shape[i] == 0;
    char shape_buf[256];
    for (int i = 0; i < t->ndim && !zero; i++) {
        uint64_t d = (uint64_t)t->shape[i];
        if (numel > UINT64_MAX / d)
            return BR_FAIL(err, BR_ERR_PARSE, "%s: tensor '%s': shape %s has too many elements", path,
                           t->name, format_shape(shape_buf, sizeof shape_buf, t->shape, t->ndim));
        numel *= d;
    }
    if (zero) numel = 0;
    uint64_t bits = (uint64_t)br_st_dtype_bits(t->dtype);
    if (numel > UINT64_MAX / bits)
        return BR_FAIL(err, BR_ERR_PARSE, "%s: tensor '%s': shape %s has too many elements", path,
                       t->name, format_shape(shape_buf, sizeof shape_buf, t->shape, t->ndim));
    if (numel * bits % 8 != 0)
        return BR_FAIL(err, BR_ERR_PARSE,
                       "%s: tensor '%s': %" PRIu64 " elements of %s (%d bits) are not a whole number "
                       "of bytes (shape %s)",
                       path, t->name, numel, br_st_dtype_name(t->dtype), (int)bits,
                       format_shape(shape_buf, sizeof shape_buf, t->shape, t->ndim));
    *out = numel * bits / 8;
    return BR_OK;
}

/* Validates one header entry and fills t (data and nbytes from `data`). */
static br_status parse_entry(const char *path, const char *name, const json_t *entry,
                             const unsigned char *data, uint64_t data_size, br_st_tensor *t,
                             byte_range *range, br_error *err) {
    memset(t, 0, sizeof *t);
    t->name = name;
    t->file = path;
    if (!json_is_object(entry))
        return BR_FAIL(err, BR_ERR_PARSE, "%s: tensor '%s': entry is %s, expected an object", path,
                       name, json_kind(entry));
    static const char *const fields[] = {"dtype", "shape", "data_offsets"};
    for (size_t i = 0; i < 3; i++)
        if (!json_object_get(entry, fields[i]))
            return BR_FAIL(err, BR_ERR_PARSE, "%s: tensor '%s': missing \"%s\"", path, name, fields[i]);

    const json_t *dtype = json_object_get(entry, "dtype");
    if (!json_is_string(dtype))
        return BR_FAIL(err, BR_ERR_PARSE, "%s: tensor '%s': \"dtype\" is %s, expected a string", path,
                       name, json_kind(dtype));
    int d = br_st_dtype_parse(json_string_value(dtype));
    if (d < 0)
        return BR_FAIL(err, BR_ERR_PARSE, "%s: tensor '%s': unknown dtype \"%s\"", path, name,
                       json_string_value(dtype));
    t->dtype = (br_st_dtype)d;

    BR_TRY(parse_shape(path, name, json_object_get(entry, "shape"), t, err));

    const json_t *offs = json_object_get(entry, "data_offsets");
    uint64_t begin, end;
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        !get_uint(json_array_get(offs, 0), &begin) || !get_uint(json_array_get(offs, 1), &end))
        return BR_FAIL(err, BR_ERR_PARSE,
                       "%s: tensor '%s': \"data_offsets\" must be [begin, end], two non-negative "
                       "integers",
                       path, name);
    if (begin > end)
        return BR_FAIL(err, BR_ERR_PARSE,
                       "%s: tensor '%s': data_offsets begin %" PRIu64 " > end %" PRIu64, path, name,
                       begin, end);

    uint64_t want = 0;
    BR_TRY(expected_bytes(path, t, &want, err));
    if (end - begin != want) {
        char shape_buf[256];
        return BR_FAIL(err, BR_ERR_PARSE,
                       "%s: tensor '%s': shape %s of %s needs %" PRIu64 " bytes, data_offsets [%" PRIu64
                       ", %" PRIu64 "] hold %" PRIu64,
                       path, name, format_shape(shape_buf, sizeof shape_buf, t->shape, t->ndim),
                       br_st_dtype_name(t->dtype), want, begin, end, end - begin);
    }
    if (end > data_size)
        return BR_FAIL(err, BR_ERR_IO,
                       "%s: tensor '%s': data_offsets end %" PRIu64 " is beyond the data section "
                       "(%" PRIu64 " bytes); file truncated?",
                       path, name, end, data_size);
    t->data = data + begin;
    t->nbytes = (size_t)(end - begin);
    range->begin = begin;
    range->end = end;
    return BR_OK;
}

static br_status check_metadata(const char *path, const json_t *meta, br_error *err) {
    if (json_is_null(meta)) return BR_OK;
    if (!json_is_object(meta))
        return BR_FAIL(err, BR_ERR_PARSE, "%s: \"" METADATA_KEY "\" is %s, expected an object", path,
                       json_kind(meta));
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)meta, key, v) {
        if (!json_is_string(v))
            return BR_FAIL(err, BR_ERR_PARSE,
                           "%s: \"" METADATA_KEY "\" key '%s' is %s, expected a string", path, key,
                           json_kind(v));
    }
    return BR_OK;
}

/* No two non-empty tensors may share a byte.  `ranges` is reordered. */
static br_status check_overlap(const char *path, const br_st_tensor *tensors, byte_range *ranges,
                               size_t n, br_error *err) {
    qsort(ranges, n, sizeof *ranges, cmp_range);
    uint64_t max_end = 0;
    size_t max_at = 0;
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        const byte_range *r = &ranges[i];
        if (r->begin == r->end) continue;
        if (any && r->begin < max_end) {
            const byte_range *p = &ranges[max_at];
            return BR_FAIL(err, BR_ERR_PARSE,
                           "%s: tensors '%s' [%" PRIu64 ", %" PRIu64 ") and '%s' [%" PRIu64
                           ", %" PRIu64 ") overlap",
                           path, tensors[p->tensor].name, p->begin, p->end, tensors[r->tensor].name,
                           r->begin, r->end);
        }
        if (!any || r->end > max_end) {
            max_end = r->end;
            max_at = i;
        }
        any = 1;
    }
    return BR_OK;
}

/* Parses and validates the header of s (already mapped); fills s->tensors. */
static br_status parse_header(st_shard *s, br_error *err) {
    const char *path = s->path;
    const unsigned char *bytes = s->map.data;
    size_t size = s->map.size;
    if (size < 8)
        return BR_FAIL(err, BR_ERR_IO,
                       "%s: file is %zu bytes, too short for the 8-byte header length; truncated?",
                       path, size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | bytes[i];
    if (n > BR_ST_MAX_HEADER_BYTES)
        return BR_FAIL(err, BR_ERR_PARSE,
                       "%s: header length %" PRIu64 " is over the %u-byte limit; not a safetensors "
                       "file?",
                       path, n, BR_ST_MAX_HEADER_BYTES);
    if (n > size - 8)
        return BR_FAIL(err, BR_ERR_IO,
                       "%s: header length %" PRIu64 " runs past the end of the %zu-byte file; "
                       "truncated?",
                       path, n, size);

    json_error_t jerr;
    s->header = json_loadb((const char *)bytes + 8, (size_t)n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                           &jerr);
    if (!s->header)
        return BR_FAIL(err, BR_ERR_PARSE, "%s: header is not valid JSON: line %d, column %d: %s", path,
                       jerr.line, jerr.column, jerr.text);
    if (!json_is_object(s->header))
        return BR_FAIL(err, BR_ERR_PARSE, "%s: header is %s, expected a JSON object", path,
                       json_kind(s->header));

    const json_t *meta = json_object_get(s->header, METADATA_KEY);
    if (meta) BR_TRY(check_metadata(path, meta, err));
    size_t count = json_object_size(s->header) - (meta ? 1 : 0);

    s->tensors = br_calloc(count, sizeof *s->tensors, err);
    if (!s->tensors) return BR_ERR_NOMEM;
    byte_range *ranges = br_calloc(count, sizeof *ranges, err);
    if (!ranges) return BR_ERR_NOMEM;

    const unsigned char *data = bytes + 8 + n;
    uint64_t data_size = (uint64_t)(size - 8 - (size_t)n);
    br_status st = BR_OK;
    const char *key;
    json_t *entry;
    size_t i = 0;
    json_object_foreach(s->header, key, entry) {
        if (strcmp(key, METADATA_KEY) == 0) continue;
        st = parse_entry(path, key, entry, data, data_size, &s->tensors[i], &ranges[i], err);
        if (st != BR_OK) break;
        ranges[i].tensor = i;
        i++;
    }
    s->n_tensors = i;
    if (st == BR_OK) st = check_overlap(path, s->tensors, ranges, count, err);
    free(ranges);
    if (st == BR_OK) st_tensors_sort(s->tensors, s->n_tensors);
    return st;
}

br_status st_shard_open(const char *path, st_shard *out, br_error *err) {
    memset(out, 0, sizeof *out);
    st_shard s = {0};
    s.path = br_strdup(path, err);
    if (!s.path) return BR_ERR_NOMEM;
    br_status st = br_map_file(path, &s.map, err);
    if (st == BR_OK) st = parse_header(&s, err);
    if (st != BR_OK) {
        st_shard_close(&s);
        return st;
    }
    *out = s;
    return BR_OK;
}

void st_shard_close(st_shard *s) {
    if (!s) return;
    free(s->tensors);
    if (s->header) json_decref(s->header);
    br_unmap_file(&s->map);
    free(s->path);
    memset(s, 0, sizeof *s);
}

const char *st_shard_metadata(const st_shard *s, const char *key) {
    const json_t *meta = json_object_get(s->header, METADATA_KEY);
    const json_t *v = json_is_object(meta) ? json_object_get(meta, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}
