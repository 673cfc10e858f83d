/*
 * spec_read.c - YAML text -> br_spec: `extends:` merging, model settings,
 * blocks, symbols, the layer pattern with repeats, overrides and drops.
 *
 * Layer items (in `layers:`, `symbols:` and `overrides:`):
 *   "name"                 a symbol, or a block used as a one-unit layer
 *   [unit, unit, ...]      the units of one layer
 *   {repeat: N, layers: [...]}   N copies of a list of layer items
 *   {pattern: "MM*-", repeat: N} one layer per character, each a symbol
 * Units: "block" or {block: b | parallel: [a, b], norm, input, combine,
 * adapters: {rank, targets}}, or, in overrides, {from: [layer, unit]}: that
 * unit of the expanded list (before any override) with the tensors it binds.
 * Semantic checks that need the whole spec live in spec_check.c.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "graph/spec_internal.h"
#include "layers/layer.h"

#define MAX_EXTENDS_DEPTH 8
#define MAX_LAYERS 100000

static const char *const top_keys[] = {"extends", "name", "model", "blocks", "symbols",
                                       "layers", "overrides", "drop", NULL};
static const char *const model_keys[] = {"d_model", "vocab_size", "tie_embeddings", "embedding_scale",
                                         "logit_scale", "residual_scale", "context", "norm", "final_norm",
                                         NULL};
static const char *const block_generic_keys[] = {"type", "shared", "in_scale", "out_scale", NULL};
static const char *const unit_keys[] = {"block", "parallel", "norm", "input", "combine", "adapters", "from", NULL};
static const char *const input_names[] = {"stream", "concat_embedding", "previous", NULL};
static const char *const combine_names[] = {"residual", "pass", "inject", NULL};

/* ---- small helpers -------------------------------------------------------------------------- */

static br_status check_keys(const br_ynode *map, const char *const *allowed, const char *what, br_error *err) {
    if (map->kind != BR_Y_MAP)
        return br_yfail(err, BR_ERR_SPEC, map, "%s: expected a mapping, found a %s", what, br_ykind_name(map->kind));
    for (size_t i = 0; i < map->n; i++) {
        const char *key = map->keys[i]->scalar;
        int ok = 0;
        for (int a = 0; allowed[a]; a++) ok |= strcmp(allowed[a], key) == 0;
        if (ok) continue;
        const char *hint = br_closest_word(key, allowed);
        if (hint)
            return br_yfail(err, BR_ERR_SPEC, map->keys[i], "%s: unknown key '%s' (did you mean '%s'?)", what, key,
                            hint);
        return br_yfail(err, BR_ERR_SPEC, map->keys[i], "%s: unknown key '%s'", what, key);
    }
    return BR_OK;
}

static void set_mark(br_mark *m, const br_ynode *node) {
    snprintf(m->file, sizeof m->file, "%s", node->file);
    m->line = node->line;
    m->col = node->col;
}

static br_status read_name(const br_ynode *node, const char *what, char *out, br_error *err) {
    if (node->kind != BR_Y_SCALAR || node->scalar[0] == '\0')
        return br_yfail(err, BR_ERR_SPEC, node, "%s: expected a name, found a %s", what, br_ykind_name(node->kind));
    if (strlen(node->scalar) >= BR_NAME_MAX)
        return br_yfail(err, BR_ERR_SPEC, node, "%s: name '%s' is longer than %d characters", what, node->scalar,
                        BR_NAME_MAX - 1);
    snprintf(out, BR_NAME_MAX, "%s", node->scalar);
    return BR_OK;
}

static br_status read_int(const br_ynode *node, const char *what, long long min, long long max, int *out,
                          br_error *err) {
    long long v;
    BR_TRY(br_yscalar_int(node, what, min, max, &v, err));
    *out = (int)v;
    return BR_OK;
}

static br_status read_enum(const br_ynode *node, const char *what, const char *const *names, int *out,
                           br_error *err) {
    if (node->kind == BR_Y_SCALAR)
        for (int i = 0; names[i]; i++)
            if (strcmp(node->scalar, names[i]) == 0) return *out = i, BR_OK;
    char all[256] = "";
    for (int i = 0; names[i]; i++) {
        size_t n = strlen(all);
        snprintf(all + n, sizeof all - n, "%s%s", i ? ", " : "", names[i]);
    }
    return br_yfail(err, BR_ERR_SPEC, node, "%s: expected one of [%s], found '%s'", what, all,
                    node->kind == BR_Y_SCALAR ? node->scalar : br_ykind_name(node->kind));
}

