/*
 * hf_fill.c - copying checkpoint tensors into braid tensors, and the
 * mappers shared by families (linear maps, Mamba-2 mixers, attention,
 * gated MLPs).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h"
#include "base/error.h"
#include "base/file.h"
#include "base/notice.h"
#include "checkpoint/family.h"

br_status br_pname_parse(const char *name, br_pname *out, br_error *err) {
    memset(out, 0, sizeof *out);
    out->layer = out->unit = -1;
    if (strcmp(name, "embed.weight") == 0) return out->kind = BR_PN_EMBED, BR_OK;
    if (strcmp(name, "lm_head.weight") == 0) return out->kind = BR_PN_LM_HEAD, BR_OK;
    if (strncmp(name, "final_norm.", 11) == 0) {
        out->kind = BR_PN_FINAL_NORM;
        snprintf(out->rest, sizeof out->rest, "%s", name + 11);
        return BR_OK;
    }
    int used = 0;
    if (sscanf(name, "layers.%d.%d.%n", &out->layer, &out->unit, &used) == 2 && used > 0) {
        const char *tail = name + used;
        if (strncmp(tail, "norm.", 5) == 0) {
            out->kind = BR_PN_UNIT_NORM;
            snprintf(out->rest, sizeof out->rest, "%s", tail + 5);
            return BR_OK;
        }
        int adapter = strncmp(tail, "adapters.", 9) == 0;
        if (adapter) tail += 9;
        const char *dot = strchr(tail, '.');
        if (!dot || dot - tail >= (long)sizeof out->block) goto bad;
        snprintf(out->block, sizeof out->block, "%.*s", (int)(dot - tail), tail);
        snprintf(out->rest, sizeof out->rest, "%s", dot + 1);
        out->kind = adapter ? BR_PN_ADAPTER : BR_PN_BLOCK;
        return BR_OK;
    }
    if (strncmp(name, "shared.", 7) == 0) {
        const char *tail = name + 7, *dot = strchr(tail, '.');
        if (!dot || dot - tail >= (long)sizeof out->block) goto bad;
        snprintf(out->block, sizeof out->block, "%.*s", (int)(dot - tail), tail);
        snprintf(out->rest, sizeof out->rest, "%s", dot + 1);
        out->kind = BR_PN_SHARED;
        return BR_OK;
    }
bad:
    return BR_FAIL(err, BR_ERR_INVALID_ARG, "cannot parse braid tensor name '%s'", name);
}

/* A 16-bit tensor of the other 16-bit type than config.json's dtype (torch_dtype): relabelled bytes read as
 * wrong numbers that still look finite, so it is said (once a load). */
static void note_dtype(br_hf_ctx *ctx, const br_st_tensor *t, const char *name, br_dtype dt) {
    const char *declared = NULL; /* "dtype" since transformers 5, "torch_dtype" before */
    if (ctx->dtype_noted || dt == BR_F32 || br_hf_str(ctx->config, "dtype", NULL, &declared, NULL) != BR_OK ||
        (!declared && br_hf_str(ctx->config, "torch_dtype", NULL, &declared, NULL) != BR_OK) || !declared)
        return;
    const int bf16 = !strcmp(declared, "bfloat16"), f16 = !strcmp(declared, "float16");
    if ((bf16 && dt == BR_F16) || (f16 && dt == BR_BF16)) {
        br_notice("%s: config.json says dtype %s but tensor '%s' is stored as %s; if the file's types were "
                  "relabelled, its numbers are wrong", t->file, declared, name, br_dtype_name(dt));
        ctx->dtype_noted = 1;
    }
}

static const br_st_tensor *lookup(br_hf_ctx *ctx, const br_param *p, const char *name, int ndim, const int64_t *shape,
                                  br_error *err) {
    const br_st_tensor *t = br_st_find(ctx->st, name);
    if (!t) {
        ctx->missing = 1;
        BR_FAIL(err, BR_ERR_CHECKPOINT, "checkpoint has no tensor '%s' (needed for braid tensor '%s')", name, p->name);
        return NULL;
    }
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char want[96], got[96];
        br_shape_str(ndim, shape, want, sizeof want);
        br_shape_str(t->ndim, t->shape, got, sizeof got);
        BR_FAIL(err, BR_ERR_CHECKPOINT, "checkpoint tensor '%s' (in %s): expected shape %s, found %s", name, t->file,
                want, got);
        return NULL;
    }
    br_dtype dt;
    if (!br_st_to_br_dtype(t->dtype, &dt)) {
        BR_FAIL(err, BR_ERR_CHECKPOINT, "checkpoint tensor '%s' (in %s) has dtype %s; braid reads F32, BF16 and F16",
                name, t->file, br_st_dtype_name(t->dtype));
        return NULL;
    }
    ctx->used[t - br_st_at(ctx->st, 0)] = 1;
    note_dtype(ctx, t, name, dt);
    return t;
}

