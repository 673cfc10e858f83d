/*
 * import.c - running a Hugging Face checkpoint folder.
 *
 *   config.json --family->write_spec--> YAML spec (or the user's --spec)
 *   spec --plan--> declared braid tensors
 *   each tensor <--family->fill-- safetensors (model.safetensors or sharded)
 * then blocks bind.  Matrix tensors take the type the options choose (by
 * default the checkpoint's own: then whole matrices are used in place, and
 * the model keeps the files mapped); the rest are f32.  Every declared
 * tensor must be filled (or, with init_missing, gets random values and is
 * counted in the report); checkpoint tensors nothing read are counted too,
 * so a mapping that silently skips weights shows up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "checkpoint/family.h"
#include "graph/model.h"

static br_status open_config(const char *dir, br_hf_config *cfg, char **path, const br_family **fam, br_error *err) {
    *path = br_path_join(dir, "config.json", err);
    if (!*path) return BR_ERR_NOMEM;
    if (!br_file_exists(*path))
        return BR_FAIL(err, BR_ERR_IO, "%s: no config.json here (is '%s' a Hugging Face checkpoint folder?)", *path, dir);
    BR_TRY(br_hf_config_load(*path, cfg, err));
    const char *mt = NULL;
    BR_TRY(br_hf_str(cfg, "model_type", NULL, &mt, err));
    if (!mt) return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: no 'model_type' field", *path);
    *fam = br_family_find(mt);
    if (!*fam) {
        char list[512];
        br_family_list(list, sizeof list);
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: model_type '%s' is not supported (supported: %s)", *path, mt, list);
    }
    return BR_OK;
}

static br_status derive_yaml(const br_family *fam, const br_hf_config *cfg, const char *path, br_strbuf *yaml,
                             br_error *err) {
    br_strbuf_printf(yaml, "# Derived by braid from %s (model_type %s).\n", path, fam->model_type);
    br_status st = fam->write_spec(cfg, yaml, err);
    if (st == BR_OK) st = br_strbuf_status(yaml, err);
    return st;
}

br_status br_checkpoint_spec(const char *dir, char **yaml, br_error *err) {
    if (!dir || !yaml) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_checkpoint_spec: NULL argument");
    br_hf_config cfg = {0};
    char *path = NULL;
    const br_family *fam = NULL;
    br_strbuf sb = {0};
    br_status st = open_config(dir, &cfg, &path, &fam, err);
    if (st == BR_OK) st = derive_yaml(fam, &cfg, path, &sb, err);
    if (st == BR_OK) { /* only hand out what parses */
        br_spec *spec = NULL;
        st = br_spec_parse(sb.data, sb.len, path, &spec, err);
        br_spec_free(spec);
    }
    if (st == BR_OK) {
        *yaml = sb.data;
        sb.data = NULL;
    }
    br_strbuf_free(&sb);
    br_hf_config_free(&cfg);
    free(path);
    return st;
}

static void note_name(char *dst, size_t cap, const char *name) {
    if (!dst[0]) snprintf(dst, cap, "%s", name);
}

static br_status fill_all(struct br_model *m, br_hf_ctx *ctx, const br_family *fam, const br_load_options *o,
                          br_load_report *rep, br_error *err) {
    br_weights *w = &m->plan.weights;
    for (size_t i = 0; i < w->n; i++) {
        br_param *p = &w->items[i];
        if (p->derived) continue;
        br_pname pn;
        BR_TRY(br_pname_parse(p->name, &pn, err));
        ctx->missing = 0;
        br_status st = fam->fill(ctx, p, &pn, err);
        if (st == BR_OK) {
            p->filled = 1;
            rep->tensors_filled++;
        } else if (ctx->missing && o->init_missing) {
            rep->tensors_random++;
            note_name(rep->first_random, sizeof rep->first_random, p->name);
        } else {
            return st;
        }
    }
    if (rep->tensors_random) BR_TRY(br_weights_randomize(w, o->seed, err));
    for (size_t i = 0; i < br_st_count(ctx->st); i++) {
        if (ctx->used[i]) continue;
        rep->tensors_unused++;
        note_name(rep->first_unused, sizeof rep->first_unused, br_st_at(ctx->st, i)->name);
    }
    return BR_OK;
}

