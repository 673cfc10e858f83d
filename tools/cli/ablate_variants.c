/*
 * ablate_variants.c - the variants `braid ablate layers` derives from a
 * model's spec (the list and their meaning are in ablate.h).
 *
 * A variant is a few YAML lines over the model's spec: `drop:` for dropped
 * layers, and for unit surgery an override of the layer made of units taken
 * with `from: [layer, unit]`, which keeps each unit's own weights (its
 * tensors are named by where it came from), so no tensor is copied and none
 * is missing.  Surgery takes units that stand alone: one block that reads
 * the stream and adds to it (a parallel unit, or a link of a Zamba chain,
 * is left whole).
 */
#include <stdlib.h>
#include <string.h>

#include "ablate.h"
#include "base/error.h"
#include "base/strbuf.h"
#include "layers/layer.h"

static const char *const kind_names[AB_KIND_COUNT] = {"baseline", "drop", "drop-attention", "identity", "copy", "user"};

const char *ab_kind_name(ab_kind kind) { return kind >= 0 && kind < AB_KIND_COUNT ? kind_names[kind] : "?"; }

/* The block type of a unit that can be removed or swapped on its own (one block, reading the stream and
 * adding to it), else NULL. */
static const char *unit_type(const br_spec *spec, const br_unit_def *u) {
    const int alone = u->n_blocks == 1 && u->input == BR_INPUT_STREAM && u->combine == BR_COMBINE_RESIDUAL;
    return alone ? spec->blocks[u->blocks[0]].type->name : NULL;
}

void ab_layer_type(const br_spec *spec, const br_layer_def *layer, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (int u = 0; u < layer->n_units && len < cap; u++)
        for (int b = 0; b < layer->units[u].n_blocks && len < cap; b++)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", b ? "|" : u ? "+" : "",
                                    spec->blocks[layer->units[u].blocks[b]].type->name);
}

/* A new variant at the end of the list (zeroed but for kind and layer); NULL when out of memory. */
static ab_variant *push(ab_list *list, ab_kind kind, int layer, br_error *err) {
    if (list->n == list->cap) {
        int cap = list->cap ? 2 * list->cap : 32;
        ab_variant *v = realloc(list->v, (size_t)cap * sizeof *v);
        if (!v) {
            BR_FAIL(err, BR_ERR_NOMEM, "out of memory listing variants");
            return NULL;
        }
        list->v = v;
        list->cap = cap;
    }
    ab_variant *v = &list->v[list->n++];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    v->layer = layer;
    return v;
}

/* Takes the YAML of sb as v's edit. */
static br_status set_edit(ab_variant *v, br_strbuf *sb, br_error *err) {
    br_status st = br_strbuf_status(sb, err);
    if (st == BR_OK) v->edit = sb->data;
    else br_strbuf_free(sb);
    return st;
}

static br_status add_plain(ab_list *list, ab_kind kind, int layer, const char *name, const char *what,
                           const char *type, const char *yaml, br_error *err) {
    ab_variant *v = push(list, kind, layer, err);
    if (!v) return BR_ERR_NOMEM;
    snprintf(v->name, sizeof v->name, "%s", name);
    snprintf(v->what, sizeof v->what, "%s", what);
    snprintf(v->type, sizeof v->type, "%s", type);
    br_strbuf sb = {0};
    br_strbuf_printf(&sb, "%s", yaml);
    return set_edit(v, &sb, err);
}

/* The layer of unit u of a single-block Mamba or Mamba-2 unit nearest to layer l (the earlier on a tie), or -1. */
static int nearest_mamba(const br_spec *spec, int l, int u) {
    for (int d = 1; d < spec->n_layers; d++)
        for (int k = l - d; k <= l + d; k += 2 * d) {
            if (k < 0 || k >= spec->n_layers || u >= spec->layers[k].n_units) continue;
            const char *t = unit_type(spec, &spec->layers[k].units[u]);
            if (t && (!strcmp(t, "mamba") || !strcmp(t, "mamba2"))) return k;
        }
    return -1;
}

