/*
 * map_bamba.c - Bamba (model_type "bamba").
 *
 *   layer i: h = h + (Attn if i in attn_layer_indices else Mamba2)(RMSNorm(h))
 *            h = h + SwiGLU(RMSNorm(h))
 * Attention rotates the first partial_rotary_factor (0.5 unless given) of
 * each head.  The Mamba-2 gated norm is grouped by n_groups (original
 * math; transformers uses the full width, docs/families.md D3).  Names:
 * model.embed_tokens, model.layers.N.{input_layernorm, mamba.* |
 * self_attn.*, pre_ff_layernorm, feed_forward.*}, model.final_layernorm,
 * lm_head.
 */
#include <string.h>

#include "base/error.h"
#include "checkpoint/family.h"
#include "checkpoint/spec_writer.h"

static br_status write_spec(const br_hf_config *c, br_strbuf *sb, br_error *err) {
    br_sw_nums ns = {0};
    long long H, V, L, I, heads, kv, hd, mh, mp, G, N, K, expand, chunk, ctx;
    int tie, conv_bias, proj_bias, attn_bias, mlp_bias;
    double eps, theta, frac, lim[2];
    const char *act;
    BR_TRY(br_hf_int(c, "hidden_size", 4096, 1, 1 << 20, &H, err));
    BR_TRY(br_hf_int(c, "vocab_size", 128000, 1, 1 << 24, &V, err));
    BR_TRY(br_hf_int(c, "num_hidden_layers", 32, 1, 100000, &L, err));
    BR_TRY(br_hf_int(c, "intermediate_size", 14336, 1, 1 << 24, &I, err));
    BR_TRY(br_hf_int(c, "num_attention_heads", 32, 1, 1 << 16, &heads, err));
    BR_TRY(br_hf_int(c, "num_key_value_heads", 8, 1, 1 << 16, &kv, err));
    BR_TRY(br_hf_int(c, "head_dim", H / heads, 1, 1 << 16, &hd, err));
    BR_TRY(br_hf_int(c, "mamba_n_heads", 128, 1, 1 << 20, &mh, err));
    BR_TRY(br_hf_int(c, "mamba_expand", 2, 1, 1024, &expand, err));
    json_t *dh = br_hf_get(c, "mamba_d_head");
    if (dh && json_is_string(dh)) mp = expand * H / mh;
    else BR_TRY(br_hf_int(c, "mamba_d_head", expand * H / mh, 1, 1 << 16, &mp, err));
    BR_TRY(br_hf_int(c, "mamba_n_groups", 1, 1, 1 << 16, &G, err));
    BR_TRY(br_hf_int(c, "mamba_d_state", 256, 1, 4096, &N, err));
    BR_TRY(br_hf_int(c, "mamba_d_conv", 4, 1, 16, &K, err));
    BR_TRY(br_hf_int(c, "mamba_chunk_size", 256, 1, 1 << 20, &chunk, err));
    BR_TRY(br_hf_int(c, "max_position_embeddings", 262144, 1, 1LL << 40, &ctx, err));
    BR_TRY(br_hf_bool(c, "tie_word_embeddings", 0, &tie, err));
    BR_TRY(br_hf_bool(c, "mamba_conv_bias", 1, &conv_bias, err));
    BR_TRY(br_hf_bool(c, "mamba_proj_bias", 0, &proj_bias, err));
    BR_TRY(br_hf_bool(c, "attention_bias", 0, &attn_bias, err));
    BR_TRY(br_hf_bool(c, "mlp_bias", 0, &mlp_bias, err));
    BR_TRY(br_hf_float(c, "rms_norm_eps", 1e-5, &eps, err));
    BR_TRY(br_sw_rope(c, 10000.0, 0.5, &theta, &frac, err));
    BR_TRY(br_sw_dt_limit(c, lim, err));
    BR_TRY(br_sw_act(c, "hidden_act", "silu", &act, err));
    if (strcmp(act, "silu") != 0)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: hidden_act '%s' also drives the Mamba conv; braid uses SiLU there",
                       c->path, act);
    if (mh * mp != expand * H)
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: mamba_n_heads * mamba_d_head (%lld) != mamba_expand * hidden_size "
                       "(%lld)", c->path, mh * mp, expand * H);
    br_sw_model m = {H, V, ctx, tie, eps, 1, 1, 1};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb,
                     "blocks:\n"
                     "  mamba: {type: mamba2, heads: %lld, head_dim: %lld, d_state: %lld, groups: %lld, d_conv: %lld, "
                     "conv_bias: %s, in_bias: %s, out_bias: %s, norm: gated, norm_groups: %lld, norm_eps: %s, "
                     "dt_min: %s, dt_max: %s, chunk: %lld}\n"
                     "  attn: {type: attention, heads: %lld, kv_heads: %lld, head_dim: %lld, rope: neox, rope_theta: %s, "
                     "rope_fraction: %s, qkv_bias: %s, out_bias: %s}\n"
                     "  mlp: {type: mlp, hidden: %lld, activation: silu, bias: %s}\n"
                     "symbols: {m: [mamba, mlp], a: [attn, mlp]}\nlayers: '",
                     mh, mp, N, G, K, conv_bias ? "true" : "false", proj_bias ? "true" : "false",
                     proj_bias ? "true" : "false", G, br_sw_n(&ns, eps), br_sw_n(&ns, lim[0]), br_sw_n(&ns, lim[1]), chunk, heads, kv, hd,
                     br_sw_n(&ns, theta), br_sw_n(&ns, frac), attn_bias ? "true" : "false", attn_bias ? "true" : "false", I,
                     mlp_bias ? "true" : "false");
    json_t *idx = br_hf_get(c, "attn_layer_indices");
    if (idx && !json_is_array(idx))
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: 'attn_layer_indices' must be a list of layer numbers", c->path);
    for (long long i = 0; i < L; i++) {
        int attn = 0;
        for (size_t j = 0; idx && j < json_array_size(idx); j++)
            attn |= json_integer_value(json_array_get(idx, j)) == i;
        br_strbuf_printf(sb, "%c", attn ? 'a' : 'm');
    }
    br_strbuf_printf(sb, "'\n");
    return BR_OK;
}