/* ---- norms ---------------------------------------------------------------------------------- */

static const char *const norm_kind_names[] = {"none", "rmsnorm", "layernorm", NULL};
static const char *const norm_keys[] = {"type", "eps", "bias", "unit_offset", NULL};

const char *br_norm_kind_name(br_norm_kind kind) { return norm_kind_names[kind]; }

br_status br_norm_parse(const br_ynode *node, const br_norm_def *fallback, const char *what, br_norm_def *out,
                        br_error *err) {
    br_norm_def n = fallback ? *fallback : (br_norm_def){BR_NORM_RMS, 1e-5, 0, 0};
    if (br_yscalar_is_none(node)) {
        n.kind = BR_NORM_NONE;
    } else if (node->kind == BR_Y_SCALAR) {
        int k;
        BR_TRY(read_enum(node, what, norm_kind_names, &k, err));
        n.kind = (br_norm_kind)k;
    } else {
        BR_TRY(check_keys(node, norm_keys, what, err));
        const br_ynode *v;
        if ((v = br_ymap_get(node, "type"))) {
            int k;
            BR_TRY(read_enum(v, what, norm_kind_names, &k, err));
            n.kind = (br_norm_kind)k;
        }
        if ((v = br_ymap_get(node, "eps"))) {
            BR_TRY(br_yscalar_float(v, what, &n.eps, err));
            if (!(n.eps > 0 && n.eps < 1))
                return br_yfail(err, BR_ERR_SPEC, v, "%s: eps must lie in (0, 1), found %g", what, n.eps);
        }
        if ((v = br_ymap_get(node, "bias"))) BR_TRY(br_yscalar_bool(v, what, &n.bias, err));
        if ((v = br_ymap_get(node, "unit_offset"))) BR_TRY(br_yscalar_bool(v, what, &n.unit_offset, err));
    }
    if (n.kind == BR_NORM_RMS) n.bias = 0;
    *out = n;
    return BR_OK;
}

void br_norm_emit(const br_norm_def *norm, FILE *out) {
    if (norm->kind == BR_NORM_NONE) {
        fputs("none", out);
        return;
    }
    fprintf(out, "{type: %s, eps: ", br_norm_kind_name(norm->kind));
    br_emit_double(out, norm->eps);
    if (norm->bias) fputs(", bias: true", out);
    if (norm->unit_offset) fputs(", unit_offset: true", out);
    fputc('}', out);
}

/* ---- model settings ------------------------------------------------------------------------- */

static br_status read_model(br_spec *spec, const br_ynode *m, br_error *err) {
    BR_TRY(check_keys(m, model_keys, "model", err));
    const br_ynode *v;
    if (!(v = br_ymap_get(m, "d_model"))) return br_yfail(err, BR_ERR_SPEC, m, "model: 'd_model' is required");
    BR_TRY(read_int(v, "model: 'd_model'", 1, 1 << 20, &spec->d_model, err));
    if (!(v = br_ymap_get(m, "vocab_size")))
        return br_yfail(err, BR_ERR_SPEC, m, "model: 'vocab_size' is required");
    BR_TRY(read_int(v, "model: 'vocab_size'", 1, 1 << 24, &spec->vocab_size, err));
    if ((v = br_ymap_get(m, "tie_embeddings"))) BR_TRY(br_yscalar_bool(v, "model: 'tie_embeddings'", &spec->tie_embeddings, err));
    if ((v = br_ymap_get(m, "embedding_scale"))) BR_TRY(br_yscalar_float(v, "model: 'embedding_scale'", &spec->embedding_scale, err));
    if ((v = br_ymap_get(m, "logit_scale"))) BR_TRY(br_yscalar_float(v, "model: 'logit_scale'", &spec->logit_scale, err));
    if ((v = br_ymap_get(m, "residual_scale"))) BR_TRY(br_yscalar_float(v, "model: 'residual_scale'", &spec->residual_scale, err));
    if ((v = br_ymap_get(m, "context"))) BR_TRY(read_int(v, "model: 'context'", 1, 1 << 30, &spec->context, err));
    if ((v = br_ymap_get(m, "norm"))) BR_TRY(br_norm_parse(v, NULL, "model: 'norm'", &spec->norm, err));
    spec->final_norm = spec->norm;
    if ((v = br_ymap_get(m, "final_norm")))
        BR_TRY(br_norm_parse(v, &spec->norm, "model: 'final_norm'", &spec->final_norm, err));
    return BR_OK;
}