/* Refuses values that are not finite among the n elements of type dt at data (tensor t), naming the tensor. */
static br_status check_finite(const br_st_tensor *t, const char *name, const void *data, br_dtype dt, int64_t n,
                              br_error *err) {
    const uint16_t *h = data, top = dt == BR_BF16 ? 0x7f80 : 0x7c00; /* a 16-bit type's exponent bits */
    for (int64_t i = 0; i < n; i++) {
        float v;
        if (dt == BR_F32) v = ((const float *)data)[i];
        else if ((h[i] & top) != top) continue; /* finite */
        else v = dt == BR_BF16 ? br_bf16_to_f32(h[i]) : br_f16_to_f32(h[i]);
        if (!isfinite(v))
            return BR_FAIL(err, BR_ERR_CHECKPOINT, "checkpoint tensor '%s' (in %s) holds %s at element %lld; braid "
                           "refuses weights that are not finite", name, t->file, isnan(v) ? "NaN" : "an infinity",
                           (long long)i);
    }
    return BR_OK;
}

/* Reads tensor t as dt into dst [numel] (through f32) and refuses values that are not finite. */
static br_status read_as(const br_st_tensor *t, const char *name, void *dst, br_dtype dt, br_error *err) {
    const int64_t n = (int64_t)br_st_numel(t);
    float *f = dt == BR_F32 ? dst : br_malloc((size_t)n * sizeof *f, err);
    if (!f) return BR_ERR_NOMEM;
    br_status st = br_st_read_f32(t, f, err);
    br_map_release(t->data, t->nbytes); /* copied: its pages need not stay resident */
    if (st == BR_OK) st = check_finite(t, name, f, BR_F32, n, err);
    if (st == BR_OK && f != dst) br_from_f32(dst, f, dt, (size_t)n);
    if (f != dst) free(f);
    return st;
}

/* 1 when tensor t can serve as the whole of matrix p where it lies in the mapped file: the same type,
 * aligned for it, and bytes that are the values (a little-endian host). */
static int usable_in_place(const br_param *p, const br_st_tensor *t, int64_t offset) {
    br_dtype dt;
    return p->matmul && !p->data && offset == 0 && (int64_t)br_st_numel(t) == p->numel &&
           br_st_to_br_dtype(t->dtype, &dt) && dt == p->dtype && (uintptr_t)t->data % br_dtype_size(dt) == 0 &&
           __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
}

br_status br_hf_put(br_hf_ctx *ctx, br_param *p, int64_t offset, const char *name, int ndim, const int64_t *shape,
                    br_error *err) {
    const br_st_tensor *t = lookup(ctx, p, name, ndim, shape, err);
    if (!t) return err ? err->status : BR_ERR_CHECKPOINT;
    int64_t n = (int64_t)br_st_numel(t);
    if (offset < 0 || offset + n > p->numel)
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "checkpoint tensor '%s' (%lld elements) does not fit braid tensor '%s' "
                       "(%lld elements) at offset %lld", name, (long long)n, p->name, (long long)p->numel,
                       (long long)offset);
    if (p->mapped) return BR_FAIL(err, BR_ERR_INVALID_ARG, "mapping bug: '%s' is filled twice", p->name);
    if (usable_in_place(p, t, offset)) {
        BR_TRY(check_finite(t, name, t->data, p->dtype, n, err));
        p->data = (void *)t->data; /* read-only, kept mapped by the weights */
        p->mapped = 1;
        return BR_OK;
    }
    BR_TRY(br_param_alloc(p, err));
    return read_as(t, name, (char *)p->data + offset * (int64_t)br_dtype_size(p->dtype), p->dtype, err);
}

br_status br_hf_put_rows(br_hf_ctx *ctx, br_param *p, int64_t offset, const char *name, int ndim,
                         const int64_t *shape, int64_t src_row0, int64_t step, int64_t n_rows, int64_t row_len,
                         br_error *err) {
    const br_st_tensor *t = lookup(ctx, p, name, ndim, shape, err);
    if (!t) return err ? err->status : BR_ERR_CHECKPOINT;
    int64_t total = (int64_t)br_st_numel(t), last = src_row0 + (n_rows - 1) * step;
    if (offset + n_rows * row_len > p->numel || (last + 1) * row_len > total)
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "checkpoint tensor '%s': row selection out of range for '%s'", name,
                       p->name);
    BR_TRY(br_param_alloc(p, err));
    const size_t es = br_dtype_size(p->dtype);
    char *tmp = br_malloc((size_t)total * es, err);
    if (!tmp) return BR_ERR_NOMEM;
    br_status st = read_as(t, name, tmp, p->dtype, err);
    for (int64_t r = 0; r < n_rows && st == BR_OK; r++)
        memcpy((char *)p->data + (offset + r * row_len) * (int64_t)es, tmp + (src_row0 + r * step) * row_len * (int64_t)es,
               (size_t)row_len * es);
    free(tmp);
    return st;
}

