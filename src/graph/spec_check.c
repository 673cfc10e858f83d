/*
 * spec_check.c - whole-spec validation after reading.
 *
 * Data flow inside a layer: a unit that reads `previous` must follow a unit
 * that combines by `pass`, and a `pass` unit must be followed by one that
 * reads `previous`; an `inject` must be followed by a unit that reads the
 * stream.  Widths: a unit fed [x, e] gives its blocks an input width of
 * 2*d_model, any other unit d_model; a block must see one width everywhere.
 * Then each used block's type resolves its derived sizes.
 */
#include <string.h>

#include "base/error.h"
#include "graph/spec_internal.h"
#include "layers/layer.h"

static br_status fail_at_block(br_error *err, const br_block_def *b, const char *fmt, const char *detail) {
    return BR_FAIL(err, BR_ERR_SPEC, "%s:%d:%d: block '%s': %s%s", b->mark.file, b->mark.line, b->mark.col, b->name,
                   fmt, detail ? detail : "");
}

static br_status check_flow(const br_spec *spec, int li, br_error *err) {
    const br_layer_def *L = &spec->layers[li];
    for (int u = 0; u < L->n_units; u++) {
        const br_unit_def *U = &L->units[u];
        const char *name = spec->blocks[U->blocks[0]].name;
        if (U->input == BR_INPUT_PREVIOUS && (u == 0 || L->units[u - 1].combine != BR_COMBINE_PASS))
            return BR_FAIL(err, BR_ERR_SPEC,
                           "layer %d ('%s'), unit %d ('%s'): input 'previous' needs the unit before it to combine by "
                           "'pass'", li, L->symbol, u, name);
        if (U->combine == BR_COMBINE_PASS && (u + 1 >= L->n_units || L->units[u + 1].input != BR_INPUT_PREVIOUS))
            return BR_FAIL(err, BR_ERR_SPEC,
                           "layer %d ('%s'), unit %d ('%s'): combine 'pass' needs the next unit of the layer to read "
                           "input 'previous'", li, L->symbol, u, name);
        if (U->combine == BR_COMBINE_INJECT) {
            const br_unit_def *next = u + 1 < L->n_units ? &L->units[u + 1]
                                      : li + 1 < spec->n_layers ? &spec->layers[li + 1].units[0] : NULL;
            if (!next || next->input != BR_INPUT_STREAM)
                return BR_FAIL(err, BR_ERR_SPEC,
                               "layer %d ('%s'), unit %d ('%s'): combine 'inject' needs a following unit that reads "
                               "the stream", li, L->symbol, u, name);
        }
        if (U->adapters.rank && U->n_blocks != 1)
            return BR_FAIL(err, BR_ERR_SPEC, "layer %d ('%s'), unit %d: adapters need a single block, not a parallel "
                           "unit", li, L->symbol, u);
    }
    return BR_OK;
}

/* A shared block's pre-norm is shared too, so every unit of it must use the same norm. */
static br_status note_shared_norm(const br_spec *spec, const br_unit_def *U, int li, const br_unit_def **first,
                                  br_error *err) {
    const br_block_def *b = &spec->blocks[U->blocks[0]];
    if (U->n_blocks != 1 || !b->shared) return BR_OK;
    const br_unit_def *f = first[U->blocks[0]];
    if (!f) {
        first[U->blocks[0]] = U;
        return BR_OK;
    }
    if (f->norm.kind != U->norm.kind || f->norm.eps != U->norm.eps || f->norm.bias != U->norm.bias ||
        f->norm.unit_offset != U->norm.unit_offset)
        return fail_at_block(err, b, "shared block used with two different pre-norms: ", "its pre-norm is shared with "
                             "it, so every unit of it needs the same norm settings");
    (void)li;
    return BR_OK;
}

static br_status note_width(br_spec *spec, int bi, int width, int li, br_error *err) {
    br_block_def *b = &spec->blocks[bi];
    if (b->uses && b->in_dim != width) {
        char detail[160];
        snprintf(detail, sizeof detail, "input width %d at layer %d but %d at an earlier use", width, li, b->in_dim);
        return fail_at_block(err, b, b->shared ? "shared block used with mismatched width: " : "used with two widths: ",
                             detail);
    }
    b->in_dim = width;
    b->uses++;
    return BR_OK;
}

static br_status check_adapters(const br_spec *spec, const br_unit_def *U, int li, br_error *err) {
    const br_block_def *b = &spec->blocks[U->blocks[0]];
    br_block_dims dims = {spec->d_model, b->in_dim};
    for (int t = 0; t < U->adapters.n_targets; t++) {
        int out, in;
        if (!b->type->linear_shape || !b->type->linear_shape(b->cfg, &dims, U->adapters.targets[t], &out, &in))
            return BR_FAIL(err, BR_ERR_SPEC, "layer %d: adapter target '%s' is not a linear map of block '%s' (type %s)",
                           li, U->adapters.targets[t], b->name, b->type->name);
    }
    return BR_OK;
}

br_status br_spec_check(br_spec *spec, br_error *err) {
    for (int i = 0; i < spec->n_blocks; i++) {
        spec->blocks[i].uses = 0;
        spec->blocks[i].in_dim = 0;
    }
    const br_unit_def *first[spec->n_blocks > 0 ? spec->n_blocks : 1];
    for (int i = 0; i < spec->n_blocks; i++) first[i] = NULL;
    for (int li = 0; li < spec->n_layers; li++) {
        BR_TRY(check_flow(spec, li, err));
        const br_layer_def *L = &spec->layers[li];
        for (int u = 0; u < L->n_units; u++) {
            const br_unit_def *U = &L->units[u];
            int width = U->input == BR_INPUT_CONCAT_EMBEDDING ? 2 * spec->d_model : spec->d_model;
            for (int b = 0; b < U->n_blocks; b++) BR_TRY(note_width(spec, U->blocks[b], width, li, err));
            BR_TRY(note_shared_norm(spec, U, li, first, err));
        }
    }
    const br_unit_def *last = &spec->layers[spec->n_layers - 1].units[spec->layers[spec->n_layers - 1].n_units - 1];
    if (last->combine != BR_COMBINE_RESIDUAL)
        return BR_FAIL(err, BR_ERR_SPEC, "the last unit of the last layer must combine by 'residual'");
    for (int i = 0; i < spec->n_blocks; i++) {
        br_block_def *b = &spec->blocks[i];
        if (!b->uses) continue;
        br_block_dims dims = {spec->d_model, b->in_dim};
        br_status st = b->type->resolve ? b->type->resolve(b->cfg, &dims, b, err) : BR_OK;
        if (st != BR_OK) return st;
    }
    for (int li = 0; li < spec->n_layers; li++)
        for (int u = 0; u < spec->layers[li].n_units; u++)
            if (spec->layers[li].units[u].adapters.rank) BR_TRY(check_adapters(spec, &spec->layers[li].units[u], li, err));
    return BR_OK;
}