/* ---- blocks --------------------------------------------------------------------------------- */

static br_status read_block(br_block_def *b, const br_ynode *key, const br_ynode *node, br_error *err) {
    char what[128];
    BR_TRY(read_name(key, "blocks", b->name, err));
    if (strcmp(b->name, "norm") == 0 || strcmp(b->name, "adapters") == 0 || strchr(b->name, '.'))
        return br_yfail(err, BR_ERR_SPEC, key, "blocks: '%s' is reserved (names may not be 'norm' or 'adapters', "
                        "nor contain '.')", b->name);
    snprintf(what, sizeof what, "block '%s'", b->name);
    set_mark(&b->mark, key);
    b->in_scale = b->out_scale = 1.0;
    if (node->kind != BR_Y_MAP)
        return br_yfail(err, BR_ERR_SPEC, node, "%s: expected a mapping with a 'type', found a %s", what,
                        br_ykind_name(node->kind));
    const br_ynode *t = br_ymap_get(node, "type");
    if (!t) return br_yfail(err, BR_ERR_SPEC, node, "%s: 'type' is required", what);
    if (t->kind != BR_Y_SCALAR) return br_yfail(err, BR_ERR_SPEC, t, "%s: 'type' must be a name", what);
    b->type = br_layer_type_find(t->scalar);
    if (!b->type) {
        const char *const *names = br_layer_type_names();
        char all[512] = "";
        for (int i = 0; names[i]; i++) {
            size_t n = strlen(all);
            snprintf(all + n, sizeof all - n, "%s%s", i ? ", " : "", names[i]);
        }
        const char *hint = br_closest_word(t->scalar, names);
        if (hint)
            return br_yfail(err, BR_ERR_SPEC, t, "%s: unknown block type '%s' (did you mean '%s'? known: %s)", what,
                            t->scalar, hint, all);
        return br_yfail(err, BR_ERR_SPEC, t, "%s: unknown block type '%s' (known: %s)", what, t->scalar, all);
    }
    const br_ynode *v;
    if ((v = br_ymap_get(node, "shared"))) BR_TRY(br_yscalar_bool(v, what, &b->shared, err));
    if ((v = br_ymap_get(node, "in_scale"))) BR_TRY(br_yscalar_float(v, what, &b->in_scale, err));
    if ((v = br_ymap_get(node, "out_scale"))) BR_TRY(br_yscalar_float(v, what, &b->out_scale, err));
    b->cfg = br_calloc(1, b->type->cfg_size, err);
    if (!b->cfg) return BR_ERR_NOMEM;
    br_fields_defaults(b->type->fields, b->cfg);
    return br_fields_parse(b->type->fields, node, block_generic_keys, what, b->cfg, err);
}

static br_status read_blocks(br_spec *spec, const br_ynode *m, br_error *err) {
    if (m->kind != BR_Y_MAP)
        return br_yfail(err, BR_ERR_SPEC, m, "blocks: expected a mapping of name -> block, found a %s",
                        br_ykind_name(m->kind));
    spec->blocks = br_calloc(m->n, sizeof *spec->blocks, err);
    if (!spec->blocks) return BR_ERR_NOMEM;
    for (size_t i = 0; i < m->n; i++) {
        spec->n_blocks = (int)i + 1;
        BR_TRY(read_block(&spec->blocks[i], m->keys[i], m->items[i], err));
    }
    return BR_OK;
}

int br_spec_block_index(const br_spec *spec, const char *name) {
    for (int i = 0; i < spec->n_blocks; i++)
        if (strcmp(spec->blocks[i].name, name) == 0) return i;
    return -1;
}

