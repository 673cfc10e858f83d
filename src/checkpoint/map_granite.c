/*
 * map_granite.c - Granite-4.0-H (model_type "granitemoehybrid").
 *
 *   h = embed * embedding_multiplier
 *   layer i: h = h + (Mamba2 | Attn)(RMSNorm(h)) * residual_multiplier
 *            h = h + (MoE(u) + SharedMLP(u)) * residual_multiplier
 *   logits = lm_head(norm(h)) / logits_scaling
 * Attention uses attention_multiplier as its softmax scale and RoPE only
 * when position_embedding_type is "rope".  The router takes the top-k
 * logits and a softmax over them (braid: softmax, normalize).  With no
 * experts the FFN is the shared MLP alone.  Names: model.embed_tokens,
 * model.layers.N.{input_layernorm, mamba.* | self_attn.*,
 * post_attention_layernorm, block_sparse_moe.{router.layer, input_linear,
 * output_linear}, shared_mlp.{input_linear, output_linear}}, model.norm.
 */
#include <string.h>

#include "base/error.h"
#include "checkpoint/family.h"
#include "checkpoint/spec_writer.h"

static br_status write_spec(const br_hf_config *c, br_strbuf *sb, br_error *err) {
    br_sw_nums ns = {0};
    long long H, V, L, I, Ish, heads, kv, mh, mp, G, N, K, expand, chunk, E, k, ctx;
    int tie, conv_bias, proj_bias, attn_bias;
    double eps, theta, frac, lim[2], emb, resid, attn_mult, logits_scaling;
    const char *act, *pos;
    BR_TRY(br_hf_int(c, "hidden_size", 4096, 1, 1 << 20, &H, err));
    BR_TRY(br_hf_int(c, "vocab_size", 32000, 1, 1 << 24, &V, err));
    BR_TRY(br_hf_int(c, "num_hidden_layers", 32, 1, 100000, &L, err));
    BR_TRY(br_hf_int(c, "intermediate_size", 11008, 1, 1 << 24, &I, err));
    BR_TRY(br_hf_int(c, "shared_intermediate_size", 1024, 0, 1 << 24, &Ish, err));
    BR_TRY(br_hf_int(c, "num_attention_heads", 32, 1, 1 << 16, &heads, err));
    BR_TRY(br_hf_int(c, "num_key_value_heads", heads, 1, 1 << 16, &kv, err));
    BR_TRY(br_hf_int(c, "num_local_experts", 8, 0, 1 << 16, &E, err));
    BR_TRY(br_hf_int(c, "num_experts_per_tok", 2, 1, 1 << 16, &k, err));
    BR_TRY(br_hf_int(c, "mamba_n_heads", 128, 1, 1 << 20, &mh, err));
    BR_TRY(br_hf_int(c, "mamba_expand", 2, 1, 1024, &expand, err));
    json_t *dh = br_hf_get(c, "mamba_d_head");
    if (dh && json_is_string(dh)) mp = expand * H / mh;
    else BR_TRY(br_hf_int(c, "mamba_d_head", expand * H / mh, 1, 1 << 16, &mp, err));
    BR_TRY(br_hf_int(c, "mamba_n_groups", 1, 1, 1 << 16, &G, err));
    BR_TRY(br_hf_int(c, "mamba_d_state", 256, 1, 4096, &N, err));
    BR_TRY(br_hf_int(c, "mamba_d_conv", 4, 1, 16, &K, err));
    BR_TRY(br_hf_int(c, "mamba_chunk_size", 256, 1, 1 << 20, &chunk, err));
    BR_TRY(br_hf_int(c, "max_position_embeddings", 2048, 1, 1LL << 40, &ctx, err));
    BR_TRY(br_hf_bool(c, "tie_word_embeddings", 0, &tie, err));
    BR_TRY(br_hf_bool(c, "mamba_conv_bias", 1, &conv_bias, err));
    BR_TRY(br_hf_bool(c, "mamba_proj_bias", 0, &proj_bias, err));
    BR_TRY(br_hf_bool(c, "attention_bias", 0, &attn_bias, err));
    BR_TRY(br_hf_float(c, "rms_norm_eps", 1e-6, &eps, err));
    BR_TRY(br_hf_float(c, "embedding_multiplier", 1.0, &emb, err));
    BR_TRY(br_hf_float(c, "residual_multiplier", 1.0, &resid, err));
    BR_TRY(br_hf_float(c, "attention_multiplier", 1.0, &attn_mult, err));
    BR_TRY(br_hf_float(c, "logits_scaling", 1.0, &logits_scaling, err));
    BR_TRY(br_hf_str(c, "position_embedding_type", "nope", &pos, err));
    BR_TRY(br_sw_rope(c, 10000.0, 1.0, &theta, &frac, err));
    BR_TRY(br_sw_dt_limit(c, lim, err));
    BR_TRY(br_sw_act(c, "hidden_act", "silu", &act, err));
    if (strcmp(act, "silu") != 0)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: hidden_act '%s' also drives the Mamba conv; braid uses SiLU there",
                       c->path, act);
    if (logits_scaling == 0) return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: logits_scaling is 0", c->path);
    if (mh * mp != expand * H)
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: mamba_n_heads * mamba_d_head (%lld) != mamba_expand * hidden_size "
                       "(%lld)", c->path, mh * mp, expand * H);
    int rope = strcmp(pos, "rope") == 0;
    br_sw_model m = {H, V, ctx, tie, eps, emb, 1.0 / logits_scaling, resid};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb,
                     "blocks:\n"
                     "  mamba: {type: mamba2, heads: %lld, head_dim: %lld, d_state: %lld, groups: %lld, d_conv: %lld, "
                     "conv_bias: %s, in_bias: %s, out_bias: %s, norm: gated, norm_groups: %lld, norm_eps: %s, "
                     "dt_min: %s, dt_max: %s, chunk: %lld}\n"
                     "  attn: {type: attention, heads: %lld, kv_heads: %lld, head_dim: %lld, rope: %s, rope_theta: %s, "
                     "scale: %s, qkv_bias: %s, out_bias: %s}\n",
                     mh, mp, N, G, K, conv_bias ? "true" : "false", proj_bias ? "true" : "false",
                     proj_bias ? "true" : "false", G, br_sw_n(&ns, eps), br_sw_n(&ns, lim[0]), br_sw_n(&ns, lim[1]), chunk, heads, kv,
                     H / heads, rope ? "neox" : "none", br_sw_n(&ns, theta), br_sw_n(&ns, attn_mult), attn_bias ? "true" : "false",
                     attn_bias ? "true" : "false");
    if (E > 0)
        br_strbuf_printf(sb, "  ffn: {type: moe, experts: %lld, top_k: %lld, hidden: %lld, activation: silu, router: softmax, "
                             "normalize: true, shared_hidden: %lld}\n", E, k, I, Ish);
    else
        br_strbuf_printf(sb, "  ffn: {type: mlp, hidden: %lld, activation: silu}\n", Ish);
    br_strbuf_printf(sb, "symbols: {m: [mamba, ffn], a: [attn, ffn]}\nlayers: '");
    json_t *types = br_hf_get(c, "layer_types");
    if (types && (!json_is_array(types) || (long long)json_array_size(types) != L))
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: 'layer_types' must list %lld entries", c->path, L);
    for (long long i = 0; i < L; i++) {
        const char *t = types ? json_string_value(json_array_get(types, (size_t)i)) : "mamba";
        if (!t) return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: layer_types[%lld] must be a string", c->path, i);
        int attn = strcmp(t, "attention") == 0 || strcmp(t, "full_attention") == 0;
        if (!attn && strcmp(t, "mamba") != 0 && strcmp(t, "linear_attention") != 0)
            return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: layer_types[%lld] = '%s' (expected mamba or attention)", c->path,
                           i, t);
        br_strbuf_printf(sb, "%c", attn ? 'a' : 'm');
    }
    br_strbuf_printf(sb, "'\n");
    return BR_OK;
}