static br_status fill(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    char name[256];
    switch (n->kind) {
    case BR_PN_EMBED: return br_hf_put_same(ctx, p, "model.embed_tokens.weight", err);
    case BR_PN_LM_HEAD: return br_hf_put_same(ctx, p, "lm_head.weight", err);
    case BR_PN_FINAL_NORM:
        snprintf(name, sizeof name, "model.final_layernorm.%s", n->rest);
        return br_hf_put_same(ctx, p, name, err);
    case BR_PN_UNIT_NORM:
        snprintf(name, sizeof name, "model.layers.%d.%s.%s", n->layer, n->unit == 0 ? "input_layernorm" : "pre_ff_layernorm",
                 n->rest);
        return br_hf_put_same(ctx, p, name, err);
    case BR_PN_BLOCK:
        if (strcmp(n->block, "mamba") == 0) {
            snprintf(name, sizeof name, "model.layers.%d.mamba.", n->layer);
            return br_hf_fill_mamba2(ctx, p, n->rest, name, err);
        }
        if (strcmp(n->block, "attn") == 0) {
            snprintf(name, sizeof name, "model.layers.%d.self_attn.", n->layer);
            return br_hf_fill_attention(ctx, p, n->rest, name, err);
        }
        if (strcmp(n->block, "mlp") == 0) {
            snprintf(name, sizeof name, "model.layers.%d.feed_forward.", n->layer);
            return br_hf_fill_gated_mlp(ctx, p, n->rest, name, "gate_proj", "up_proj", "down_proj", err);
        }
        break;
    default: break;
    }
    return br_hf_unmapped(ctx, p, err);
}

const br_family br_family_bamba = {"bamba", write_spec, NULL, fill};