static br_status block_ref(const br_spec *spec, const br_ynode *node, const char *what, int *out, br_error *err) {
    if (node->kind != BR_Y_SCALAR)
        return br_yfail(err, BR_ERR_SPEC, node, "%s: expected a block name, found a %s", what,
                        br_ykind_name(node->kind));
    int i = br_spec_block_index(spec, node->scalar);
    if (i >= 0) return *out = i, BR_OK;
    const char *names[257];
    int n = 0;
    for (int b = 0; b < spec->n_blocks && n < 256; b++) names[n++] = spec->blocks[b].name;
    names[n] = NULL;
    const char *hint = br_closest_word(node->scalar, names);
    if (hint)
        return br_yfail(err, BR_ERR_SPEC, node, "%s: '%s' is not a defined block (did you mean '%s'?)", what,
                        node->scalar, hint);
    return br_yfail(err, BR_ERR_SPEC, node, "%s: '%s' is not a defined block or symbol", what, node->scalar);
}

/* ---- units and layers ----------------------------------------------------------------------- */

typedef struct layer_list {
    br_layer_def *items;
    int n, cap;
} layer_list;

static br_status read_adapters(const br_ynode *node, const char *what, br_adapter_def *a, br_error *err) {
    static const char *const keys[] = {"rank", "targets", NULL};
    BR_TRY(check_keys(node, keys, what, err));
    const br_ynode *r = br_ymap_get(node, "rank"), *t = br_ymap_get(node, "targets");
    if (!r || !t) return br_yfail(err, BR_ERR_SPEC, node, "%s: adapters need 'rank' and 'targets'", what);
    BR_TRY(read_int(r, what, 1, 1 << 16, &a->rank, err));
    if (t->kind != BR_Y_SEQ || t->n == 0 || t->n > BR_MAX_ADAPTER_TARGETS)
        return br_yfail(err, BR_ERR_SPEC, t, "%s: 'targets' must list 1 to %d linear names", what,
                        BR_MAX_ADAPTER_TARGETS);
    a->n_targets = (int)t->n;
    for (size_t i = 0; i < t->n; i++) BR_TRY(read_name(t->items[i], what, a->targets[i], err));
    return BR_OK;
}

/* {from: [layer, unit]}: a copy of that unit of `src` (the list `layers:` expanded to), which binds the same
 * tensors; only overrides have a source list. */
static br_status read_from(const br_ynode *node, const br_ynode *from, const layer_list *src, br_unit_def *u,
                           br_error *err) {
    if (!src)
        return br_yfail(err, BR_ERR_SPEC, from, "unit 'from' is allowed only in 'overrides' (it names a layer of the "
                        "expanded list)");
    if (node->n != 1)
        return br_yfail(err, BR_ERR_SPEC, node, "unit 'from' stands alone: the unit it names brings its block, norm "
                        "and flow; found %zu keys", node->n);
    if (from->kind != BR_Y_SEQ)
        return br_yfail(err, BR_ERR_SPEC, from, "unit 'from': expected [layer, unit], found a %s",
                        br_ykind_name(from->kind));
    if (from->n != 2)
        return br_yfail(err, BR_ERR_SPEC, from, "unit 'from': expected [layer, unit], found %zu items", from->n);
    int layer, unit;
    BR_TRY(read_int(from->items[0], "unit 'from': layer index", 0, src->n - 1, &layer, err));
    BR_TRY(read_int(from->items[1], "unit 'from': unit index", 0, BR_MAX_UNITS - 1, &unit, err));
    const br_layer_def *L = &src->items[layer];
    if (unit >= L->n_units)
        return br_yfail(err, BR_ERR_SPEC, from->items[1], "unit 'from': layer %d ('%s') has %d unit%s, so no unit %d",
                        layer, L->symbol, L->n_units, L->n_units == 1 ? "" : "s", unit);
    *u = L->units[unit];
    return BR_OK;
}