br_status br_hf_put_same(br_hf_ctx *ctx, br_param *p, const char *name, br_error *err) {
    return br_hf_put(ctx, p, 0, name, p->ndim, p->shape, err);
}

br_status br_hf_put_as(br_hf_ctx *ctx, br_param *p, const char *name, int ndim, const int64_t *shape, br_error *err) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    if (n != p->numel)
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "mapping bug: '%s' as %lld elements for '%s' of %lld", name,
                       (long long)n, p->name, (long long)p->numel);
    return br_hf_put(ctx, p, 0, name, ndim, shape, err);
}

br_status br_hf_unmapped(br_hf_ctx *ctx, const br_param *p, br_error *err) {
    ctx->missing = 1;
    return BR_FAIL(err, BR_ERR_CHECKPOINT, "no checkpoint tensor corresponds to braid tensor '%s'", p->name);
}

static br_status put_prefixed(br_hf_ctx *ctx, br_param *p, const char *prefix, const char *rest, br_error *err) {
    char name[BR_HF_NAME_MAX];
    snprintf(name, sizeof name, "%s%s", prefix, rest);
    return br_hf_put_same(ctx, p, name, err);
}

br_status br_hf_fill_linear_like(br_hf_ctx *ctx, br_param *p, const char *rest, const char *prefix, br_error *err) {
    return put_prefixed(ctx, p, prefix, rest, err);
}

br_status br_hf_fill_mamba2(br_hf_ctx *ctx, br_param *p, const char *rest, const char *prefix, br_error *err) {
    if (strcmp(rest, "conv1d.weight") == 0) { /* [C, 1, K] in the checkpoint */
        char name[BR_HF_NAME_MAX];
        snprintf(name, sizeof name, "%sconv1d.weight", prefix);
        return br_hf_put_as(ctx, p, name, 3, (int64_t[]){p->shape[0], 1, p->shape[1]}, err);
    }
    return put_prefixed(ctx, p, prefix, rest, err);
}

br_status br_hf_fill_attention(br_hf_ctx *ctx, br_param *p, const char *rest, const char *prefix, br_error *err) {
    return put_prefixed(ctx, p, prefix, rest, err);
}

br_status br_hf_fill_gated_mlp(br_hf_ctx *ctx, br_param *p, const char *rest, const char *prefix, const char *gate,
                               const char *up, const char *down, br_error *err) {
    char name[BR_HF_NAME_MAX];
    if (strcmp(rest, "gate_up_proj.weight") == 0) { /* [2F, in] = [gate; up] */
        const int64_t F = p->shape[0] / 2, in = p->shape[1];
        snprintf(name, sizeof name, "%s%s.weight", prefix, gate);
        BR_TRY(br_hf_put(ctx, p, 0, name, 2, (int64_t[]){F, in}, err));
        snprintf(name, sizeof name, "%s%s.weight", prefix, up);
        return br_hf_put(ctx, p, F * in, name, 2, (int64_t[]){F, in}, err);
    }
    if (strcmp(rest, "gate_up_proj.bias") == 0) {
        const int64_t F = p->shape[0] / 2;
        snprintf(name, sizeof name, "%s%s.bias", prefix, gate);
        BR_TRY(br_hf_put(ctx, p, 0, name, 1, (int64_t[]){F}, err));
        snprintf(name, sizeof name, "%s%s.bias", prefix, up);
        return br_hf_put(ctx, p, F, name, 1, (int64_t[]){F}, err);
    }
    if (strncmp(rest, "down_proj.", 10) == 0) {
        snprintf(name, sizeof name, "%s%s.%s", prefix, down, rest + 10);
        return br_hf_put_same(ctx, p, name, err);
    }
    if (strncmp(rest, "up_proj.", 8) == 0) {
        snprintf(name, sizeof name, "%s%s.%s", prefix, up, rest + 8);
        return br_hf_put_same(ctx, p, name, err);
    }
    return br_hf_unmapped(ctx, p, err);
}

