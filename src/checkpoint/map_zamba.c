/*
 * map_zamba.c - Zamba (v1, model_type "zamba").
 *
 *   mamba layer:  h = h + Mamba(RMSNorm(h))         (multi-head Mamba-1)
 *   hybrid layer: a = RMSNorm([h, emb]) -> shared attention (no RoPE,
 *                 scale (hd/2)^-0.5) -> RMSNorm -> shared GeGLU MLP
 *                 (no residuals inside), t = linear_i(a),
 *                 h = h + Mamba(RMSNorm(h + t))
 * The Mamba in_proj output is interleaved (x = even rows, z = odd rows);
 * braid de-interleaves the rows once at load.  Names: model.embed_tokens,
 * model.layers.i.{input_layernorm, mamba.*} (mamba) or model.layers.i.{
 * linear, mamba_decoder.{input_layernorm, mamba.*}} (hybrid), the shared
 * block under the first hybrid layer's shared_transf.*,
 * model.final_layernorm.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "checkpoint/family.h"
#include "checkpoint/spec_writer.h"
#include "checkpoint/zamba_layers.h"

static br_status layers(const br_hf_config *c, br_zamba_layers *z, br_error *err) {
    long long L, period, offset;
    BR_TRY(br_hf_int(c, "num_hidden_layers", 76, 3, BR_ZAMBA_MAX_LAYERS, &L, err));
    BR_TRY(br_hf_int(c, "attn_layer_period", 6, 1, 100000, &period, err));
    BR_TRY(br_hf_int(c, "attn_layer_offset", 4, 0, 100000, &offset, err));
    z->n_layers = (int)L;
    /* transformers' default: [m, m, h] then h where i % period == offset over the rest */
    for (int i = 0; i < z->n_layers; i++) z->kind[i] = i < 3 ? (i == 2 ? 'h' : 'm') : ((i - 3) % period == offset ? 'h' : 'm');
    return br_zamba_layers_read(c, z, err);
}

static br_status write_spec(const br_hf_config *c, br_strbuf *sb, br_error *err) {
    br_sw_nums ns = {0};
    long long H, V, I, heads, kv, hd, mh, N, K, expand, R, ctx;
    int tie, conv_bias, proj_bias;
    double eps;
    const char *act, *mact;
    br_zamba_layers *z = br_malloc(sizeof *z, err);
    if (!z) return BR_ERR_NOMEM;
    br_status st = layers(c, z, err);
    if (st == BR_OK) st = br_hf_int(c, "hidden_size", 3712, 1, 1 << 20, &H, err);
    if (st == BR_OK) st = br_hf_int(c, "vocab_size", 32000, 1, 1 << 24, &V, err);
    if (st == BR_OK) st = br_hf_int(c, "intermediate_size", 14848, 1, 1 << 24, &I, err);
    if (st == BR_OK) st = br_hf_int(c, "num_attention_heads", 16, 1, 1 << 16, &heads, err);
    if (st == BR_OK) st = br_hf_int(c, "num_key_value_heads", heads, 1, 1 << 16, &kv, err);
    if (st == BR_OK) st = br_hf_int(c, "attention_head_dim", 2 * H / heads, 1, 1 << 16, &hd, err);
    if (st == BR_OK) st = br_hf_int(c, "n_mamba_heads", 2, 1, 1 << 16, &mh, err);
    if (st == BR_OK) st = br_hf_int(c, "mamba_d_state", 16, 1, 4096, &N, err);
    if (st == BR_OK) st = br_hf_int(c, "mamba_d_conv", 4, 1, 16, &K, err);
    if (st == BR_OK) st = br_hf_int(c, "mamba_expand", 2, 1, 1024, &expand, err);
    if (st == BR_OK) {
        json_t *rank = br_hf_get(c, "mamba_dt_rank");
        if (rank && json_is_string(rank)) R = (H + 15) / 16;
        else st = br_hf_int(c, "mamba_dt_rank", (H + 15) / 16, 1, 1 << 20, &R, err);
    }
    if (st == BR_OK) st = br_hf_int(c, "max_position_embeddings", 4096, 1, 1LL << 40, &ctx, err);
    if (st == BR_OK) st = br_hf_bool(c, "tie_word_embeddings", 1, &tie, err);
    if (st == BR_OK) st = br_hf_bool(c, "mamba_conv_bias", 1, &conv_bias, err);
    if (st == BR_OK) st = br_hf_bool(c, "mamba_proj_bias", 0, &proj_bias, err);
    if (st == BR_OK) st = br_hf_float(c, "rms_norm_eps", 1e-5, &eps, err);
    if (st == BR_OK) st = br_sw_act(c, "hidden_act", "gelu", &act, err);
    if (st == BR_OK) st = br_sw_act(c, "hidden_mamba_act", "silu", &mact, err);
    if (st == BR_OK && strcmp(mact, "silu") != 0)
        st = BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: hidden_mamba_act '%s': braid's Mamba conv uses SiLU", c->path, mact);
    if (st == BR_OK && (expand * H) % mh)
        st = BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: mamba_expand * hidden_size is not divisible by n_mamba_heads", c->path);
    if (st != BR_OK) {
        free(z);
        return st;
    }
    br_sw_model m = {H, V, ctx, tie, eps, 1, 1, 1};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb,
                     "blocks:\n"
                     "  mamba: {type: mamba, d_inner: %lld, d_state: %lld, d_conv: %lld, dt_rank: %lld, heads: %lld, "
                     "conv_bias: %s, proj_bias: %s}\n"
                     "  sattn: {type: attention, shared: true, heads: %lld, kv_heads: %lld, head_dim: %lld, rope: none, "
                     "scale: %s}\n"
                     "  smlp: {type: mlp, shared: true, hidden: %lld, activation: %s}\n"
                     "  proj: {type: linear}\n"
                     "symbols:\n  m: mamba\n"
                     "  h: [{block: sattn, input: concat_embedding, combine: pass}, {block: smlp, input: previous, "
                     "combine: pass}, {block: proj, input: previous, norm: none, combine: inject}, mamba]\n"
                     "layers: '%.*s'\n",
                     expand * H, N, K, R, mh, conv_bias ? "true" : "false", proj_bias ? "true" : "false", heads, kv, hd,
                     br_sw_n(&ns, 1.0 / sqrt(hd / 2.0)), I, act, z->n_layers, z->kind);
    free(z);
    return BR_OK;
}