static br_status read_unit(const br_spec *spec, const br_ynode *node, const layer_list *src, br_unit_def *u,
                           br_error *err) {
    memset(u, 0, sizeof *u);
    u->norm = spec->norm;
    u->origin = -1; /* its own place, set when the layer is placed */
    if (node->kind == BR_Y_SCALAR) {
        u->n_blocks = 1;
        return block_ref(spec, node, "unit", &u->blocks[0], err);
    }
    BR_TRY(check_keys(node, unit_keys, "unit", err));
    const br_ynode *b = br_ymap_get(node, "block"), *p = br_ymap_get(node, "parallel"), *v;
    if ((v = br_ymap_get(node, "from"))) return read_from(node, v, src, u, err);
    if ((b != NULL) == (p != NULL))
        return br_yfail(err, BR_ERR_SPEC, node, "unit: give exactly one of 'block' or 'parallel'");
    if (b) {
        u->n_blocks = 1;
        BR_TRY(block_ref(spec, b, "unit 'block'", &u->blocks[0], err));
    } else {
        if (p->kind != BR_Y_SEQ || p->n < 1 || p->n > BR_MAX_PARALLEL)
            return br_yfail(err, BR_ERR_SPEC, p, "unit 'parallel': expected a list of 1 to %d block names",
                            BR_MAX_PARALLEL);
        u->n_blocks = (int)p->n;
        for (size_t i = 0; i < p->n; i++) BR_TRY(block_ref(spec, p->items[i], "unit 'parallel'", &u->blocks[i], err));
    }
    if ((v = br_ymap_get(node, "norm"))) BR_TRY(br_norm_parse(v, &spec->norm, "unit 'norm'", &u->norm, err));
    int e;
    if ((v = br_ymap_get(node, "input"))) {
        BR_TRY(read_enum(v, "unit 'input'", input_names, &e, err));
        u->input = (br_unit_input)e;
    }
    if ((v = br_ymap_get(node, "combine"))) {
        BR_TRY(read_enum(v, "unit 'combine'", combine_names, &e, err));
        u->combine = (br_unit_combine)e;
    }
    if ((v = br_ymap_get(node, "adapters"))) BR_TRY(read_adapters(v, "unit 'adapters'", &u->adapters, err));
    return BR_OK;
}

/* Puts a layer at index idx of the expanded list: its units bind the tensors of that place, except those an
 * override took with `from:`, which keep their own. */
static void place_layer(br_layer_def *d, int idx) {
    d->origin = idx;
    for (int u = 0; u < d->n_units; u++)
        if (d->units[u].origin < 0) d->units[u].origin = idx, d->units[u].origin_unit = u;
}

static br_status push_layer(layer_list *l, const br_layer_def *d, const br_ynode *where, br_error *err) {
    if (l->n >= MAX_LAYERS) return br_yfail(err, BR_ERR_SPEC, where, "more than %d layers", MAX_LAYERS);
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        br_layer_def *p = realloc(l->items, (size_t)cap * sizeof *p);
        if (!p) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory expanding layers");
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n] = *d;
    place_layer(&l->items[l->n], l->n);
    l->n++;
    return BR_OK;
}

/* Reads one layer (not a repeat): a symbol or block name, or a list of units.  src: the expanded list that
 * units may take `from:` (overrides only), else NULL. */
static br_status read_layer(const br_spec *spec, const br_ynode *symbols, const layer_list *src, const br_ynode *node,
                            int depth, br_layer_def *out, br_error *err) {
    memset(out, 0, sizeof *out);
    if (depth > 8) return br_yfail(err, BR_ERR_SPEC, node, "symbols refer to each other too deeply");
    if (node->kind == BR_Y_SCALAR) {
        const br_ynode *sym = br_ymap_get(symbols, node->scalar);
        if (sym) {
            BR_TRY(read_layer(spec, symbols, src, sym, depth + 1, out, err));
            snprintf(out->symbol, sizeof out->symbol, "%s", node->scalar);
            return BR_OK;
        }
        out->n_units = 1;
        snprintf(out->symbol, sizeof out->symbol, "%s", node->scalar);
        BR_TRY(read_unit(spec, node, src, &out->units[0], err));
        return BR_OK;
    }
    if (node->kind == BR_Y_MAP) { /* a single unit written as a mapping */
        out->n_units = 1;
        BR_TRY(read_unit(spec, node, src, &out->units[0], err));
        snprintf(out->symbol, sizeof out->symbol, "%s", spec->blocks[out->units[0].blocks[0]].name);
        return BR_OK;
    }
    if (node->n < 1 || node->n > BR_MAX_UNITS)
        return br_yfail(err, BR_ERR_SPEC, node, "a layer must have 1 to %d units, found %zu", BR_MAX_UNITS, node->n);
    out->n_units = (int)node->n;
    for (size_t i = 0; i < node->n; i++) BR_TRY(read_unit(spec, node->items[i], src, &out->units[i], err));
    size_t len = 0;
    for (int i = 0; i < out->n_units && len + 1 < sizeof out->symbol; i++) {
        const br_unit_def *u = &out->units[i];
        len += (size_t)snprintf(out->symbol + len, sizeof out->symbol - len, "%s%s", i ? "+" : "",
                                spec->blocks[u->blocks[0]].name);
        if (len >= sizeof out->symbol) len = sizeof out->symbol - 1;
    }
    return BR_OK;
}