/* Tries the saved (legacy) name, then transformers' in-memory name. */
static br_status put_either(br_hf_ctx *ctx, br_param *p, const char *a, const char *b, br_error *err) {
    return br_hf_put_same(ctx, p, br_st_find(ctx->st, a) || !br_st_find(ctx->st, b) ? a : b, err);
}

static br_status fill_ffn(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    char a[256], b[256];
    const int L = n->layer;
    const char *r = n->rest;
    if (strcmp(r, "router.weight") == 0) {
        snprintf(a, sizeof a, "model.layers.%d.block_sparse_moe.router.layer.weight", L);
        snprintf(b, sizeof b, "model.layers.%d.block_sparse_moe.router.weight", L);
        return put_either(ctx, p, a, b, err);
    }
    if (strcmp(r, "experts.gate_up_proj") == 0) {
        snprintf(a, sizeof a, "model.layers.%d.block_sparse_moe.input_linear.weight", L);
        snprintf(b, sizeof b, "model.layers.%d.block_sparse_moe.experts.gate_up_proj", L);
        return put_either(ctx, p, a, b, err);
    }
    if (strcmp(r, "experts.down_proj") == 0) {
        snprintf(a, sizeof a, "model.layers.%d.block_sparse_moe.output_linear.weight", L);
        snprintf(b, sizeof b, "model.layers.%d.block_sparse_moe.experts.down_proj", L);
        return put_either(ctx, p, a, b, err);
    }
    /* the shared MLP: braid's moe "shared_expert.*" or a dense mlp block */
    if (strcmp(r, "shared_expert.gate_up_proj.weight") == 0 || strcmp(r, "gate_up_proj.weight") == 0) {
        snprintf(a, sizeof a, "model.layers.%d.shared_mlp.input_linear.weight", L);
        return br_hf_put_same(ctx, p, a, err);
    }
    if (strcmp(r, "shared_expert.down_proj.weight") == 0 || strcmp(r, "down_proj.weight") == 0) {
        snprintf(a, sizeof a, "model.layers.%d.shared_mlp.output_linear.weight", L);
        return br_hf_put_same(ctx, p, a, err);
    }
    return br_hf_unmapped(ctx, p, err);
}

static br_status fill(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    char name[256];
    switch (n->kind) {
    case BR_PN_EMBED: return br_hf_put_same(ctx, p, "model.embed_tokens.weight", err);
    case BR_PN_LM_HEAD: return br_hf_put_same(ctx, p, "lm_head.weight", err);
    case BR_PN_FINAL_NORM:
        snprintf(name, sizeof name, "model.norm.%s", n->rest);
        return br_hf_put_same(ctx, p, name, err);
    case BR_PN_UNIT_NORM:
        snprintf(name, sizeof name, "model.layers.%d.%s.%s", n->layer,
                 n->unit == 0 ? "input_layernorm" : "post_attention_layernorm", n->rest);
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
        if (strcmp(n->block, "ffn") == 0) return fill_ffn(ctx, p, n, err);
        break;
    default: break;
    }
    return br_hf_unmapped(ctx, p, err);
}

const br_family br_family_granite = {"granitemoehybrid", write_spec, NULL, fill};