static br_status prepare(br_hf_ctx *ctx, br_error *err) {
    br_zamba_layers *z = br_malloc(sizeof *z, err);
    if (!z) return BR_ERR_NOMEM;
    ctx->fam = z;
    return layers(ctx->config, z, err);
}

static br_status fill_mamba(br_hf_ctx *ctx, br_param *p, const char *rest, const char *prefix, br_error *err) {
    char name[BR_HF_NAME_MAX];
    snprintf(name, sizeof name, "%s%s", prefix, rest);
    if (strncmp(rest, "in_proj.", 8) == 0) { /* interleaved [x0 z0 x1 z1 ...] rows -> [x; z] */
        const int64_t rows = p->shape[0] / 2, len = p->ndim == 2 ? p->shape[1] : 1;
        BR_TRY(br_hf_put_rows(ctx, p, 0, name, p->ndim, p->shape, 0, 2, rows, len, err));
        return br_hf_put_rows(ctx, p, rows * len, name, p->ndim, p->shape, 1, 2, rows, len, err);
    }
    if (strcmp(rest, "conv1d.weight") == 0)
        return br_hf_put_as(ctx, p, name, 3, (int64_t[]){p->shape[0], 1, p->shape[1]}, err);
    if (strcmp(rest, "x_proj.weight") == 0 || strcmp(rest, "dt_proj.weight") == 0) {
        snprintf(name, sizeof name, "%s%.*s_weight", prefix, (int)(strlen(rest) - 7), rest);
        return br_hf_put_same(ctx, p, name, err);
    }
    /* the head count is the leading dimension of the per-head x_proj */
    char xname[BR_HF_NAME_MAX];
    snprintf(xname, sizeof xname, "%sx_proj_weight", prefix);
    const br_st_tensor *xp = br_st_find(ctx->st, xname);
    int64_t heads = xp && xp->ndim == 3 ? xp->shape[0] : 1;
    if (strcmp(rest, "dt_proj.bias") == 0) {
        snprintf(name, sizeof name, "%sdt_proj_bias", prefix);
        return br_hf_put_as(ctx, p, name, 2, (int64_t[]){heads, p->shape[0] / heads}, err);
    }
    if (strcmp(rest, "A_log") == 0)
        return br_hf_put_as(ctx, p, name, 3, (int64_t[]){heads, p->shape[0] / heads, p->shape[1]}, err);
    if (strcmp(rest, "D") == 0) return br_hf_put_as(ctx, p, name, 2, (int64_t[]){heads, p->shape[0] / heads}, err);
    return br_hf_put_same(ctx, p, name, err);
}

static br_status fill(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    const br_zamba_layers *z = ctx->fam;
    char name[BR_HF_NAME_MAX];
    const int first = z->n_hybrid ? z->hybrid_ids[0] : 0;
    if (n->kind == BR_PN_SHARED && strcmp(n->block, "sattn") == 0) {
        if (strcmp(n->rest, "pre_norm.weight") == 0)
            snprintf(name, sizeof name, "model.layers.%d.shared_transf.input_layernorm.weight", first);
        else snprintf(name, sizeof name, "model.layers.%d.shared_transf.self_attn.%s", first, n->rest);
        return br_hf_put_same(ctx, p, name, err);
    }
    if (n->kind == BR_PN_SHARED && strcmp(n->block, "smlp") == 0) {
        if (strcmp(n->rest, "pre_norm.weight") == 0) {
            snprintf(name, sizeof name, "model.layers.%d.shared_transf.pre_ff_layernorm.weight", first);
            return br_hf_put_same(ctx, p, name, err);
        }
        snprintf(name, sizeof name, "model.layers.%d.shared_transf.feed_forward.", first);
        return br_hf_fill_gated_mlp(ctx, p, n->rest, name, "gate_proj", "up_proj", "down_proj", err);
    }
    if (n->kind == BR_PN_BLOCK && strcmp(n->block, "mamba") == 0) {
        char prefix[BR_HF_NAME_MAX / 2];
        br_zamba_mamba_prefix(z, n->layer, prefix, sizeof prefix);
        return fill_mamba(ctx, p, n->rest, prefix, err);
    }
    return br_zamba_fill_common(ctx, p, n, z, err);
}

const br_family br_family_zamba = {"zamba", write_spec, prepare, fill};