static br_status expand_items(const br_spec *spec, const br_ynode *symbols, const br_ynode *items, int depth,
                              layer_list *l, br_error *err);

static br_status expand_pattern(const br_spec *spec, const br_ynode *symbols, const br_ynode *pat, int repeat,
                                layer_list *l, br_error *err) {
    if (pat->kind != BR_Y_SCALAR || pat->scalar[0] == '\0')
        return br_yfail(err, BR_ERR_SPEC, pat, "'pattern' must be a non-empty string of symbol characters");
    for (int r = 0; r < repeat; r++) {
        for (const char *c = pat->scalar; *c; c++) {
            if (*c == ' ' || *c == '|') continue; /* visual separators */
            char key[2] = {*c, 0};
            const br_ynode *sym = br_ymap_get(symbols, key);
            if (!sym)
                return br_yfail(err, BR_ERR_SPEC, pat,
                                "pattern character '%c' (position %ld) is not a defined symbol; define it under 'symbols:'",
                                *c, (long)(c - pat->scalar));
            br_layer_def d;
            BR_TRY(read_layer(spec, symbols, NULL, sym, 1, &d, err));
            snprintf(d.symbol, sizeof d.symbol, "%s", key);
            BR_TRY(push_layer(l, &d, pat, err));
        }
    }
    return BR_OK;
}

static br_status expand_item(const br_spec *spec, const br_ynode *symbols, const br_ynode *it, int depth,
                             layer_list *l, br_error *err) {
    if (depth > 16) return br_yfail(err, BR_ERR_SPEC, it, "repeats nested too deeply");
    if (it->kind == BR_Y_MAP && (br_ymap_get(it, "repeat") || br_ymap_get(it, "pattern"))) {
        static const char *const keys[] = {"repeat", "layers", "pattern", NULL};
        BR_TRY(check_keys(it, keys, "layers item", err));
        int repeat = 1;
        const br_ynode *v;
        if ((v = br_ymap_get(it, "repeat"))) BR_TRY(read_int(v, "'repeat'", 0, MAX_LAYERS, &repeat, err));
        const br_ynode *pat = br_ymap_get(it, "pattern"), *sub = br_ymap_get(it, "layers");
        if ((pat != NULL) == (sub != NULL))
            return br_yfail(err, BR_ERR_SPEC, it, "a repeat needs exactly one of 'layers' or 'pattern'");
        if (pat) return expand_pattern(spec, symbols, pat, repeat, l, err);
        for (int r = 0; r < repeat; r++) BR_TRY(expand_items(spec, symbols, sub, depth + 1, l, err));
        return BR_OK;
    }
    br_layer_def d;
    BR_TRY(read_layer(spec, symbols, NULL, it, 0, &d, err));
    return push_layer(l, &d, it, err);
}

static br_status expand_items(const br_spec *spec, const br_ynode *symbols, const br_ynode *items, int depth,
                              layer_list *l, br_error *err) {
    if (items->kind == BR_Y_SCALAR) return expand_pattern(spec, symbols, items, 1, l, err);
    if (items->kind != BR_Y_SEQ)
        return br_yfail(err, BR_ERR_SPEC, items, "'layers' must be a list of layers or a pattern string");
    for (size_t i = 0; i < items->n; i++) BR_TRY(expand_item(spec, symbols, items->items[i], depth, l, err));
    return BR_OK;
}

