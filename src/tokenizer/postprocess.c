/*
 * postprocess.c - post-processors (see postprocess.h).
 *
 * A template is stored flattened: `ids` holds the special-token ids in
 * order, with the marker SEQ_A where the encoded sequence goes.
 */
#include "tokenizer/postprocess.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tkjson.h"

#define SEQ_A (-1)

typedef enum { POST_TEMPLATE, POST_NOOP, POST_SEQUENCE } post_kind;

struct tk_post {
    post_kind kind;
    int32_t *ids; /* POST_TEMPLATE: n_ids entries, SEQ_A marks the sequence */
    size_t n_ids;
    tk_post **items; /* POST_SEQUENCE: n_items children */
    size_t n_items;
};

void tk_post_free(tk_post *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_items; i++) tk_post_free(p->items[i]);
    free(p->items);
    free(p->ids);
    free(p);
}

static br_status push_id(tk_post *p, int32_t id, br_error *err) {
    int32_t *v = realloc(p->ids, (p->n_ids + 1) * sizeof *v);
    if (!v) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory building a post-processor template");
    p->ids = v;
    p->ids[p->n_ids++] = id;
    return BR_OK;
}

/* "single": [{"SpecialToken": {"id": "<s>", ...}}, {"Sequence": {"id": "A", ...}}] */
static br_status parse_template(tk_post *p, const json_t *j, const char *where, br_error *err) {
    const json_t *single = json_object_get(j, "single"), *specials = json_object_get(j, "special_tokens");
    if (!json_is_array(single))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.single: expected a list of template pieces, found %s", where,
                       tk_json_kind(single));
    for (size_t i = 0; i < json_array_size(single); i++) {
        const json_t *piece = json_array_get(single, i);
        const json_t *sp = json_object_get(piece, "SpecialToken"), *seq = json_object_get(piece, "Sequence");
        if (json_is_object(seq)) {
            const char *name = json_string_value(json_object_get(seq, "id"));
            if (!name || strcmp(name, "A") != 0)
                return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.single[%zu]: a single template can only hold sequence A", where, i);
            BR_TRY(push_id(p, SEQ_A, err));
            continue;
        }
        const char *name = json_string_value(json_object_get(sp, "id"));
        if (!name)
            return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.single[%zu]: expected {\"SpecialToken\": {\"id\": ...}} or "
                           "{\"Sequence\": {\"id\": \"A\"}}", where, i);
        const json_t *ids = json_object_get(json_object_get(specials, name), "ids");
        if (!json_is_array(ids))
            return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.special_tokens: missing \"%s\" used by the template", where, name);
        for (size_t k = 0; k < json_array_size(ids); k++) {
            const json_t *id = json_array_get(ids, k);
            if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > INT32_MAX)
                return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.special_tokens[\"%s\"].ids[%zu]: expected a token id", where,
                               name, k);
            BR_TRY(push_id(p, (int32_t)json_integer_value(id), err));
        }
    }
    return BR_OK;
}

/* ["[CLS]", 101] */
static br_status pair_id(const json_t *j, const char *key, const char *where, int32_t *id, br_error *err) {
    const json_t *v = json_object_get(j, key), *n = json_array_get(v, 1);
    if (!json_is_array(v) || !json_is_integer(n) || json_integer_value(n) < 0 || json_integer_value(n) > INT32_MAX)
        return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.%s: expected [token, id]", where, key);
    *id = (int32_t)json_integer_value(n);
    return BR_OK;
}

static br_status parse_into(tk_post *p, const json_t *j, const char *where, br_error *err) {
    const char *type;
    BR_TRY(tk_json_type(j, where, &type, err));
    if (strcmp(type, "TemplateProcessing") == 0) {
        p->kind = POST_TEMPLATE;
        return parse_template(p, j, where, err);
    }
    if (strcmp(type, "BertProcessing") == 0 || strcmp(type, "RobertaProcessing") == 0) {
        int32_t cls, sep;
        BR_TRY(pair_id(j, "cls", where, &cls, err));
        BR_TRY(pair_id(j, "sep", where, &sep, err));
        p->kind = POST_TEMPLATE;
        BR_TRY(push_id(p, cls, err));
        BR_TRY(push_id(p, SEQ_A, err));
        return push_id(p, sep, err);
    }
    if (strcmp(type, "ByteLevel") == 0) {
        p->kind = POST_NOOP;
        return BR_OK;
    }
    if (strcmp(type, "Sequence") == 0) {
        p->kind = POST_SEQUENCE;
        const json_t *arr;
        BR_TRY(tk_json_array(j, "processors", where, &arr, err));
        p->items = br_calloc(json_array_size(arr), sizeof *p->items, err);
        if (!p->items) return BR_ERR_NOMEM;
        for (size_t i = 0; i < json_array_size(arr); i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.processors[%zu]", where, i);
            BR_TRY(tk_post_parse(json_array_get(arr, i), sub, &p->items[i], err));
            p->n_items = i + 1;
        }
        return BR_OK;
    }
    return BR_FAIL(err, BR_ERR_TOKENIZER,
                   "%s.type: unknown post-processor type \"%s\" (braid handles TemplateProcessing, BertProcessing, "
                   "RobertaProcessing, ByteLevel, Sequence)", where, type);
}

br_status tk_post_parse(const json_t *j, const char *where, tk_post **out, br_error *err) {
    *out = NULL;
    if (!j || json_is_null(j)) return BR_OK;
    tk_post *p = br_calloc(1, sizeof *p, err);
    if (!p) return BR_ERR_NOMEM;
    br_status st = parse_into(p, j, where, err);
    if (st != BR_OK) {
        tk_post_free(p);
        return st;
    }
    *out = p;
    return BR_OK;
}

br_status tk_post_apply(const tk_post *p, tk_ids *ids, br_error *err) {
    if (!p || p->kind == POST_NOOP) return BR_OK;
    if (p->kind == POST_SEQUENCE) {
        for (size_t i = 0; i < p->n_items; i++) BR_TRY(tk_post_apply(p->items[i], ids, err));
        return BR_OK;
    }
    tk_ids out = {0};
    br_status st = BR_OK;
    for (size_t i = 0; i < p->n_ids && st == BR_OK; i++)
        st = p->ids[i] == SEQ_A ? tk_ids_append(&out, ids->v, ids->n, err) : tk_ids_push(&out, p->ids[i], err);
    if (st != BR_OK) {
        tk_ids_free(&out);
        return st;
    }
    tk_ids_free(ids);
    *ids = out;
    return BR_OK;
}