br_status br_hf_fill_mamba1(br_hf_ctx *ctx, br_param *p, const char *rest, const char *prefix, br_error *err) {
    char name[BR_HF_NAME_MAX];
    if (strcmp(rest, "conv1d.weight") == 0) {
        snprintf(name, sizeof name, "%sconv1d.weight", prefix);
        return br_hf_put_as(ctx, p, name, 3, (int64_t[]){p->shape[0], 1, p->shape[1]}, err);
    }
    if (strcmp(rest, "x_proj.weight") == 0 || strcmp(rest, "dt_proj.weight") == 0) { /* braid [1, out, in] */
        if (p->shape[0] != 1) return br_hf_unmapped(ctx, p, err);
        snprintf(name, sizeof name, "%s%s", prefix, rest);
        return br_hf_put_as(ctx, p, name, 2, (int64_t[]){p->shape[1], p->shape[2]}, err);
    }
    static const char *const renames[][2] = {
        {"dt_norm.weight", "dt_layernorm.weight"}, {"b_norm.weight", "b_layernorm.weight"},
        {"c_norm.weight", "c_layernorm.weight"},
    };
    for (size_t i = 0; i < sizeof renames / sizeof renames[0]; i++)
        if (strcmp(rest, renames[i][0]) == 0) rest = renames[i][1];
    snprintf(name, sizeof name, "%s%s", prefix, rest);
    return br_hf_put_same(ctx, p, name, err);
}

br_status br_hf_fill_experts(br_hf_ctx *ctx, br_param *p, const char *rest, const char *expert_fmt, const char *gate,
                             const char *up, const char *down, br_error *err) {
    char prefix[BR_HF_NAME_MAX / 2], name[BR_HF_NAME_MAX];
    const int64_t E = p->shape[0], rows = p->shape[1], cols = p->shape[2];
    int gated = strcmp(rest, "gate_up_proj") == 0;
    const char *single = strcmp(rest, "up_proj") == 0 ? up : strcmp(rest, "down_proj") == 0 ? down : NULL;
    if (!gated && !single) return br_hf_unmapped(ctx, p, err);
    for (int64_t e = 0; e < E; e++) {
        snprintf(prefix, sizeof prefix, expert_fmt, (int)e);
        int64_t base = e * rows * cols;
        if (gated) { /* [2F, in] = [gate; up] */
            snprintf(name, sizeof name, "%s%s.weight", prefix, gate);
            BR_TRY(br_hf_put(ctx, p, base, name, 2, (int64_t[]){rows / 2, cols}, err));
            snprintf(name, sizeof name, "%s%s.weight", prefix, up);
            BR_TRY(br_hf_put(ctx, p, base + rows / 2 * cols, name, 2, (int64_t[]){rows / 2, cols}, err));
        } else {
            snprintf(name, sizeof name, "%s%s.weight", prefix, single);
            BR_TRY(br_hf_put(ctx, p, base, name, 2, (int64_t[]){rows, cols}, err));
        }
    }
    return BR_OK;
}

br_status br_hf_fill_layout(br_hf_ctx *ctx, br_param *p, const br_pname *n, const br_hf_layout *lo, br_error *err) {
    char name[BR_HF_NAME_MAX], prefix[BR_HF_NAME_MAX / 2];
    switch (n->kind) {
    case BR_PN_EMBED:
        if (lo->embed_alias && br_st_find(ctx->st, lo->embed_alias)) return br_hf_put_same(ctx, p, lo->embed_alias, err);
        return br_hf_put_same(ctx, p, lo->embed, err);
    case BR_PN_LM_HEAD: return br_hf_put_same(ctx, p, "lm_head.weight", err);
    case BR_PN_FINAL_NORM:
        snprintf(name, sizeof name, "%s.%s", lo->final_norm, n->rest);
        return br_hf_put_same(ctx, p, name, err);
    case BR_PN_UNIT_NORM:
        if (n->unit < 0 || n->unit >= 4 || !lo->unit_norm[n->unit]) break;
        snprintf(prefix, sizeof prefix, lo->layer, n->layer);
        snprintf(name, sizeof name, "%s%s.%s", prefix, lo->unit_norm[n->unit], n->rest);
        return br_hf_put_same(ctx, p, name, err);
    case BR_PN_BLOCK:
        for (const br_hf_block_map *b = lo->blocks; b && b->block; b++) {
            if (strcmp(b->block, n->block) != 0) continue;
            char layer[128];
            snprintf(layer, sizeof layer, lo->layer, n->layer);
            snprintf(prefix, sizeof prefix, "%s%s", layer, b->module);
            switch (b->kind) {
            case BR_HF_ATTENTION: return br_hf_fill_attention(ctx, p, n->rest, prefix, err);
            case BR_HF_MAMBA1: return br_hf_fill_mamba1(ctx, p, n->rest, prefix, err);
            case BR_HF_MAMBA2: return br_hf_fill_mamba2(ctx, p, n->rest, prefix, err);
            case BR_HF_GATED_MLP:
                return br_hf_fill_gated_mlp(ctx, p, n->rest, prefix, "gate_proj", "up_proj", "down_proj", err);
            case BR_HF_SAME_NAMES: return br_hf_fill_linear_like(ctx, p, n->rest, prefix, err);
            }
        }
        break;
    default: break;
    }
    return br_hf_unmapped(ctx, p, err);
}