static br_status apply_overrides(br_spec *spec, const br_ynode *symbols, const br_ynode *ov, layer_list *l,
                                 br_error *err) {
    if (ov->kind != BR_Y_MAP)
        return br_yfail(err, BR_ERR_SPEC, ov, "'overrides' must map layer indices to layers");
    /* read every override first, so that `from:` names the list as `layers:` expanded it, in any order */
    br_layer_def *got = br_calloc(ov->n ? ov->n : 1, sizeof *got, err);
    int *at = br_calloc(ov->n ? ov->n : 1, sizeof *at, err);
    br_status st = got && at ? BR_OK : BR_ERR_NOMEM;
    for (size_t i = 0; i < ov->n && st == BR_OK; i++) {
        st = read_int(ov->keys[i], "overrides: layer index", 0, l->n - 1, &at[i], err);
        if (st == BR_OK) st = read_layer(spec, symbols, l, ov->items[i], 0, &got[i], err);
    }
    for (size_t i = 0; i < ov->n && st == BR_OK; i++) {
        l->items[at[i]] = got[i];
        place_layer(&l->items[at[i]], at[i]);
    }
    free(got);
    free(at);
    return st;
}

static br_status apply_drops(const br_ynode *drop, layer_list *l, br_error *err) {
    if (drop->kind != BR_Y_SEQ) return br_yfail(err, BR_ERR_SPEC, drop, "'drop' must be a list of layer indices");
    char *gone = br_calloc((size_t)l->n, 1, err);
    if (!gone) return BR_ERR_NOMEM;
    br_status st = BR_OK;
    for (size_t i = 0; i < drop->n && st == BR_OK; i++) {
        int idx;
        st = read_int(drop->items[i], "drop: layer index", 0, l->n - 1, &idx, err);
        if (st == BR_OK) gone[idx] = 1;
    }
    int w = 0;
    for (int r = 0; r < l->n && st == BR_OK; r++)
        if (!gone[r]) l->items[w++] = l->items[r];
    if (st == BR_OK) l->n = w;
    free(gone);
    return st;
}

static br_status read_layers(br_spec *spec, const br_ynode *root, br_error *err) {
    const br_ynode *symbols = br_ymap_get(root, "symbols");
    const br_ynode *layers = br_ymap_get(root, "layers"), *v;
    if (symbols && symbols->kind != BR_Y_MAP)
        return br_yfail(err, BR_ERR_SPEC, symbols, "'symbols' must map names to layers");
    for (size_t i = 0; symbols && i < symbols->n; i++)
        if (br_spec_block_index(spec, symbols->keys[i]->scalar) >= 0)
            return br_yfail(err, BR_ERR_SPEC, symbols->keys[i], "symbol '%s' has the name of a block",
                            symbols->keys[i]->scalar);
    if (!layers) return br_yfail(err, BR_ERR_SPEC, root, "'layers' is required");
    layer_list l = {0};
    br_status st = expand_items(spec, symbols, layers, 0, &l, err);
    if (st == BR_OK && (v = br_ymap_get(root, "overrides"))) st = apply_overrides(spec, symbols, v, &l, err);
    if (st == BR_OK && (v = br_ymap_get(root, "drop"))) st = apply_drops(v, &l, err);
    if (st == BR_OK && l.n == 0) st = br_yfail(err, BR_ERR_SPEC, layers, "the spec has no layers");
    if (st != BR_OK) {
        free(l.items);
        return st;
    }
    spec->layers = l.items;
    spec->n_layers = l.n;
    return BR_OK;
}

/* ---- documents and extends ------------------------------------------------------------------ */

static br_status load_tree(const char *path, int depth, br_ynode **out, br_error *err);

