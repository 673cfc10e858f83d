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
    long long H, V, L, I, Ish, expand, E, k, ctx;
    int tie;
    double eps, emb, resid, logits_scaling, frac;
    const char *pos;
    br_sw_mamba2 m2;
    br_sw_attention at = {0};
    BR_TRY(br_hf_int(c, "hidden_size", 4096, 1, 1 << 20, &H, err));
    BR_TRY(br_hf_int(c, "vocab_size", 32000, 1, 1 << 24, &V, err));
    BR_TRY(br_hf_int(c, "num_hidden_layers", 32, 1, 100000, &L, err));
    BR_TRY(br_hf_int(c, "intermediate_size", 11008, 1, 1 << 24, &I, err));
    BR_TRY(br_hf_int(c, "shared_intermediate_size", 1024, 0, 1 << 24, &Ish, err));
    BR_TRY(br_hf_int(c, "num_attention_heads", 32, 1, 1 << 16, &at.heads, err));
    BR_TRY(br_hf_int(c, "num_key_value_heads", at.heads, 1, 1 << 16, &at.kv_heads, err));
    BR_TRY(br_hf_int(c, "num_local_experts", 8, 0, 1 << 16, &E, err));
    BR_TRY(br_hf_int(c, "num_experts_per_tok", 2, 1, 1 << 16, &k, err));
    BR_TRY(br_hf_int(c, "mamba_expand", 2, 1, 1024, &expand, err));
    BR_TRY(br_hf_int(c, "max_position_embeddings", 2048, 1, 1LL << 40, &ctx, err));
    BR_TRY(br_hf_bool(c, "tie_word_embeddings", 0, &tie, err));
    BR_TRY(br_hf_bool(c, "attention_bias", 0, &at.bias, err));
    BR_TRY(br_hf_float(c, "rms_norm_eps", 1e-6, &eps, err));
    BR_TRY(br_hf_float(c, "embedding_multiplier", 1.0, &emb, err));
    BR_TRY(br_hf_float(c, "residual_multiplier", 1.0, &resid, err));
    BR_TRY(br_hf_float(c, "attention_multiplier", 1.0, &at.scale, err));
    BR_TRY(br_hf_float(c, "logits_scaling", 1.0, &logits_scaling, err));
    BR_TRY(br_hf_str(c, "position_embedding_type", "nope", &pos, err));
    BR_TRY(br_sw_rope(c, 10000.0, 1.0, &at.rope_theta, &frac, err));
    BR_TRY(br_sw_require_silu(c, "hidden_act", err));
    BR_TRY(br_sw_read_mamba2(c, expand * H, eps, &m2, err));
    if (logits_scaling == 0) return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: logits_scaling is 0", c->path);
    at.head_dim = H / at.heads;
    at.rope = strcmp(pos, "rope") == 0;
    at.rope_fraction = 1.0;
    at.key_scale = at.in_scale = at.out_scale = 1.0;
    br_sw_model m = {H, V, ctx, tie, eps, emb, 1.0 / logits_scaling, resid};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb, "blocks:\n");
    br_sw_emit_mamba2(sb, "mamba", &m2);
    br_sw_emit_attention(sb, "attn", &at);
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
    char a[BR_HF_NAME_MAX], b[BR_HF_NAME_MAX];
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

static const br_hf_block_map blocks[] = {
    {"mamba", "mamba.", BR_HF_MAMBA2},
    {"attn", "self_attn.", BR_HF_ATTENTION},
    {NULL, NULL, 0},
};
static const br_hf_layout layout = {"model.embed_tokens.weight", NULL, "model.norm", "model.layers.%d.",
                                    {"input_layernorm", "post_attention_layernorm"}, blocks};

static br_status fill(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    if (n->kind == BR_PN_BLOCK && strcmp(n->block, "ffn") == 0) return fill_ffn(ctx, p, n, err);
    return br_hf_fill_layout(ctx, p, n, &layout, err);
}

const br_family br_family_granite = {"granitemoehybrid", write_spec, NULL, fill};