/* Layer l rebuilt from its own units, less unit `skip` (-1: none), with unit `swap` taken from layer `from`. */
static br_status unit_surgery(ab_list *list, const br_spec *spec, int l, int u, int from, br_error *err) {
    const br_layer_def *L = &spec->layers[l];
    const int origin = L->origin;
    ab_variant *v = push(list, from < 0 ? AB_IDENTITY : AB_COPY, origin, err);
    if (!v) return BR_ERR_NOMEM;
    if (from < 0) {
        snprintf(v->name, sizeof v->name, "attn-%d-identity", origin);
        snprintf(v->what, sizeof v->what, "%d unit %d removed", origin, u);
        snprintf(v->type, sizeof v->type, "attention");
    } else {
        snprintf(v->name, sizeof v->name, "attn-%d-from-%d", origin, spec->layers[from].origin);
        snprintf(v->what, sizeof v->what, "%d unit %d <- layer %d", origin, u, spec->layers[from].origin);
        snprintf(v->type, sizeof v->type, "attention -> %s", unit_type(spec, &spec->layers[from].units[u]));
    }
    br_strbuf sb = {0};
    br_strbuf_printf(&sb, "overrides:\n  %d: [", origin);
    const char *sep = "";
    for (int k = 0; k < L->n_units; k++) {
        if (k == u && from < 0) continue;
        br_strbuf_printf(&sb, "%s{from: [%d, %d]}", sep, k == u ? spec->layers[from].origin : origin, k);
        sep = ", ";
    }
    br_strbuf_printf(&sb, "]\n");
    return set_edit(v, &sb, err);
}

br_status ab_variants_derive(const br_spec *spec, ab_list *list, br_error *err) {
    BR_TRY(add_plain(list, AB_BASELINE, -1, "baseline", "-", "-", "", err));
    char name[64], what[64], type[64], yaml[96];
    for (int l = 0; l < spec->n_layers; l++) {
        const int o = spec->layers[l].origin;
        snprintf(name, sizeof name, "drop-%d", o);
        snprintf(what, sizeof what, "%d", o);
        snprintf(yaml, sizeof yaml, "drop: [%d]\n", o);
        ab_layer_type(spec, &spec->layers[l], type, sizeof type);
        BR_TRY(add_plain(list, AB_DROP, o, name, what, type, yaml, err));
    }
    br_strbuf drop = {0}, layers = {0};
    int n_attn = 0;
    for (int l = 0; l < spec->n_layers; l++) {
        int attn = 0;
        for (int u = 0; u < spec->layers[l].n_units; u++)
            for (int b = 0; b < spec->layers[l].units[u].n_blocks; b++)
                attn |= !strcmp(spec->blocks[spec->layers[l].units[u].blocks[b]].type->name, "attention");
        if (!attn) continue;
        br_strbuf_printf(&drop, "%s%d", n_attn ? ", " : "drop: [", spec->layers[l].origin);
        br_strbuf_printf(&layers, "%s%d", n_attn ? ", " : "", spec->layers[l].origin);
        n_attn++;
    }
    br_status st = br_strbuf_status(&drop, err);
    if (st == BR_OK) st = br_strbuf_status(&layers, err);
    if (st == BR_OK && n_attn > 0 && n_attn < spec->n_layers) { /* not when no layer would be left */
        br_strbuf_printf(&drop, "]\n");
        st = br_strbuf_status(&drop, err);
        if (st == BR_OK)
            st = add_plain(list, AB_DROP_ATTENTION, -1, "drop-attention", layers.data, "attention layers", drop.data,
                           err);
    }
    br_strbuf_free(&drop);
    br_strbuf_free(&layers);
    for (int l = 0; l < spec->n_layers && st == BR_OK; l++)
        for (int u = 0; u < spec->layers[l].n_units && st == BR_OK; u++) {
            const char *t = unit_type(spec, &spec->layers[l].units[u]);
            if (!t || strcmp(t, "attention") != 0) continue;
            if (spec->layers[l].n_units > 1) st = unit_surgery(list, spec, l, u, -1, err);
            const int k = nearest_mamba(spec, l, u);
            if (st == BR_OK && k >= 0) st = unit_surgery(list, spec, l, u, k, err);
        }
    return st;
}

br_status ab_variants_add_user(ab_list *list, const char *path, br_error *err) {
    ab_variant *v = push(list, AB_USER, -1, err);
    if (!v) return BR_ERR_NOMEM;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    snprintf(v->name, sizeof v->name, "%.*s", (int)(dot && dot != base ? dot - base : (long)strlen(base)), base);
    snprintf(v->what, sizeof v->what, "%s", path);
    snprintf(v->type, sizeof v->type, "-");
    v->spec_path = br_strdup(path, err);
    return v->spec_path ? BR_OK : BR_ERR_NOMEM;
}

void ab_list_free(ab_list *list) {
    for (int i = 0; i < list->n; i++) {
        free(list->v[i].edit);
        free(list->v[i].spec_path);
    }
    free(list->v);
    memset(list, 0, sizeof *list);
}