/* Resolves `extends:` of an already-loaded tree: base first, this file over it. */
static br_status resolve_extends(br_ynode *tree, const char *path, int depth, br_ynode **out, br_error *err) {
    if (tree->kind != BR_Y_MAP) {
        br_status st = br_yfail(err, BR_ERR_SPEC, tree, "a spec must be a mapping at the top level");
        br_ynode_free(tree);
        return st;
    }
    const br_ynode *ext = br_ymap_get(tree, "extends");
    if (!ext) {
        *out = tree;
        return BR_OK;
    }
    if (ext->kind != BR_Y_SCALAR || depth >= MAX_EXTENDS_DEPTH) {
        br_status st = br_yfail(err, BR_ERR_SPEC, ext,
                                depth >= MAX_EXTENDS_DEPTH ? "'extends' chain deeper than 8 (a cycle?)"
                                                           : "'extends' must be a file path");
        br_ynode_free(tree);
        return st;
    }
    char base_path[4096];
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (ext->scalar[0] == '/' || !slash) snprintf(base_path, sizeof base_path, "%s", ext->scalar);
    else snprintf(base_path, sizeof base_path, "%.*s/%s", (int)(slash - path), path, ext->scalar);
    br_ynode *base = NULL;
    br_status st = load_tree(base_path, depth + 1, &base, err);
    if (st != BR_OK) {
        br_error_prefix(err, "%s:%d:%d: in 'extends'", ext->file, ext->line, ext->col);
        br_ynode_free(tree);
        return st;
    }
    br_ymap_remove(tree, "extends");
    br_ymap_remove(base, "name"); /* the name is never inherited */
    st = br_ymerge(base, tree, err);
    if (st != BR_OK) {
        br_ynode_free(base);
        return st;
    }
    *out = base;
    return BR_OK;
}

static br_status load_tree(const char *path, int depth, br_ynode **out, br_error *err) {
    br_ynode *tree = NULL;
    BR_TRY(br_yaml_load_file(path, &tree, err));
    return resolve_extends(tree, path, depth, out, err);
}

static br_status build(br_ynode *root, const char *path, br_spec **out, br_error *err) {
    br_spec *spec = br_calloc(1, sizeof *spec, err);
    if (!spec) return BR_ERR_NOMEM;
    spec->embedding_scale = spec->logit_scale = spec->residual_scale = 1.0;
    spec->context = 4096;
    spec->norm = (br_norm_def){BR_NORM_RMS, 1e-5, 0, 0};
    spec->final_norm = spec->norm;
    br_status st = check_keys(root, top_keys, "spec", err);
    const br_ynode *v;
    if (st == BR_OK && path && !(spec->path = br_strdup(path, err))) st = BR_ERR_NOMEM;
    if (st == BR_OK && (v = br_ymap_get(root, "name"))) st = read_name(v, "'name'", spec->name, err);
    if (st == BR_OK) {
        if ((v = br_ymap_get(root, "model"))) st = read_model(spec, v, err);
        else st = br_yfail(err, BR_ERR_SPEC, root, "'model' is required (d_model, vocab_size, ...)");
    }
    if (st == BR_OK) {
        if ((v = br_ymap_get(root, "blocks"))) st = read_blocks(spec, v, err);
        else st = br_yfail(err, BR_ERR_SPEC, root, "'blocks' is required");
    }
    if (st == BR_OK) st = read_layers(spec, root, err);
    if (st == BR_OK) st = br_spec_check(spec, err);
    if (st != BR_OK) {
        br_spec_free(spec);
        return st;
    }
    if (!spec->name[0] && path) { /* default name: the file's base name */
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        const char *ext = strrchr(base, '.'); /* strip only the extension: jamba-v0.1.yaml -> jamba-v0.1 */
        snprintf(spec->name, sizeof spec->name, "%.*s", (int)(ext && ext != base ? ext - base : (long)strlen(base)), base);
    }
    *out = spec;
    return BR_OK;
}

br_status br_spec_load(const char *path, br_spec **out, br_error *err) {
    if (!path || !out) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_spec_load: NULL argument");
    br_ynode *root = NULL;
    BR_TRY(load_tree(path, 0, &root, err));
    br_status st = build(root, path, out, err);
    br_ynode_free(root);
    return st;
}

br_status br_spec_parse(const char *text, size_t len, const char *name, br_spec **out, br_error *err) {
    if (!text || !out) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_spec_parse: NULL argument");
    br_ynode *tree = NULL;
    BR_TRY(br_yaml_load_text(text, len, name ? name : "<spec>", &tree, err));
    br_ynode *root = NULL;
    BR_TRY(resolve_extends(tree, NULL, 0, &root, err));
    br_status st = build(root, NULL, out, err);
    br_ynode_free(root);
    return st;
}

void br_spec_free(br_spec *spec) {
    if (!spec) return;
    for (int i = 0; i < spec->n_blocks; i++) free(spec->blocks[i].cfg);
    free(spec->blocks);
    free(spec->layers);
    free(spec->path);
    free(spec);
}