/* The type of matrix tensors: the one chosen, or the type most of the checkpoint's elements have. */
static br_dtype matrix_dtype(br_weights_type choice, const br_st_archive *a) {
    if (choice != BR_WEIGHTS_STORED) return choice == BR_WEIGHTS_BF16 ? BR_BF16 : BR_F32;
    double elems[BR_DTYPE_COUNT] = {0};
    br_dtype d, dt = BR_F32;
    for (size_t i = 0; i < br_st_count(a); i++)
        if (br_st_to_br_dtype(br_st_at(a, i)->dtype, &d)) elems[d] += (double)br_st_numel(br_st_at(a, i));
    for (int k = 0; k < BR_DTYPE_COUNT; k++)
        if (elems[k] > elems[dt]) dt = (br_dtype)k;
    return dt;
}

static void close_archive(void *a) { br_st_close(a); }

br_status br_model_load(const char *dir, const br_load_options *opts, br_model **out, br_load_report *report,
                        br_error *err) {
    if (!dir || !out) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_model_load: NULL argument");
    br_load_options o = opts ? *opts : (br_load_options){0};
    if (o.weights != BR_WEIGHTS_STORED && o.weights != BR_WEIGHTS_F32 && o.weights != BR_WEIGHTS_BF16)
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_model_load: weights type %d is not a br_weights_type", (int)o.weights);
    br_load_report rep_local, *rep = report ? report : &rep_local;
    memset(rep, 0, sizeof *rep);
    br_hf_config cfg = {0};
    char *path = NULL;
    const br_family *fam = NULL;
    br_strbuf sb = {0};
    br_spec *spec = NULL;
    struct br_model *m = NULL;
    br_st_archive *st_arc = NULL;
    br_hf_ctx ctx = {0};
    br_status st = open_config(dir, &cfg, &path, &fam, err);
    if (st == BR_OK && o.spec_path) {
        st = br_spec_load(o.spec_path, &spec, err);
    } else if (st == BR_OK) {
        st = derive_yaml(fam, &cfg, path, &sb, err);
        if (st == BR_OK) st = br_spec_parse(sb.data, sb.len, path, &spec, err);
    }
    if (st == BR_OK) {
        st = br_model_begin(spec, &m, err); /* owns spec from here on */
        spec = NULL;
    }
    if (st == BR_OK) st = br_st_open_dir(dir, &st_arc, err);
    if (st == BR_OK) {
        ctx.config = &cfg;
        ctx.st = st_arc;
        ctx.spec = m->spec;
        ctx.used = br_calloc(br_st_count(st_arc) + 1, 1, err);
        if (!ctx.used) st = BR_ERR_NOMEM;
    }
    if (st == BR_OK && fam->prepare) st = fam->prepare(&ctx, err);
    if (st == BR_OK) {
        m->weights_dtype = matrix_dtype(o.weights, st_arc);
        for (size_t i = 0; i < m->plan.weights.n; i++)
            m->plan.weights.items[i].dtype = m->plan.weights.items[i].matmul ? m->weights_dtype : BR_F32;
        /* refuse before converting tensor after tensor (those used in place count too: their pages stay resident) */
        st = br_weights_check_fits(&m->plan.weights, &br_cpu_device, m->weights_dtype, m->spec->name, err);
    }
    if (st == BR_OK) st = fill_all(m, &ctx, fam, &o, rep, err);
    if (st == BR_OK) { /* matrices used in place keep the files mapped */
        br_weights_borrow(&m->plan.weights, st_arc, close_archive);
        st_arc = NULL;
    }
    if (st == BR_OK) st = br_model_finish(m, err);
    if (st != BR_OK) br_error_prefix(err, "loading %s", dir);
    free(ctx.used);
    free(ctx.fam);
    br_st_close(st_arc);
    br_spec_free(spec);
    br_strbuf_free(&sb);
    br_hf_config_free(&cfg);
    free(path);
    if (st != BR_OK) {
        br_model_free(m);
        return st;
    }
    *out = m;
    return BR_OK;
}
