/*
 * yaml_tree.c - libyaml document -> br_ynode tree, clone, merge and lookup.
 */
#include "graph/yaml_tree.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"

#define MAX_DEPTH 64
#define MAX_NODES 1000000 /* a spec is hundreds of nodes; aliases repeat what they name, so this bounds them */

const char *br_ykind_name(br_ykind kind) {
    return kind == BR_Y_SCALAR ? "scalar" : kind == BR_Y_SEQ ? "sequence" : "mapping";
}

br_status br_yfail(br_error *err, br_status status, const br_ynode *node, const char *fmt, ...) {
    char msg[BR_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (node) return br_error_set(err, status, __FILE__, __LINE__, "%s:%d:%d: %s", node->file, node->line, node->col, msg);
    return br_error_set(err, status, __FILE__, __LINE__, "%s", msg);
}

void br_ynode_free(br_ynode *node) {
    if (!node) return;
    for (size_t i = 0; i < node->n; i++) {
        br_ynode_free(node->items[i]);
        if (node->keys) br_ynode_free(node->keys[i]);
    }
    free(node->items);
    free(node->keys);
    free(node->scalar);
    free(node->file);
    free(node);
}

static br_ynode *new_node(br_ykind kind, const char *file, int line, int col, br_error *err) {
    br_ynode *n = br_calloc(1, sizeof *n, err);
    if (!n) return NULL;
    n->kind = kind;
    n->line = line;
    n->col = col;
    n->file = br_strdup(file, err);
    if (!n->file) {
        free(n);
        return NULL;
    }
    return n;
}

/* The first key of map n[0..count) that repeats an earlier one, or -1; *first gets the earlier one's index.
 * Linear time: an open-addressing table of the keys' hashes. */
static long duplicate_key(br_ynode *const *keys, size_t count, size_t *first, br_error *err) {
    size_t cap = 16;
    while (cap < 2 * count) cap *= 2;
    size_t *slot = br_calloc(cap, sizeof *slot, err); /* index + 1, 0 = empty */
    if (!slot) return -2;
    long dup = -1;
    for (size_t i = 0; i < count && dup < 0; i++) {
        const uint64_t h = br_fnv1a(BR_FNV1A_START, keys[i]->scalar, strlen(keys[i]->scalar));
        for (size_t k = (size_t)h & (cap - 1);; k = (k + 1) & (cap - 1)) {
            if (!slot[k]) {
                slot[k] = i + 1;
                break;
            }
            if (strcmp(keys[slot[k] - 1]->scalar, keys[i]->scalar) == 0) {
                *first = slot[k] - 1;
                dup = (long)i;
                break;
            }
        }
    }
    free(slot);
    return dup;
}

static br_status convert(yaml_document_t *doc, yaml_node_t *yn, const char *file, int depth, long *budget,
                         br_ynode **out, br_error *err) {
    if (depth > MAX_DEPTH)
        return BR_FAIL(err, BR_ERR_PARSE, "%s:%d:%d: nesting deeper than %d (recursive alias?)", file,
                       (int)yn->start_mark.line + 1, (int)yn->start_mark.column + 1, MAX_DEPTH);
    if (--*budget < 0)
        return BR_FAIL(err, BR_ERR_PARSE, "%s:%d:%d: the document expands to more than %d nodes (aliases repeat the "
                       "nodes they name); no spec is that large", file, (int)yn->start_mark.line + 1,
                       (int)yn->start_mark.column + 1, MAX_NODES);
    int line = (int)yn->start_mark.line + 1, col = (int)yn->start_mark.column + 1;
    br_ynode *n = NULL;
    switch (yn->type) {
    case YAML_SCALAR_NODE:
        n = new_node(BR_Y_SCALAR, file, line, col, err);
        if (!n) return BR_ERR_NOMEM;
        n->scalar = br_malloc(yn->data.scalar.length + 1, err);
        if (!n->scalar) goto nomem;
        memcpy(n->scalar, yn->data.scalar.value, yn->data.scalar.length);
        n->scalar[yn->data.scalar.length] = '\0';
        n->quoted = yn->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    yn->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        break;
    case YAML_SEQUENCE_NODE: {
        n = new_node(BR_Y_SEQ, file, line, col, err);
        if (!n) return BR_ERR_NOMEM;
        size_t count = (size_t)(yn->data.sequence.items.top - yn->data.sequence.items.start);
        n->items = br_calloc(count, sizeof *n->items, err);
        if (!n->items) goto nomem;
        for (size_t i = 0; i < count; i++) {
            yaml_node_t *child = yaml_document_get_node(doc, yn->data.sequence.items.start[i]);
            br_status st = convert(doc, child, file, depth + 1, budget, &n->items[i], err);
            if (st != BR_OK) {
                br_ynode_free(n);
                return st;
            }
            n->n = i + 1;
        }
        break;
    }
    case YAML_MAPPING_NODE: {
        n = new_node(BR_Y_MAP, file, line, col, err);
        if (!n) return BR_ERR_NOMEM;
        size_t count = (size_t)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
        n->items = br_calloc(count, sizeof *n->items, err);
        n->keys = br_calloc(count, sizeof *n->keys, err);
        if (!n->items || !n->keys) goto nomem;
        for (size_t i = 0; i < count; i++) {
            yaml_node_pair_t *pair = &yn->data.mapping.pairs.start[i];
            yaml_node_t *k = yaml_document_get_node(doc, pair->key);
            yaml_node_t *v = yaml_document_get_node(doc, pair->value);
            if (k->type != YAML_SCALAR_NODE) {
                br_ynode_free(n);
                return BR_FAIL(err, BR_ERR_PARSE, "%s:%d:%d: mapping keys must be plain scalars", file,
                               (int)k->start_mark.line + 1, (int)k->start_mark.column + 1);
            }
            br_status st = convert(doc, k, file, depth + 1, budget, &n->keys[i], err);
            if (st == BR_OK) st = convert(doc, v, file, depth + 1, budget, &n->items[i], err);
            if (st != BR_OK) {
                n->n = i + 1;
                br_ynode_free(n);
                return st;
            }
            n->n = i + 1;
        }
        size_t first = 0;
        const long dup = duplicate_key(n->keys, n->n, &first, err);
        if (dup != -1) {
            br_status st = dup == -2 ? BR_ERR_NOMEM
                                     : br_yfail(err, BR_ERR_PARSE, n->keys[dup], "duplicate key '%s' (first at line %d)",
                                                n->keys[dup]->scalar, n->keys[first]->line);
            br_ynode_free(n);
            return st;
        }
        break;
    }
    default:
        return BR_FAIL(err, BR_ERR_PARSE, "%s:%d:%d: empty YAML node", file, line, col);
    }
    *out = n;
    return BR_OK;
nomem:
    br_ynode_free(n);
    return BR_ERR_NOMEM;
}

br_status br_yaml_load_text(const char *text, size_t len, const char *name, br_ynode **out,
                            br_error *err) {
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return BR_FAIL(err, BR_ERR_NOMEM, "cannot initialise libyaml");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        br_status st = BR_FAIL(err, BR_ERR_PARSE, "%s:%d:%d: YAML syntax error: %s%s%s", name,
                               (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1,
                               parser.problem ? parser.problem : "unknown problem",
                               parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return st;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    br_status st;
    if (!root) st = BR_FAIL(err, BR_ERR_PARSE, "%s: the document is empty", name);
    else {
        long budget = MAX_NODES;
        st = convert(&doc, root, name, 0, &budget, out, err);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return st;
}

br_status br_yaml_load_file(const char *path, br_ynode **out, br_error *err) {
    char *text = NULL;
    size_t len = 0;
    BR_TRY(br_read_file(path, &text, &len, err));
    br_status st = br_yaml_load_text(text, len, path, out, err);
    free(text);
    return st;
}

br_status br_ynode_clone(const br_ynode *node, br_ynode **out, br_error *err) {
    br_ynode *n = new_node(node->kind, node->file, node->line, node->col, err);
    if (!n) return BR_ERR_NOMEM;
    n->quoted = node->quoted;
    if (node->scalar && !(n->scalar = br_strdup(node->scalar, err))) goto nomem;
    if (node->n) {
        n->items = br_calloc(node->n, sizeof *n->items, err);
        if (!n->items) goto nomem;
        if (node->keys && !(n->keys = br_calloc(node->n, sizeof *n->keys, err))) goto nomem;
        for (size_t i = 0; i < node->n; i++) {
            n->n = i + 1;
            if (br_ynode_clone(node->items[i], &n->items[i], err) != BR_OK) goto nomem;
            if (node->keys && br_ynode_clone(node->keys[i], &n->keys[i], err) != BR_OK) goto nomem;
        }
    }
    *out = n;
    return BR_OK;
nomem:
    br_ynode_free(n);
    return BR_ERR_NOMEM;
}

int br_ymap_index(const br_ynode *map, const char *key) {
    if (!map || map->kind != BR_Y_MAP) return -1;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->scalar, key) == 0) return (int)i;
    return -1;
}

br_ynode *br_ymap_get(const br_ynode *map, const char *key) {
    int i = br_ymap_index(map, key);
    return i < 0 ? NULL : map->items[i];
}

void br_ymap_remove(br_ynode *map, const char *key) {
    int i = br_ymap_index(map, key);
    if (i < 0) return;
    br_ynode_free(map->items[i]);
    br_ynode_free(map->keys[i]);
    memmove(&map->items[i], &map->items[i + 1], (map->n - (size_t)i - 1) * sizeof *map->items);
    memmove(&map->keys[i], &map->keys[i + 1], (map->n - (size_t)i - 1) * sizeof *map->keys);
    map->n--;
}

static br_status append_pair(br_ynode *map, br_ynode *key, br_ynode *value, br_error *err) {
    br_ynode **items = realloc(map->items, (map->n + 1) * sizeof *items);
    if (!items) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory merging YAML");
    map->items = items;
    br_ynode **keys = realloc(map->keys, (map->n + 1) * sizeof *keys);
    if (!keys) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory merging YAML");
    map->keys = keys;
    map->items[map->n] = value;
    map->keys[map->n] = key;
    map->n++;
    return BR_OK;
}

br_status br_ymerge(br_ynode *base, br_ynode *over, br_error *err) {
    br_status st = BR_OK;
    for (size_t i = 0; i < over->n; i++) {
        br_ynode *key = over->keys[i], *value = over->items[i];
        over->keys[i] = over->items[i] = NULL;
        int j = br_ymap_index(base, key->scalar);
        if (st != BR_OK) {
            br_ynode_free(key);
            br_ynode_free(value);
        } else if (j >= 0 && base->items[j]->kind == BR_Y_MAP && value->kind == BR_Y_MAP) {
            st = br_ymerge(base->items[j], value, err);
            br_ynode_free(key);
        } else if (j >= 0) {
            br_ynode_free(base->items[j]);
            base->items[j] = value;
            br_ynode_free(key);
        } else {
            st = append_pair(base, key, value, err);
            if (st != BR_OK) {
                br_ynode_free(key);
                br_ynode_free(value);
            }
        }
    }
    br_ynode_free(over);
    return st;
}
